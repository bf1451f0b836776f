"""Shadow training (Shokri et al. 2017), as the paper's Section IV.G compares against it.

The attacker knows the target's learning algorithm and hyper-parameters (a
strong assumption SocInf drops) and holds real records from the same
population (``knowledge.X_aux``, disjoint from the target's members).
``method.n_models`` shadow models are trained with that algorithm, each on a
stratified random half of the auxiliary records; the other half is its "out"
set. The shadows' answers on their own "in" and "out" records, grouped by true
class, train one attack model per class (``attack=``). A record is scored by
the attack model of its class. No target query is spent while fitting.

Under threat=owner the shadows are the owner's first ``n_models`` reference
models (``references.py``: the size of the target's training set, drawn from
every record the owner holds, each evaluation candidate in half of them), and
the attack models learn from their answers on every record of that design.

``algorithm`` and ``params`` are what the attacker assumes (the CLI passes the
target's own, or for ``target=remote`` those of ``target.model``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from socinf.attacks.attack_model import AttackModel, AttackModelConfig, attack_model_settings
from socinf.attacks.base import AttackContext, AttackerKnowledge, check_fitted
from socinf.cache import content_key
from socinf.data.splits import stratified_cut
from socinf.errors import ConfigError
from socinf.owner.models import LOCAL_MODELS, answers, fit_local_model
from socinf.settings import Interval, check
from socinf.targets.base import CountingTarget


@dataclass
class ShadowConfig:
    """``method=shadow``'s own setting (the attack model is ``attack=``, the algorithm the target's)."""

    n_models: int = 10  # shadow models, each on a stratified half of the attacker's records

    constraints: ClassVar[dict] = {"n_models": [Interval(int, 1, 1000)]}


def check_algorithm(algorithm) -> None:
    """What shadow and reference models copy: one of ``LOCAL_MODELS`` or a scikit-learn-compatible estimator."""
    if algorithm is None:
        raise ConfigError("algorithm=None: shadow, reference and threshold attacks train models with the target's "
                          "algorithm; pass a scikit-learn-compatible estimator as the model, or algorithm=<an unfitted "
                          f"estimator or one of {', '.join(LOCAL_MODELS)}>")
    if isinstance(algorithm, str):
        if algorithm not in LOCAL_MODELS:
            raise ConfigError(f"target.model={algorithm!r}: shadow and reference models need one of "
                              f"{', '.join(LOCAL_MODELS)}, or an estimator to copy")
    elif not (hasattr(algorithm, "fit") and hasattr(algorithm, "get_params")):
        raise ConfigError(f"algorithm={type(algorithm).__name__}: shadow and reference models copy the target's "
                          "training algorithm; expected one of " + ", ".join(LOCAL_MODELS) +
                          " or an unfitted scikit-learn-compatible estimator")


def shadow_model(algorithm: str, params: dict, knowledge: AttackerKnowledge, index: int, ctx: AttackContext,
                 threads: int | None = None):
    """Shadow ``index``: (fitted model, "in" row indices, "out" row indices) over ``knowledge.X_aux`` (cached);
    trained with ``threads`` threads (default ``ctx.threads``)."""

    def compute():
        rng = np.random.default_rng([ctx.seed, 17, index])
        rows = np.arange(len(knowledge.y_aux))
        inside, outside = stratified_cut(rows, knowledge.y_aux, 0.5, rng)
        if len(np.unique(knowledge.y_aux[inside])) < knowledge.n_classes:
            raise ConfigError(f"shadow training: the attacker's {len(rows)} auxiliary records lack some class; "
                              "every class needs at least 2 records")
        model = fit_local_model(algorithm, params, knowledge.X_aux[inside], knowledge.y_aux[inside],
                                seed=int(rng.integers(2**31)), threads=threads or ctx.threads)
        return model, inside, outside

    key = content_key("shadow", ctx.data_key, algorithm, params, ctx.seed, index)
    config = {"data_key": ctx.data_key, "algorithm": str(algorithm), "params": params, "seed": ctx.seed, "index": index}
    value, _ = ctx.cache.get_or_compute("shadow", key, compute, config)
    return value


def shadow_models(algorithm: str, params: dict, knowledge: AttackerKnowledge, n_models: int, ctx: AttackContext):
    """Shadows 0 .. n_models - 1, trained ``ctx.threads`` at a time (one thread each) in threads of this process:
    XGBoost and scikit-learn's solvers release the GIL while they train. Each shadow's seed and halves depend on
    its index only, so the order of training changes nothing."""
    if ctx.threads <= 1 or n_models <= 1:
        return [shadow_model(algorithm, params, knowledge, i, ctx) for i in range(n_models)]
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return Parallel(n_jobs=min(ctx.threads, n_models), backend="threading")(
            delayed(shadow_model)(algorithm, params, knowledge, i, ctx, threads=1) for i in range(n_models))


class ShadowTraining:
    """``n_models`` shadows of ``algorithm`` (logistic | xgboost | mlp, or an estimator to copy) with ``params``; per-class attack models
    ``attack_model`` with ``attack_params`` on ``features`` of the shadows' answers."""

    name = "shadow"
    threshold = 0.5  # attack models are trained on balanced in/out sets
    needs_candidates = True  # threat=owner: the shadows' design includes the evaluation records (not their membership)

    def __init__(self, algorithm: str = "xgboost", params=None, n_models: int = ShadowConfig.n_models,
                 attack_model: str = AttackModelConfig.name, attack_params=None,
                 features: str = AttackModelConfig.features):
        self.algorithm, self.params, self.n_models = algorithm, params, n_models
        self.attack_model, self.attack_params, self.features = attack_model, attack_params, features

    def settings(self) -> ShadowConfig:
        check_algorithm(self.algorithm)
        attack_model_settings(self)
        return check(ShadowConfig(self.n_models), "method")

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext,
            candidates: tuple | None = None) -> dict:
        self.settings()
        algorithm, params = self.algorithm, dict(self.params or {})
        with ctx.timed("shadow_models"):
            if knowledge.threat != "owner":
                probs, labels, is_in = self._attacker_shadows(algorithm, params, knowledge, ctx)
            elif candidates is None:
                raise ConfigError("shadow: under threat=owner, fit(target, knowledge, ctx, candidates=(X, y)) needs "
                                  "the records to score (the owner's shadows train on half of them)")
            else:
                probs, labels, is_in = self._owner_shadows(algorithm, params, target, knowledge, ctx, candidates)
        with ctx.timed("attack_model"):
            self.models_ = {c: self._attack_model(ctx).fit(probs[labels == c], is_in[labels == c])
                            for c in range(knowledge.n_classes)}
        correct = probs.argmax(axis=1) == labels
        return {"shadow": {"threat": knowledge.threat, "n_models": self.n_models, "algorithm": str(algorithm),
                           "params": params, "train_accuracy": float(correct[is_in].mean()),
                           "test_accuracy": float(correct[~is_in].mean()), "attack_train_records": int(len(probs)),
                           "attack_models": len(self.models_)}}

    def _attacker_shadows(self, algorithm, params, knowledge, ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, labels, in flags) of each shadow on its own in / out halves of the attacker's records."""
        probs, labels, is_in = [], [], []
        for model, inside, outside in shadow_models(algorithm, params, knowledge, self.n_models, ctx):
            for rows, member in ((inside, True), (outside, False)):
                probs.append(np.asarray(answers(model, knowledge.X_aux[rows], dtype=None), dtype=np.float64))
                labels.append(knowledge.y_aux[rows])
                is_in.append(np.full(len(rows), member))
        return np.concatenate(probs), np.concatenate(labels), np.concatenate(is_in)

    def _owner_shadows(self, algorithm, params, target, knowledge, ctx, candidates) -> tuple:
        """The same, for the owner's first ``n_models`` reference models on every record of their design."""
        from socinf.attacks.references import ReferenceConfig, pooled_answers, train_references

        refs = train_references(ReferenceConfig(n_references=self.n_models), algorithm, params, target, knowledge,
                                ctx, candidates=candidates)
        return pooled_answers(refs, candidates)

    def _attack_model(self, ctx: AttackContext) -> AttackModel:
        return AttackModel(self.attack_model, dict(self.attack_params or {}), self.features, ctx.seed, ctx.threads)

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_fitted(self, "models_")
        probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
        scores = np.zeros(len(probs))
        for c, model in self.models_.items():
            rows = labels == c
            if rows.any():
                scores[rows] = model.score(probs[rows])
        return scores
