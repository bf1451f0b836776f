"""One audit, as the paper's Fig. 2 draws it.

prepare the data (features, disjoint splits) -> the target owner trains and
serves the model -> the attacker fits its attack through the black box only
(SocInf: synthesize, split in/out, mimic, attack model) -> the evaluator
queries the target on balanced members / non-members and scores the attack.
``threat=owner`` gives the attacks every record the owner holds besides the
evaluation records (docs/threat-models.md). The library's ``AuditResult`` is the
result; this module adds what only a run of the command knows (dataset,
protocol, collision ceiling, config) and writes it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from socinf.attacks.base import AttackContext, AttackerKnowledge
from socinf.attacks.reference_jobs import ReferenceJobs
from socinf.data.dataset_config import AUTO_SIZE, AUTO_SIZE_MAX
from socinf.engine import run_attacks
from socinf.evaluation.metrics import collision_ceiling
from socinf.protocol import protocol_name
from socinf.result import AuditResult
from socinf.result_files import save
from socinf.runtime import limit_threads, progress_factory
from socinf.settings import settings_from
from socinf_cli.paths import prepare, stage_cache
from socinf_cli.targets import open_target
from socinf_cli.validate import validate

log = logging.getLogger("socinf")


def protocol_of(cfg) -> dict:
    return {"name": protocol_name(cfg.synthesis.name, cfg.eval.nonmembers), "synthesis": cfg.synthesis.name,
            "split": cfg.dataset.split, "eval_nonmembers": cfg.eval.nonmembers}


def without_secrets(config: dict) -> dict:
    """The resolved config for metrics.json, API keys (target.api_key, serve.api_key: often from env) masked."""
    return {k: (without_secrets(v) if isinstance(v, dict) else "***" if k == "api_key" and v else v)
            for k, v in config.items()}


def attacker_knowledge(cfg, prepared, splits, eval_idx: np.ndarray) -> AttackerKnowledge:
    """The attacker's population; under threat=owner also every other record the owner holds (the members
    and held-out records not evaluated, and the population), never told which trained the target."""
    X, y = prepared.X, prepared.y
    owner = {}
    if cfg.threat == "owner":
        rows = np.setdiff1d(np.concatenate([splits.members, splits.heldout, splits.attacker]), eval_idx)
        owner = {"X_owner": X[rows], "y_owner": y[rows]}
    return AttackerKnowledge(X[splits.attacker], y[splits.attacker], prepared.n_classes, X.shape[1],
                             target_size=len(splits.members), threat=cfg.threat, **owner)


def chosen_size(splits, nonmembers: str) -> str:
    """The line saying what ``eval.size=auto`` chose, and from how many records."""
    n, pool = len(splits.eval_members), len(getattr(splits, nonmembers))
    return (f"eval.size=auto: {n} members and {n} non-members (the most that {len(splits.members)} members and "
            f"{pool} {nonmembers} non-members allow, at most {AUTO_SIZE_MAX})")


def announce(line: str) -> None:
    """A line for the user: in the run's log, and on the terminal unless this is a sweep's job (one line each)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    log.info(line)
    if not (HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN):
        print(line, flush=True)


def run_audit(cfg, run_dir: Path, overrides=None) -> dict:
    # Threads first: validate() builds and trial-fits the configured estimators, and BLAS / OpenMP pools left
    # at the machine's width spin beside the rest of the run (measured: 8% slower whole runs).
    limit_threads(cfg.threads if isinstance(cfg.threads, int) and cfg.threads >= 1 else 1)
    method, thresholds = validate(cfg)
    started = time.perf_counter()
    cache = stage_cache(cfg)
    ctx = AttackContext(seed=cfg.seed, threads=cfg.threads, cache=cache, progress=progress_factory(),
                        reference_jobs=settings_from(cfg.reference_jobs, ReferenceJobs, "reference_jobs"))
    with ctx.timed("data"):
        prepared, ctx.data_key, _ = prepare(cfg, cache)
    if cfg.eval.size == AUTO_SIZE:
        announce(chosen_size(prepared.splits, cfg.eval.nonmembers))
    target_started = time.perf_counter()
    with open_target(cfg, prepared, cache, ctx.data_key) as opened:
        ctx.timings["target"] = time.perf_counter() - target_started
        ctx.target_key, target, s = opened.key, opened.target, opened.splits
        eval_idx = np.concatenate([s.eval_members, s.eval_nonmembers])
        knowledge = attacker_knowledge(cfg, prepared, s, eval_idx)
        membership = np.concatenate([np.ones(len(s.eval_members), int), np.zeros(len(s.eval_nonmembers), int)])
        if cfg.eval.shuffle_membership:  # the negative control: the target and the records stay, the labels do not
            membership = np.random.default_rng([cfg.seed, 17]).permutation(membership)
        run = run_attacks([method], target, knowledge, ctx, prepared.X[eval_idx], prepared.y[eval_idx], membership,
                          thresholds=thresholds, verdict=cfg.verdict)
        queries = target.ledger.as_dict()
        queries.update(opened.query_stats())
    ctx.timings["total"] = time.perf_counter() - started
    audit = AuditResult(run, membership, queries, ctx.timings, method.name, {method.name: cfg.attack.name},
                        target=opened.report, record_ids=eval_idx, class_names=prepared.class_names,
                        threat=cfg.threat)
    result = {**audit.to_dict(),
              "dataset": {"label": prepared.label, "name": cfg.dataset.name, "num_classes": prepared.n_classes,
                          "classes": prepared.class_names, "n_features": int(prepared.X.shape[1]),
                          **prepared.corpus_info, "splits": s.as_dict()},
              "protocol": protocol_of(cfg),
              "collision": collision_ceiling(prepared.X[s.members], prepared.X[s.eval_members],
                                             prepared.X[s.eval_nonmembers]),
              "cache_hits": cache.hits, "seed": cfg.seed,
              "config": without_secrets(OmegaConf.to_container(cfg, resolve=True))}
    if cfg.eval.shuffle_membership:
        result["verdict"].setdefault("warnings", []).append({"code": "negative_control", "message": (
            "eval.shuffle_membership=true: the membership labels were dealt at random, so no leak found here is real "
            "(a negative control)")})
    save(audit, run_dir, evaluation_texts(cfg, eval_idx), result, overrides)
    return result


def evaluation_texts(cfg, eval_idx) -> list[str] | None:
    """The evaluation records' texts for exposure.csv, only with ``report.show_texts=true``."""
    if not cfg.report.show_texts:
        return None
    from socinf.data.prepare import corpus_source, corpus_texts
    from socinf_cli.paths import data_root

    source = corpus_source(cfg.dataset, data_root(cfg), cfg.data.dir, cfg.data.url_base, cfg.data.download_if_missing)
    texts = corpus_texts(cfg.dataset, cfg.seed, source)
    return [texts[i] for i in eval_idx] if texts else None
