"""SocInf (paper Fig. 2): synthesize, split in/out, mimic with a GAN, train the attack model.

After fitting, SocInf checks itself on attacker-side data (``socinf.attacks.diagnostics``, issue 10) and,
with ``mimic.orient``, turns its score around when that check finds the ranking inverted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from socinf.attacks import diagnostics
from socinf.attacks.attack_model import AttackModel, AttackModelConfig, attack_model_settings
from socinf.attacks.base import AttackContext, AttackerKnowledge, check_fitted
from socinf.attacks.inout import kmeans_in_out_split
from socinf.attacks.mimic import IMPLEMENTATION, MimicConfig, MimicGAN, fidelity
from socinf.attacks.synthesis import SynthesisConfig, check_applies, synthesize
from socinf.cache import content_key
from socinf.errors import ConfigError
from socinf.settings import settings_from
from socinf.targets.base import CountingTarget

NEEDS_POPULATION = ("statistics", "population")  # syntheses that draw on the attacker's real records


@dataclass
class SyntheticData:
    X: Any  # X_s: CSR or a dense uint8 array, in the audit's format
    Y: np.ndarray  # F_target(X_s)
    queries: int  # target queries the synthesis itself spent (accept=confidence)


class SocInf:
    """SocInf's four stages. ``synthesis`` and ``mimic`` are ``SynthesisConfig`` / ``MimicConfig`` (or mappings
    of their fields); the attack model is ``attack_model`` (xgboost | svm | knn | nn) with ``attack_params``,
    on ``features`` (sorted | raw) of the mimic's answers."""

    name = "socinf"
    threshold = 0.5

    def __init__(self, synthesis=None, mimic=None, attack_model: str = AttackModelConfig.name, attack_params=None,
                 features: str = AttackModelConfig.features):
        self.synthesis, self.mimic = synthesis, mimic
        self.attack_model, self.attack_params, self.features = attack_model, attack_params, features

    # Stage 1: X_s and the target's answers Y_s (both cached; cached answers are free).
    def settings(self) -> tuple[SynthesisConfig, MimicConfig]:
        """The checked synthesis and mimic settings (and attack model), as ``fit`` will use them."""
        attack_model_settings(self)
        return settings_from(self.synthesis, SynthesisConfig, "synthesis"), settings_from(self.mimic, MimicConfig, "mimic")

    def _synthesize(self, config: SynthesisConfig, target: CountingTarget, knowledge: AttackerKnowledge,
                    ctx: AttackContext) -> tuple[SyntheticData, str]:
        syn = asdict(config)
        check_applies(syn["name"], knowledge.X_aux)  # before the cache: an entry is no excuse
        needs_target = syn["name"] == "format"
        key = content_key("synthesis", ctx.data_key, syn, ctx.seed, ctx.target_key if needs_target else None)

        def compute() -> SyntheticData:
            rng = np.random.default_rng([ctx.seed, 1])
            before = target.ledger.as_dict()["sent"]
            X_s = synthesize(syn["name"], config, knowledge.X_aux, target, rng)
            spent = target.ledger.as_dict()["sent"] - before
            return SyntheticData(X_s, target.predict_proba(X_s), spent + X_s.shape[0])

        with target.stage("synthesis"):
            data, hit = ctx.cache.get_or_compute("synthetic", content_key(key, ctx.target_key), compute,
                                                     {"synthesis": syn, "data_key": ctx.data_key, "target_key": ctx.target_key,
                                                      "seed": ctx.seed})
            if hit:
                target.book_cached(data.queries)
        return data, key

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext) -> dict:
        synthesis, mimic_config = self.settings()
        if synthesis.name in NEEDS_POPULATION and len(knowledge.y_aux) < 2:
            raise ConfigError(f"synthesis={synthesis.name}: draws on the attacker's own records, but it holds "
                              f"{len(knowledge.y_aux)}; give a population, or use synthesis=format (data-free)")
        with ctx.timed("synthesis"):
            syn, syn_key = self._synthesize(synthesis, target, knowledge, ctx)
        with ctx.timed("inout"):  # Stage 2
            is_in = kmeans_in_out_split(syn.Y, random_state=ctx.seed)
        with ctx.timed("mimic"):  # Stage 3
            mimic, held_out, report = self._mimic(mimic_config, syn, is_in, syn_key, knowledge, ctx)
        with ctx.timed("attack_model"):  # Stage 4
            train_in = np.flatnonzero(is_in)
            train_in = train_in[~np.isin(train_in, held_out)]
            rows = np.concatenate([train_in, np.flatnonzero(~is_in)])
            labels = np.concatenate([np.ones(len(train_in), bool), np.zeros((~is_in).sum(), bool)])
            self.attack_model_ = AttackModel(self.attack_model, dict(self.attack_params or {}), self.features,
                                             ctx.seed, ctx.threads)
            self.attack_model_.fit(mimic.predict_proba(syn.X[rows]), labels)
        self.diagnostics_ = diagnostics.fit_checks(is_in, mimic.predict_proba(syn.X[held_out]), syn.Y[held_out],
                                                   self.attack_model_.score(syn.Y))
        self.flipped_ = diagnostics.should_flip(self.diagnostics_["orientation"], mimic_config.orient)
        report.update({"n_synthetic": int(syn.X.shape[0]), "n_in": int(is_in.sum()), "n_out": int((~is_in).sum()),
                       "orientation_flipped": self.flipped_})
        return report

    def diagnose(self, scores: np.ndarray) -> dict:
        """The fit's checks plus the spread of ``scores`` (this attack's scores on the evaluation answers);
        no membership goes in (``socinf.attacks.diagnostics``)."""
        check_fitted(self, "diagnostics_")
        found = {**self.diagnostics_, "score_spread": diagnostics.score_spread(scores)}
        return {name: found[name] for name in diagnostics.CHECKS}

    def _mimic(self, config: MimicConfig, syn: SyntheticData, is_in: np.ndarray, syn_key: str,
               knowledge: AttackerKnowledge, ctx: AttackContext):
        m = asdict(config)
        rng = np.random.default_rng([ctx.seed, 3])
        inside = np.flatnonzero(is_in)
        held_out = np.sort(rng.choice(inside, int(round(m["holdout_fraction"] * len(inside))), replace=False))
        train = inside[~np.isin(inside, held_out)]
        untrained = MimicGAN(knowledge.n_features, knowledge.n_classes, config, random_state=ctx.seed)
        before = fidelity(untrained.predict_proba(syn.X[held_out]), syn.Y[held_out])

        if len(train) == 0:  # e.g. a target answering one constant vector: Stage 2 found no "in" record
            report = {"mimic": {"untrained": before, "trained": before, "n_train": 0, "n_heldout": int(len(held_out)),
                                "final_losses": None, "skipped": "no synthetic record was split 'in' (the target's "
                                "answers do not separate); the mimic stays untrained"}}
            return untrained, held_out, report

        def compute() -> MimicGAN:
            gan = MimicGAN(knowledge.n_features, knowledge.n_classes, config, random_state=ctx.seed)
            tick = ctx.progress("mimic GAN epochs", m["epochs"]) if ctx.progress else None
            return gan.fit(syn.X[train], syn.Y[train], progress=tick)

        key = content_key("mimic", syn_key, ctx.target_key, m, ctx.seed, IMPLEMENTATION)
        mimic, _ = ctx.cache.get_or_compute("mimic", key, compute, {"mimic": m, "synthesis_key": syn_key,
                                                                     "target_key": ctx.target_key, "seed": ctx.seed})
        after = fidelity(mimic.predict_proba(syn.X[held_out]), syn.Y[held_out])
        report = {
            "mimic": {"untrained": before, "trained": after, "n_train": int(len(train)), "n_heldout": int(len(held_out)),
                      "final_losses": mimic.history_[-1] if mimic.history_ else None},
        }
        return mimic, held_out, report

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_fitted(self, "attack_model_")
        scores = self.attack_model_.score(probs)
        return 1.0 - scores if self.flipped_ else scores
