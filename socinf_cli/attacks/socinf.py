"""SocInf (paper Fig. 2): synthesize, split in/out, mimic with a GAN, train the attack model."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socinf_cli.attacks.attack_model import AttackModel
from socinf_cli.attacks.base import AttackContext, AttackerKnowledge
from socinf_cli.attacks.inout import kmeans_in_out_split
from socinf_cli.attacks.mimic import MimicGAN, fidelity
from socinf_cli.attacks.synthesis import check_applies, synthesize
from socinf_cli.cache import content_key
from socinf_cli.config import plain
from socinf_cli.targets.base import CountingTarget


@dataclass
class SyntheticData:
    X: np.ndarray  # X_s
    Y: np.ndarray  # F_target(X_s)
    queries: int  # target queries the synthesis itself spent (accept=confidence)


class SocInf:
    name = "socinf"
    threshold = 0.5

    def __init__(self, synthesis_cfg, mimic_cfg, attack_cfg):
        self.synthesis_cfg, self.mimic_cfg, self.attack_cfg = synthesis_cfg, mimic_cfg, attack_cfg

    # Stage 1: X_s and the target's answers Y_s (both cached; cached answers are free).
    def _synthesize(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext) -> tuple[SyntheticData, str]:
        syn = plain(self.synthesis_cfg)
        check_applies(syn["name"], knowledge.X_aux)  # before the cache: an entry is no excuse
        needs_target = syn["name"] == "format"
        key = content_key("synthesis", ctx.data_key, syn, ctx.seed, ctx.target_key if needs_target else None)

        def compute() -> SyntheticData:
            rng = np.random.default_rng([ctx.seed, 1])
            before = target.ledger.as_dict()["sent"]
            X_s = synthesize(syn["name"], self.synthesis_cfg, knowledge.X_aux, target, rng)
            spent = target.ledger.as_dict()["sent"] - before
            return SyntheticData(X_s, target.predict_proba(X_s), spent + len(X_s))

        with target.stage("synthesis"):
            data, hit = ctx.cache.get_or_compute("synthetic", content_key(key, ctx.target_key), compute)
            if hit:
                target.book_cached(data.queries)
        return data, key

    def fit(self, target: CountingTarget, knowledge: AttackerKnowledge, ctx: AttackContext) -> dict:
        with ctx.timed("synthesis"):
            syn, syn_key = self._synthesize(target, knowledge, ctx)
        with ctx.timed("inout"):  # Stage 2
            is_in = kmeans_in_out_split(syn.Y, random_state=ctx.seed)
        with ctx.timed("mimic"):  # Stage 3
            mimic, held_out, report = self._mimic(syn, is_in, syn_key, knowledge, ctx)
        with ctx.timed("attack_model"):  # Stage 4
            train_in = np.flatnonzero(is_in)
            train_in = train_in[~np.isin(train_in, held_out)]
            rows = np.concatenate([train_in, np.flatnonzero(~is_in)])
            labels = np.concatenate([np.ones(len(train_in), bool), np.zeros((~is_in).sum(), bool)])
            a = self.attack_cfg
            self.attack_model = AttackModel(a.name, plain(a.params), a.features, ctx.seed, ctx.threads)
            self.attack_model.fit(mimic.predict_proba(syn.X[rows]), labels)
        report.update({"n_synthetic": int(len(syn.X)), "n_in": int(is_in.sum()), "n_out": int((~is_in).sum())})
        return report

    def _mimic(self, syn: SyntheticData, is_in: np.ndarray, syn_key: str, knowledge: AttackerKnowledge, ctx: AttackContext):
        m = plain(self.mimic_cfg)
        rng = np.random.default_rng([ctx.seed, 3])
        inside = np.flatnonzero(is_in)
        held_out = np.sort(rng.choice(inside, int(round(m["holdout_fraction"] * len(inside))), replace=False))
        train = inside[~np.isin(inside, held_out)]
        params = {k: m[k] for k in ("depth", "width", "d_depth", "d_width", "epochs", "batch_size", "lr_g", "lr_d", "fidelity_weight")}
        untrained = MimicGAN(knowledge.n_features, knowledge.n_classes, random_state=ctx.seed, **params)
        before = fidelity(untrained.predict_proba(syn.X[held_out]), syn.Y[held_out])

        def compute() -> MimicGAN:
            gan = MimicGAN(knowledge.n_features, knowledge.n_classes, random_state=ctx.seed, **params)
            tick = ctx.progress("mimic GAN epochs", m["epochs"]) if ctx.progress else None
            return gan.fit(syn.X[train], syn.Y[train], progress=tick)

        key = content_key("mimic", syn_key, ctx.target_key, m, ctx.seed)
        mimic, _ = ctx.cache.get_or_compute("mimic", key, compute)
        after = fidelity(mimic.predict_proba(syn.X[held_out]), syn.Y[held_out])
        report = {
            "mimic": {"untrained": before, "trained": after, "n_train": int(len(train)), "n_heldout": int(len(held_out)),
                      "final_losses": mimic.history_[-1] if mimic.history_ else None},
        }
        return mimic, held_out, report

    def score(self, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return self.attack_model.score(probs)
