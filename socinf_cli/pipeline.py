"""One audit, as the paper's Fig. 2 draws it.

prepare the data (features, disjoint splits) -> the target owner trains and
serves the model -> the attacker fits its attack through the black box only
(SocInf: synthesize, split in/out, mimic, attack model) -> the evaluator
queries the target on balanced members / non-members and scores the attack.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.engine import run_attacks
from socinf.evaluation.metrics import collision_ceiling
from socinf.io import atomic_write_json, atomic_write_text
from socinf.protocol import protocol_name
from socinf.runtime import limit_threads, progress_factory
from socinf_cli.methods import build_method
from socinf_cli.paths import prepare, stage_cache
from socinf_cli.targets import open_target, shadow_algorithm
from socinf_cli.validate import validate


def protocol_of(cfg) -> dict:
    return {"name": protocol_name(cfg.synthesis.name, cfg.eval.nonmembers), "synthesis": cfg.synthesis.name,
            "split": cfg.dataset.split, "eval_nonmembers": cfg.eval.nonmembers}


def without_secrets(config: dict) -> dict:
    """The resolved config for metrics.json, API keys (target.api_key, serve.api_key: often from env) masked."""
    return {k: (without_secrets(v) if isinstance(v, dict) else "***" if k == "api_key" and v else v)
            for k, v in config.items()}


def run_audit(cfg, run_dir: Path) -> dict:
    # Threads first: validate() builds and trial-fits the configured estimators, and BLAS / OpenMP pools left
    # at the machine's width spin beside the rest of the run (measured: 8% slower whole runs).
    limit_threads(cfg.threads if isinstance(cfg.threads, int) and cfg.threads >= 1 else 1)
    validate(cfg)
    started = time.perf_counter()
    cache = stage_cache(cfg)
    ctx = AttackContext(seed=cfg.seed, threads=cfg.threads, cache=cache, progress=progress_factory())
    with ctx.timed("data"):
        prepared, ctx.data_key, _ = prepare(cfg, cache)
    target_started = time.perf_counter()
    with open_target(cfg, prepared, cache, ctx.data_key) as opened:
        ctx.timings["target"] = time.perf_counter() - target_started
        ctx.target_key, target, s = opened.key, opened.target, opened.splits
        knowledge = AttackerKnowledge(prepared.X[s.attacker], prepared.y[s.attacker], prepared.n_classes,
                                      prepared.X.shape[1], target_size=len(s.members))
        method = build_method(cfg)
        eval_idx = np.concatenate([s.eval_members, s.eval_nonmembers])
        membership = np.concatenate([np.ones(len(s.eval_members), int), np.zeros(len(s.eval_nonmembers), int)])
        shadow = shadow_algorithm(cfg) if cfg.method.baselines else None
        run = run_attacks([method], target, knowledge, ctx, prepared.X[eval_idx], prepared.y[eval_idx], membership,
                          threshold_shadow=shadow)
        queries = target.ledger.as_dict()
        queries.update(opened.query_stats())
    ctx.timings["total"] = time.perf_counter() - started
    result = {
        "complete": True,
        "dataset": {"label": prepared.label, "name": cfg.dataset.name, "num_classes": prepared.n_classes,
                    "classes": prepared.class_names, "n_features": int(prepared.X.shape[1]), **prepared.corpus_info,
                    "splits": s.as_dict()},
        "protocol": protocol_of(cfg),
        "target": opened.report,
        "strongest": run.strongest,
        "method": {"name": method.name, "attack_model": cfg.attack.name, **run.reports[method.name]},
        "attack": run.metrics[method.name],
        "baselines": run.baselines,
        "collision": collision_ceiling(prepared.X[s.members], prepared.X[s.eval_members], prepared.X[s.eval_nonmembers]),
        "queries": queries,
        "timings_s": ctx.timings,
        "cache_hits": cache.hits,
        "seed": cfg.seed,
        "config": without_secrets(OmegaConf.to_container(cfg, resolve=True)),
    }
    extra = {f"score_{name}": values for name, values in run.baseline_scores.items()}
    write_outputs(run_dir, result, eval_idx, membership, run.scores[method.name], method.threshold, extra)
    return result


def write_outputs(run_dir: Path, result: dict, eval_idx, membership, scores, threshold: float, extra=None) -> None:
    table = pd.DataFrame({"record_id": eval_idx, "member": membership, "score": scores,
                          "decision": (np.asarray(scores) >= threshold).astype(int), **(extra or {})})
    atomic_write_text(run_dir / "membership_scores.csv", table.to_csv(index=False))
    atomic_write_json(run_dir / "metrics.json", result)  # last: its presence means the run is complete
