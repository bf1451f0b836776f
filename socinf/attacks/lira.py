"""LiRA, the likelihood-ratio attack (Carlini et al., "Membership Inference Attacks From First Principles",
IEEE S&P 2022, Sec. IV-V).

Per candidate (x, y) the statistic is the logit-scaled confidence in the true label,
phi = log p_y - log(sum_{j != y} p_j) (= log(p_y / (1 - p_y)), probabilities clipped), which is close to
Gaussian over models trained with or without x. The attacker fits Gaussians to phi over its reference
models (``references.py``):

- offline (default): every reference is OUT for every candidate; one-sided test against the OUT Gaussian,
  score = log P(phi_out < phi_target) = log norm.cdf(phi_target; mu_out, sigma_out). (The log of the
  paper's p-value complement: the same ranking, without ties at 1.0 for strongly memorised records.)
- online (``online=True``): each reference also trains on a random half of the candidates; score = the
  log likelihood ratio of the IN and OUT Gaussians, log N(phi; mu_in, sigma_in) - log N(phi; mu_out, sigma_out).

``fixed_variance``: one sigma over all candidates' reference statistics (the paper's recommendation when
references are few) instead of one per candidate; ``None`` chooses fixed below 64 references. Only the
evaluation answers are asked of the target (references are the attacker's own models), plus, with
``reference_data=synthetic``, the target's labels for the synthetic records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from socinf.attacks.references import EPS, ReferenceAttack, ReferenceConfig, View
from socinf.settings import BOOLEAN

FIXED_VARIANCE_BELOW = 64  # references: below this, one global sigma (Carlini et al., Sec. V-B)


@dataclass
class LiRAConfig(ReferenceConfig):
    online: bool = False  # references also train on half the candidates (IN/OUT Gaussians)
    fixed_variance: Optional[bool] = None  # None: fixed when n_references < 64

    constraints: ClassVar[dict] = {**ReferenceConfig.constraints, "online": [BOOLEAN], "fixed_variance": [None, BOOLEAN]}


def logit_confidence(p_y: np.ndarray) -> np.ndarray:
    """phi = log(p / (1 - p)) of the true-class probability, clipped to [EPS, 1 - EPS]."""
    p = np.clip(np.asarray(p_y, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


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
    generic MLP with ``mlp_params`` (``reference_model=mlp``), trained on the attacker's ``population`` or
    on ``synthetic`` records (``synthesis``: a ``SynthesisConfig`` or mapping); offline unless ``online``."""

    name = "lira"
    settings_class = LiRAConfig

    def __init__(self, algorithm="xgboost", params=None, n_references: int = LiRAConfig.n_references,
                 reference_model: str = LiRAConfig.reference_model, reference_data: str = LiRAConfig.reference_data,
                 online: bool = LiRAConfig.online, fixed_variance: Optional[bool] = LiRAConfig.fixed_variance,
                 synthesis=None, mlp_params=None):
        self.algorithm, self.params, self.n_references = algorithm, params, n_references
        self.reference_model, self.reference_data, self.synthesis = reference_model, reference_data, synthesis
        self.online, self.fixed_variance, self.mlp_params = online, fixed_variance, mlp_params

    def _fixed(self) -> bool:
        if self.fixed_variance is None:
            return self.n_references < FIXED_VARIANCE_BELOW
        return bool(self.fixed_variance)

    def _fit_more(self, refs, target, ctx) -> dict:
        return {"fixed_variance": self._fixed()}

    def _scores(self, view: View, pseudo: int | None) -> np.ndarray:
        from scipy.stats import norm  # here: scipy.stats costs ~1 s to import, and the CLI's config imports LiRAConfig

        phi_target, phi = logit_confidence(view.target_p), logit_confidence(view.ref_p)
        mean_out, sd_out = _gaussian(phi, ~view.ref_in, self._fixed())
        if not self.online:
            return norm.logcdf(phi_target, mean_out, sd_out)
        mean_in, sd_in = _gaussian(phi, view.ref_in, self._fixed())
        return norm.logpdf(phi_target, mean_in, sd_in) - norm.logpdf(phi_target, mean_out, sd_out)
