"""One audit, as the paper's Fig. 2 draws it.

prepare the data (features, disjoint splits) -> the target owner trains and
serves the model -> the attacker fits its attack through the black box only
(SocInf: synthesize, split in/out, mimic, attack model) -> the evaluator
queries the target on balanced members / non-members and scores the attack.
The library's ``AuditResult`` is the result; this module adds what only a run of
the command knows (dataset, protocol, collision ceiling, config) and writes it.
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
from socinf.protocol import protocol_name
from socinf.result import AuditResult
from socinf.rundir import write_result
from socinf.runtime import limit_threads, progress_factory
from socinf_cli.paths import prepare, stage_cache
from socinf_cli.targets import open_target
from socinf_cli.validate import validate


def protocol_of(cfg) -> dict:
    return {"name": protocol_name(cfg.synthesis.name, cfg.eval.nonmembers), "synthesis": cfg.synthesis.name,
            "split": cfg.dataset.split, "eval_nonmembers": cfg.eval.nonmembers}


def without_secrets(config: dict) -> dict:
    """The resolved config for metrics.json, API keys (target.api_key, serve.api_key: often from env) masked."""
    return {k: (without_secrets(v) if isinstance(v, dict) else "***" if k == "api_key" and v else v)
            for k, v in config.items()}


def run_audit(cfg, run_dir: Path, overrides=None) -> dict:
    # Threads first: validate() builds and trial-fits the configured estimators, and BLAS / OpenMP pools left
    # at the machine's width spin beside the rest of the run (measured: 8% slower whole runs).
    limit_threads(cfg.threads if isinstance(cfg.threads, int) and cfg.threads >= 1 else 1)
    method, thresholds = validate(cfg)
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
        eval_idx = np.concatenate([s.eval_members, s.eval_nonmembers])
        membership = np.concatenate([np.ones(len(s.eval_members), int), np.zeros(len(s.eval_nonmembers), int)])
        run = run_attacks([method], target, knowledge, ctx, prepared.X[eval_idx], prepared.y[eval_idx], membership,
                          thresholds=thresholds)
        queries = target.ledger.as_dict()
        queries.update(opened.query_stats())
    ctx.timings["total"] = time.perf_counter() - started
    audit = AuditResult(run, membership, queries, ctx.timings, method.name,
                        {method.name: cfg.attack.name}, target=opened.report)
    result = {**audit.to_dict(),
              "dataset": {"label": prepared.label, "name": cfg.dataset.name, "num_classes": prepared.n_classes,
                          "classes": prepared.class_names, "n_features": int(prepared.X.shape[1]),
                          **prepared.corpus_info, "splits": s.as_dict()},
              "protocol": protocol_of(cfg),
              "collision": collision_ceiling(prepared.X[s.members], prepared.X[s.eval_members],
                                             prepared.X[s.eval_nonmembers]),
              "cache_hits": cache.hits, "seed": cfg.seed,
              "config": without_secrets(OmegaConf.to_container(cfg, resolve=True))}
    write_result(run_dir, result, scores_table(eval_idx, membership, run, method), overrides)
    return result


def scores_table(eval_idx, membership, run, method) -> str:
    """``membership_scores.csv``: record id, true membership, the method's score and decision, every threshold
    attack's score."""
    scores = run.scores[method.name]
    extra = {f"score_{name}": values for name, values in run.baseline_scores.items()}
    table = pd.DataFrame({"record_id": eval_idx, "member": membership, "score": scores,
                          "decision": (np.asarray(scores) >= method.threshold).astype(int), **extra})
    return table.to_csv(index=False)
