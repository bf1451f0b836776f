"""RMIA, the relative membership inference attack (Zarifzadeh et al., "Low-Cost High-Power Membership
Inference Attacks", ICML 2024, Sec. 3-4), offline or online.

A candidate x is compared with population records z through the likelihood ratios
LR(x) = Pr(x | theta) / Pr(x) and LR(z) = Pr(z | theta) / Pr(z): the score is the fraction of z with
LR(x) / LR(z) > ``gamma``. Pr(. | theta) is the target's probability of the true label; Pr(x) is the
average over reference models (``references.py``). Offline, Pr(x) is the average over the references
that did not train on x (all of them under threat=attacker, about half under threat=owner) scaled by the
paper's linear approximation of the IN probability (``offline_a``, 0.3 in the paper's offline experiments):
Pr(x) = 0.5 ((1 + a) p_out(x) + (1 - a)). Online (``online=True``; threat=attacker: the references also train
on a random half of the candidates), x is IN for half of the references and Pr(x) is their plain average.
The population records z (``n_population``, at most the pool) are drawn from the references' own pool
(never the candidates), which each reference trained on about half of, so Pr(z) is the plain average over
all references.

Target queries: the evaluation answers, plus the target's answers on the z records (stage
``rmia_population``; with ``reference_data=synthetic`` they are the labelling answers, already paid for).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from socinf.attacks.reference_attack import ReferenceAttack, View
from socinf.attacks.references import ReferenceConfig, reference_answers, true_class
from socinf.errors import ConfigError
from socinf.settings import Interval


@dataclass
class RMIAConfig(ReferenceConfig):
    offline_a: float = 0.3  # Pr(x) = 0.5 ((1 + a) p_out + (1 - a))
    gamma: float = 1.0  # LR(x) / LR(z) must exceed gamma for z to count
    n_population: int = 2000  # population records z (at most the attacker's pool)

    constraints: ClassVar[dict] = {**ReferenceConfig.constraints, "offline_a": [Interval(float, 0, 1)],
                                   "gamma": [Interval(float, 0, None, "neither")],
                                   "n_population": [Interval(int, 1, 10**8)]}


def offline_marginal(ref_p: np.ndarray, out: np.ndarray, a: float) -> np.ndarray:
    """Pr(x) from the OUT references' probabilities (R, n), scaled by the offline approximation;
    a record no reference left out falls back to the plain average over all references."""
    count = out.sum(axis=0)
    p_out = (ref_p * out).sum(axis=0) / np.maximum(count, 1)
    return np.where(count > 0, 0.5 * ((1 + a) * p_out + (1 - a)), ref_p.mean(axis=0))


def relative_scores(ratio_x: np.ndarray, ratio_z: np.ndarray, gamma: float) -> np.ndarray:
    """Fraction of z with ratio_x / ratio_z > gamma, i.e. ratio_z < ratio_x / gamma."""
    ordered = np.sort(ratio_z)
    return np.searchsorted(ordered, ratio_x / gamma, side="left") / len(ordered)


class RMIA(ReferenceAttack):
    """RMIA with ``n_references`` references, offline unless ``online`` (see ``LiRA`` for ``algorithm``,
    ``params``, ``reference_model``, ``reference_data``, ``synthesis``, ``mlp_params``)."""

    name = "rmia"
    settings_class = RMIAConfig

    def __init__(self, algorithm="xgboost", params=None, n_references: Optional[int] = RMIAConfig.n_references,
                 reference_model: str = RMIAConfig.reference_model, reference_data: str = RMIAConfig.reference_data,
                 online: bool = RMIAConfig.online, offline_a: float = RMIAConfig.offline_a,
                 gamma: float = RMIAConfig.gamma, n_population: int = RMIAConfig.n_population, synthesis=None,
                 mlp_params=None):
        self.algorithm, self.params, self.n_references = algorithm, params, n_references
        self.reference_model, self.reference_data, self.synthesis = reference_model, reference_data, synthesis
        self.online = online
        self.offline_a, self.gamma, self.n_population, self.mlp_params = offline_a, gamma, n_population, mlp_params

    def _fit_more(self, refs, target, ctx) -> dict:
        """The population z: the references' probabilities, and the target's (queried unless already known)."""
        rng = np.random.default_rng([ctx.seed, 41])
        rows = np.sort(rng.permutation(len(refs.y))[: self.n_population])
        if not len(rows):
            raise ConfigError("rmia: no population record z to compare the candidates with; give records beyond "
                              "the evaluation set (population=(X, y))")
        X_z, y_z = refs.X[rows], refs.y[rows]
        if refs.target_probs is not None:
            probs = refs.target_probs[rows]
        else:
            with ctx.timed("rmia_population"), target.stage("rmia_population"):
                probs = target.predict_proba(X_z)
        with ctx.timed("references"):
            self.population_ = View(true_class(probs, y_z), reference_answers(refs.models, X_z, y_z)[0],
                                    refs.pool_in[:, rows])
        return {"offline_a": self.offline_a, "gamma": self.gamma, "n_population": int(len(rows))}

    def _scores(self, view: View, pseudo: int | None) -> np.ndarray:
        z = self.population_
        if pseudo is None:
            z_target, z_ref = z.target_p, z.ref_p
        else:  # reference `pseudo` plays the target: its z are those it did not train on
            keep = ~z.ref_in[pseudo]
            others = np.arange(len(z.ref_p)) != pseudo
            z_target, z_ref = z.ref_p[pseudo, keep], z.ref_p[others][:, keep]
        marginal = view.ref_p.mean(axis=0) if self.online else offline_marginal(view.ref_p, ~view.ref_in, self.offline_a)
        ratio_x = view.target_p / np.maximum(marginal, 1e-12)
        ratio_z = z_target / np.maximum(z_ref.mean(axis=0), 1e-12)
        return relative_scores(ratio_x, ratio_z, self.gamma)
