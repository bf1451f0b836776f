"""``socinf.audit``: audit your own model on your own records, from Python.

The model is a black box: anything with ``predict_proba`` (a scikit-learn or XGBoost estimator, a
``socinf.RemoteTarget``) or a plain function from records to class probabilities. The caller says which
records trained it (``members``), which did not (``nonmembers``), and what the attacker may hold
(``population``, disjoint from both). Without a population only the data-free attack runs (SocInf with
format synthesis: it needs nothing but the input format and the target's answers).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.engine import run_attacks
from socinf.cache import StageCache
from socinf.errors import ConfigError
from socinf.targets.base import CountingTarget

METHOD_NAMES = ("thresholds", "shadow", "socinf", "lira", "rmia")
DEFAULT_METHODS = ("thresholds", "shadow", "socinf")  # lira / rmia train 16 references each: asked for by name
NEEDS_POPULATION = ("thresholds", "shadow", "lira", "rmia")


class _FunctionModel:
    def __init__(self, fn):
        self.fn = fn

    def predict_proba(self, X):
        return self.fn(X)


def _as_pair(value, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        X, y = value
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a pair (X, y) of records and labels") from None
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y) or not len(X):
        raise ConfigError(f"{name}: expected X of shape (n, d) with n >= 1 and as many labels; got X {X.shape}, "
                          f"y {y.shape}")
    return X, y


def _label_index(model, labels: list[np.ndarray]) -> tuple[dict, int]:
    """Labels -> predict_proba column: through ``model.classes_`` when the model has it, else labels 0..K-1."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        seen = np.unique(np.concatenate(labels))
        if not np.issubdtype(seen.dtype, np.integer) or seen.min() < 0:
            raise ConfigError(f"labels {seen[:5].tolist()}: without model.classes_, labels must be class indices 0..K-1")
        return {int(c): int(c) for c in seen}, int(seen.max()) + 1
    index = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(classes)}
    unknown = {v.item() if hasattr(v, "item") else v for part in labels for v in np.unique(part)} - set(index)
    if unknown:
        raise ConfigError(f"labels {sorted(map(str, unknown))[:5]}: not among the model's classes_ {list(index)}")
    return index, len(classes)


def _build(method: str, model, seed: int, n_shadow: int, synthesis, mimic, attack_model: str, population: bool):
    from socinf.attacks.lira import LiRA
    from socinf.attacks.rmia import RMIA
    from socinf.attacks.shadow import ShadowTraining
    from socinf.attacks.socinf import SocInf

    if method == "shadow":
        return ShadowTraining(algorithm=_algorithm(model), n_models=n_shadow, attack_model=attack_model)
    if method in ("lira", "rmia"):
        return (LiRA if method == "lira" else RMIA)(algorithm=_algorithm(model))
    synthesis = synthesis or {"name": "statistics" if population else "format"}
    return SocInf(synthesis=synthesis, mimic=mimic, attack_model=attack_model)


def _algorithm(model):
    """The attacker's guess of the training algorithm: the model's own, as Shadow training assumes."""
    from sklearn.base import BaseEstimator

    if isinstance(model, BaseEstimator):
        return model
    raise ConfigError("methods 'shadow' and 'thresholds' train shadow models with the target's algorithm: pass a "
                      "scikit-learn-compatible estimator as model, or algorithm=<unfitted estimator>")


def audit(model, members, nonmembers, population=None, methods=None, seed: int = 0, *, algorithm=None,
          n_shadow: int = 10, synthesis=None, mimic=None, attack_model: str = "xgboost", threads: int = 1,
          cache_dir=None) -> "AuditResult":
    """Membership-inference audit of ``model`` through its answers only.

    members, nonmembers: ``(X, y)`` records known to be in / out of the training set (scored, never shown to
    an attack). population: ``(X, y)`` the attacker holds (disjoint from both), or None. methods: any of
    ``"thresholds"`` (confidence, entropy, modified entropy, loss, gap; cut-offs from a shadow model on the
    population), ``"shadow"`` (Shokri et al.), ``"socinf"`` (the paper's four stages), ``"lira"`` (Carlini et
    al. 2022) and ``"rmia"`` (Zarifzadeh et al. 2024) with 16 reference models; default thresholds, shadow
    and socinf (socinf alone without a population). algorithm: the estimator shadows copy (default: ``model`` itself, unfitted). synthesis / mimic:
    ``SynthesisConfig`` / ``MimicConfig`` or mappings of their fields. Returns an ``AuditResult``.
    """
    X_in, y_in = _as_pair(members, "members")
    X_out, y_out = _as_pair(nonmembers, "nonmembers")
    pop = _as_pair(population, "population") if population is not None else None
    methods = list(methods or (DEFAULT_METHODS if pop is not None else ("socinf",)))
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise ConfigError(f"methods={unknown}: expected some of {', '.join(METHOD_NAMES)}")
    if pop is None and any(m in NEEDS_POPULATION for m in methods):
        raise ConfigError(f"methods={methods}: {', '.join(NEEDS_POPULATION)} need population=(X_pop, y_pop); "
                          "without one, methods=['socinf'] runs data-free (format synthesis)")
    black_box = model if hasattr(model, "predict_proba") else _FunctionModel(model) if callable(model) else None
    if black_box is None:
        raise ConfigError(f"model={type(model).__name__}: expected an object with predict_proba or a function")
    if hasattr(black_box, "connect") and not getattr(black_box, "schema", None):
        black_box.connect()  # a RemoteTarget: its schema (classes, input width) first
    index, n_classes = _label_index(model, [y_in, y_out] + ([pop[1]] if pop else []))
    to_index = np.vectorize(lambda v: index[v.item() if hasattr(v, "item") else v], otypes=[int])
    X_eval = np.concatenate([X_in, X_out])
    y_eval = to_index(np.concatenate([y_in, y_out]))
    membership = np.r_[np.ones(len(X_in), int), np.zeros(len(X_out), int)]
    d = X_eval.shape[1]
    knowledge = AttackerKnowledge(pop[0] if pop else np.zeros((0, d)), to_index(pop[1]) if pop else np.zeros(0, int),
                                  n_classes, d, target_size=len(X_in))
    target = CountingTarget(black_box, n_classes, d)
    ctx = AttackContext(seed=seed, threads=threads, cache=StageCache(cache_dir))
    shadow_algo = algorithm if algorithm is not None else model
    attacks = [_build(m, shadow_algo, seed, n_shadow, synthesis, mimic, attack_model, pop is not None)
               for m in methods if m != "thresholds"]
    thresholds = (_algorithm(shadow_algo), {}) if "thresholds" in methods else None
    run = run_attacks(attacks, target, knowledge, ctx, X_eval, y_eval, membership, threshold_shadow=thresholds)
    return AuditResult(run, membership, target.ledger.as_dict(), dict(ctx.timings))


