"""LiRA, the likelihood-ratio attack (Carlini et al., "Membership Inference Attacks From First Principles",
IEEE S&P 2022, Sec. IV-V).

Per candidate (x, y) the statistic is the logit-scaled confidence in the true label,
phi = log p_y - log(sum_{j != y} p_j) in float64 (``references.logit_confidence``: the other classes summed
themselves, so a float32 answer of exactly 1.0 keeps its information, and exact 0.0 / 1.0 stay finite), which
is close to Gaussian over models trained with or without x. The attack fits Gaussians to phi over its
reference models (``references.py``):

- offline (default): one-sided test against the Gaussian of the references that did not train on x (all of
  them under threat=attacker; about half under threat=owner), score = log P(phi_out < phi_target) =
  log norm.cdf(phi_target; mu_out, sigma_out). (The log of the paper's p-value complement: the same
  ranking, without ties at 1.0 for strongly memorised records.)
- online (``online=True``): each candidate is IN for half of the references (threat=attacker: they also
  train on a random half of the candidates; threat=owner: always); score = the log likelihood ratio of the
  IN and OUT Gaussians, log N(phi; mu_in, sigma_in) - log N(phi; mu_out, sigma_out).

``fixed_variance``: one sigma over all candidates' reference statistics (the paper's recommendation when
references are few) instead of one per candidate; ``None`` chooses fixed below 64 references. Only the
evaluation answers are asked of the target (references are the attacker's own models), plus, with
``reference_data=synthetic``, the target's labels for the synthetic records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from socinf.attacks.reference_attack import ReferenceAttack, View
from socinf.attacks.references import ReferenceConfig
from socinf.settings import BOOLEAN

FIXED_VARIANCE_BELOW = 64  # references: below this, one global sigma (Carlini et al., Sec. V-B)


@dataclass
class LiRAConfig(ReferenceConfig):
    fixed_variance: Optional[bool] = None  # None: fixed when fewer than 64 references

    constraints: ClassVar[dict] = {**ReferenceConfig.constraints, "fixed_variance": [None, BOOLEAN]}


def _gaussian(phi: np.ndarray, mask: np.ndarray, fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-record mean and sigma of phi over the references in ``mask`` (R, n)."""
    count = mask.sum(axis=0)
    values = phi[mask]
    global_mean = values.mean() if values.size else 0.0
    global_sd = values.std() if values.size > 1 else 1.0
    mean = np.where(count > 0, (phi * mask).sum(axis=0) / np.maximum(count, 1), global_mean)
    if fixed:
        return mean, np.full(phi.shape[1], global_sd + 1e-6)
    var = (((phi - mean) ** 2) * mask).sum(axis=0) / np.maximum(count - 1, 1)
    sd = np.where(count > 1, np.sqrt(var), global_sd)
    return mean, sd + 1e-6


class LiRA(ReferenceAttack):
    """LiRA with ``n_references`` references of ``algorithm`` / ``params`` (``reference_model=target``) or a
    generic MLP with ``mlp_params`` (``reference_model=mlp``), trained on the attacker's ``population`` (the owner's
    records under threat=owner) or on ``synthetic`` records (``synthesis``: a ``SynthesisConfig`` or mapping);
    offline unless ``online``; ``n_references`` None: 16, or 64 under threat=owner."""

    name = "lira"
    settings_class = LiRAConfig

    def __init__(self, algorithm="xgboost", params=None, n_references: Optional[int] = LiRAConfig.n_references,
                 reference_model: str = LiRAConfig.reference_model, reference_data: str = LiRAConfig.reference_data,
                 online: bool = LiRAConfig.online, fixed_variance: Optional[bool] = LiRAConfig.fixed_variance,
                 synthesis=None, mlp_params=None):
        self.algorithm, self.params, self.n_references = algorithm, params, n_references
        self.reference_model, self.reference_data, self.synthesis = reference_model, reference_data, synthesis
        self.online, self.fixed_variance, self.mlp_params = online, fixed_variance, mlp_params

    def _fixed(self) -> bool:
        if self.fixed_variance is None:
            return self.n_references_ < FIXED_VARIANCE_BELOW
        return bool(self.fixed_variance)

    def _fit_more(self, refs, target, ctx) -> dict:
        return {"fixed_variance": self._fixed()}

    def _scores(self, view: View, pseudo: int | None) -> np.ndarray:
        from scipy.stats import norm  # here: scipy.stats costs ~1 s to import, and the CLI's config imports LiRAConfig

        phi_target, phi = view.target_phi, view.ref_phi
        mean_out, sd_out = _gaussian(phi, ~view.ref_in, self._fixed())
        if not self.online:
            return norm.logcdf(phi_target, mean_out, sd_out)
        mean_in, sd_in = _gaussian(phi, view.ref_in, self._fixed())
        return norm.logpdf(phi_target, mean_in, sd_in) - norm.logpdf(phi_target, mean_out, sd_out)
