"""Shadow training (Shokri et al. 2017), as the paper's Section IV.G compares against it.

The attacker knows the target's learning algorithm and hyper-parameters (a
strong assumption SocInf drops) and holds real records from the same
population (``knowledge.X_aux``, disjoint from the target's members).
``method.n_models`` shadow models are trained with that algorithm, each on a
stratified random half of the auxiliary records; the other half is its "out"
set. The shadows' answers on their own "in" and "out" records, grouped by true
class, train one attack model per class (``attack=``). A record is scored by
the attack model of its class. No target query is spent while fitting.

For ``target=remote`` the algorithm is ``target.model``'s (the model
``socinf serve`` trains), with the hyper-parameters of ``conf/target/<model>.yaml``.
"""
from __future__ import annotations

import numpy as np
from omegaconf import OmegaConf

from socinf_cli.attacks.attack_model import AttackModel
from socinf_cli.attacks.base import AttackContext, AttackerKnowledge
from socinf_cli.cache import content_key
from socinf_cli.data.splits import stratified_cut
from socinf_cli.errors import ConfigError
from socinf_cli.targets.base import CountingTarget
from socinf_cli.targets.local import LOCAL_MODELS, accuracy, fit_local_model, model_params


def shadow_algorithm(cfg) -> tuple[str, dict]:
    """(algorithm name, hyper-parameters) the attacker assumes the target was trained with."""
    name = cfg.target.model if cfg.target.name == "remote" else cfg.target.name
    if name not in LOCAL_MODELS:
        raise ConfigError(f"target.model={name!r}: shadow training needs one of {', '.join(LOCAL_MODELS)}")
    return name, model_params(cfg, name)


def shadow_model(algorithm: str, params: dict, knowledge: AttackerKnowledge, index: int, ctx: AttackContext):
    """Shadow ``index``: (fitted model, "in" row indices, "out" row indices) over ``knowledge.X_aux`` (cached)."""

    def compute():
        rng = np.random.default_rng([ctx.seed, 17, index])
        rows = np.arange(len(knowledge.y_aux))
        inside, outside = stratified_cut(rows, knowledge.y_aux, 0.5, rng)
        if len(np.unique(knowledge.y_aux[inside])) < knowledge.n_classes:
            raise ConfigError(f"shadow training: the attacker's {len(rows)} auxiliary records lack some class; "
                              "every class needs at least 2 records")
        model = fit_local_model(algorithm, params, knowledge.X_aux[inside], knowledge.y_aux[inside],
                                seed=int(rng.integers(2**31)), threads=ctx.threads)
        return model, inside, outside

    key = content_key("shadow", ctx.data_key, algorithm, params, ctx.seed, index)
    value, _ = ctx.cache.get_or_compute("shadow", key, compute)
    return value


class ShadowTraining:
    name = "shadow"
    threshold = 0.5  # attack models are trained on balanced in/out sets

    def __init__(self, cfg):
        self.cfg = cfg
        self.n_models = int(cfg.method.n_models)
        if self.n_models < 1:
            raise ConfigError(f"method.n_models={self.n_models}: must be a positive integer")

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext) -> dict:
        algorithm, params = shadow_algorithm(self.cfg)
        probs, labels, is_in, train_acc, test_acc = [], [], [], [], []
        with ctx.timed("shadow_models"):
            for i in range(self.n_models):
                model, inside, outside = shadow_model(algorithm, params, knowledge, i, ctx)
                for rows, member in ((inside, True), (outside, False)):
                    probs.append(np.asarray(model.predict_proba(knowledge.X_aux[rows]), dtype=np.float64))
                    labels.append(knowledge.y_aux[rows])
                    is_in.append(np.full(len(rows), member))
                train_acc.append(accuracy(model, knowledge.X_aux[inside], knowledge.y_aux[inside]))
                test_acc.append(accuracy(model, knowledge.X_aux[outside], knowledge.y_aux[outside]))
        probs, labels, is_in = np.concatenate(probs), np.concatenate(labels), np.concatenate(is_in)
        with ctx.timed("attack_model"):
            self.models = {c: self._attack_model(ctx).fit(probs[labels == c], is_in[labels == c])
                           for c in range(knowledge.n_classes)}
        return {"shadow": {"n_models": self.n_models, "algorithm": algorithm, "params": params,
                           "train_accuracy": float(np.mean(train_acc)), "test_accuracy": float(np.mean(test_acc)),
                           "attack_train_records": int(len(probs)), "attack_models": len(self.models)}}

    def _attack_model(self, ctx: AttackContext) -> AttackModel:
        a = self.cfg.attack
        return AttackModel(a.name, OmegaConf.to_container(a.params, resolve=True), a.features, ctx.seed, ctx.threads)

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
        scores = np.zeros(len(probs))
        for c, model in self.models.items():
            rows = labels == c
            if rows.any():
                scores[rows] = model.score(probs[rows])
        return scores