@dataclass
class AuditResult:
    """The outcome of ``socinf.audit``: metrics per method, the strongest attack, per-record scores."""

    run: object  # socinf.engine.AttackRun
    membership: np.ndarray
    queries: dict
    timings_s: dict
    metrics: dict = field(init=False)

    def __post_init__(self):
        first = next(iter(self.run.metrics.values()), None)
        self.metrics = {"strongest": self.run.strongest, "attack": first, "methods": self.run.metrics,
                        "method": self.run.reports, "baselines": self.run.baselines, "queries": self.queries,
                        "timings_s": self.timings_s,
                        "evaluation": {"members": int(self.membership.sum()),
                                       "nonmembers": int((self.membership == 0).sum())}}

    @property
    def strongest(self) -> dict:
        """The strongest attack by AUC: method, auc, auc_ci95, tpr_at_1pct_fpr (+ realised FPR), tpr_at_0.1pct_fpr."""
        return self.run.strongest.get("by_auc", {})

    @property
    def scores(self) -> dict[str, np.ndarray]:
        return {**self.run.scores, **self.run.baseline_scores}

    def to_frame(self):
        """One row per method (attacks and threshold attacks), sorted by AUC."""
        import pandas as pd

        rows = [{"method": name, "kind": "attack" if name in self.run.metrics else "threshold", **m}
                for name, m in {**self.run.metrics, **self.run.baselines}.items()]
        return pd.DataFrame(rows).sort_values("auc", ascending=False).reset_index(drop=True)

    def summary(self) -> str:
        """The rich table as plain text."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title="socinf audit", caption="accuracy at thresholds chosen on attacker-side data only")
        for column in ("method", "AUC", "TPR@1%FPR", "TPR@0.1%FPR", "accuracy"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for _, r in self.to_frame().iterrows():
            table.add_row(r.method, f"{r.auc:.3f}", f"{r.tpr_at_1pct_fpr:.3f}", f"{r['tpr_at_0.1pct_fpr']:.3f}",
                          f"{r.accuracy:.3f}")
        console = Console(file=io.StringIO(), width=100, record=True)
        console.print(table)
        s = self.strongest
        if s:
            console.print(f"strongest: {s['method']}, AUC {s['auc']:.3f} (95% CI {s['auc_ci95'][0]:.3f}-"
                          f"{s['auc_ci95'][1]:.3f}), TPR {s['tpr_at_1pct_fpr']:.3f} at FPR {s['fpr_realised_at_1pct']:.4f}")
        return console.export_text()

    def plot_roc(self, ax=None):
        """Log-log ROC of every method on ``ax`` (a new figure when None); returns the axes."""
        import matplotlib.pyplot as plt
        from sklearn.metrics import roc_curve

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        floor = 1.0 / max(int((self.membership == 0).sum()), 1)
        for name, score in self.scores.items():
            fpr, tpr, _ = roc_curve(self.membership, score)
            auc = {**self.run.metrics, **self.run.baselines}[name]["auc"]
            ax.plot(np.maximum(fpr, floor / 2), np.maximum(tpr, floor / 2), label=f"{name} (AUC {auc:.3f})")
        ax.plot([floor / 2, 1], [floor / 2, 1], color="grey", ls=":", label="chance")
        ax.set(xscale="log", yscale="log", xlabel="false positive rate", ylabel="true positive rate")
        ax.legend(fontsize=7, loc="lower right")
        return ax
