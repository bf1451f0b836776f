"""A sweep as a table: one row per job (complete or failed), and the paper's published Table II.

Every row carries the cell it belongs to — protocol, dataset label ("Tweet(4)"),
target, method, attack model, defense, seed, threat model — so a failed job still
lands in its cell (read from the job's own ``.hydra/config.yaml``) and is listed as
missing there, never silently dropped. A job run under ``threat=owner`` says so in
its dataset label (``Tweet(4) [threat=owner]``), so no table mixes it with the
paper's attacker setting, and every table names it.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from socinf.attacks.base import PAPER_THREAT
from socinf.attacks.diagnostics import failed
from socinf.data.dataset_config import DatasetConfig
from socinf.protocol import protocol_name
from socinf.data.prepare import dataset_label
from socinf.report.sweep import SweepRuns

PAPER_ROWS = ("Tweet(2)", "Tweet(4)", "Weibo(3)", "Weibo(5)")
PAPER_TARGETS = ("remote", "logistic", "xgboost")  # the paper's BigML, Logistics, Xgboost columns
TARGET_TITLES = {"remote": "remote (paper: BigML)", "logistic": "logistic", "xgboost": "xgboost"}
PAPER_METRICS = ("accuracy", "precision", "recall")
LOWFPR_METRICS = ("auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")
ATTACK_METRICS = (*PAPER_METRICS, "f1", *LOWFPR_METRICS, "fpr_realised_at_1pct", "fpr_realised_at_0.1pct", "advantage",
                  "tpr_at_1pct_fpr_status", "tpr_at_0.1pct_fpr_status")  # ok | coarse | unmeasurable (metrics.py)
STRONGEST = ("method", "auc", "tpr_at_1pct_fpr", "fpr_realised_at_1pct", "tpr_at_0.1pct_fpr", "fpr_realised_at_0.1pct",
             "tpr_at_1pct_fpr_status")
CELL = ["protocol", "dataset", "target"]
PAPER_SOURCE = "SocInf, IEEE TCSS 2019, doi:10.1109/TCSS.2019.2916086, Table II"
LOW_FPR_NOTE = ("A TPR at FPR f rests on fewer than 10 false positives below 10/f non-members (1,000 for 1%, 10,000 for "
                "0.1%) and is unmeasurable below 1/f; runs.csv's tpr_at_*_fpr_status columns flag each job.")
# The paper's data (IV.A, IV.B.4): every EmoInt tweet, 2,000 Weibo posts per class, its keyword lists, half of the
# records to the owner, balanced evaluation sets (this reproduction's Table II sweeps score 1,000 of each).
PAPER_PER_CLASS = {"tweet": None, "weibo": 2000}
PAPER_EVAL_MEMBERS = 1000
PAPER_DATA_DEFAULTS = ("n_keywords", "keywords_per_class", "member_fraction", "attacker_fraction", "domain")
PAPER_CAVEAT = ("No paper section (Table II, its decoded triples, Figs. 5-10): this sweep holds no cell of the paper at "
                "the paper's sizes (Tweet(2/4) or Weibo(3/5); target remote, logistic or xgboost; SocInf with the XGBoost "
                "attack model; the full data and 1,000 evaluation members), so its numbers are not the paper's to compare.")


def at_paper_sizes(cfg: dict, eval_members=None) -> bool:
    """A job's data is the paper's: the dataset at its paper size, the default keyword lists and split fractions,
    ``PAPER_EVAL_MEMBERS`` members scored (as realised, else as configured)."""
    ds = cfg.get("dataset") or {}
    name = ds.get("name")
    if name not in PAPER_PER_CLASS or ds.get("per_class") != PAPER_PER_CLASS[name]:
        return False
    if any(ds.get(k, getattr(DatasetConfig, k)) != getattr(DatasetConfig, k) for k in PAPER_DATA_DEFAULTS):
        return False
    if eval_members is not None:
        return eval_members == PAPER_EVAL_MEMBERS
    # a job that failed before scoring: `auto` draws PAPER_EVAL_MEMBERS at the paper's data, which it asked for
    return (cfg.get("eval") or {}).get("size", "auto") in (PAPER_EVAL_MEMBERS, "auto")


def paper_table2() -> pd.DataFrame:
    """The paper's published Table II (package data): columns dataset, target, metric, value."""
    text = resources.files("socinf.report").joinpath("paper_table2.csv").read_text()
    from io import StringIO

    return pd.read_csv(StringIO(text), comment="#")


def paper_value(paper: pd.DataFrame, dataset: str, target: str, metric: str) -> float | None:
    hit = paper[(paper.dataset == dataset) & (paper.target == target) & (paper.metric == metric)]
    return float(hit.value.iloc[0]) if len(hit) else None


def _job_config(run_dir: str) -> dict:
    """A job's composed config, from ``metrics.json`` or, for a failed job, ``.hydra/config.yaml``."""
    from socinf.protocol import register_resolvers

    register_resolvers()  # the resolvers experiment configs use
    try:
        cfg = OmegaConf.load(Path(run_dir) / ".hydra" / "config.yaml")
        return OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # noqa: BLE001 - an unreadable config still leaves the job listed (cell unknown)
        return {}


THREAT = PAPER_THREAT  # unmarked in every table


def labelled_dataset(label: str, threat: str | None) -> str:
    """The dataset label a table shows: with the threat model where it is not the paper's attacker."""
    return label if threat in (None, THREAT) else f"{label} [threat={threat}]"


def _cell_of(cfg: dict) -> dict:
    ds = cfg.get("dataset", {})
    protocol = protocol_name(cfg.get("synthesis", {}).get("name"), cfg.get("eval", {}).get("nonmembers"))
    threat = cfg.get("threat", THREAT)
    return {"protocol": protocol, "threat": threat,
            "dataset": labelled_dataset(dataset_label(ds.get("name", "?"), ds.get("num_classes") or "?"), threat),
            "target": cfg.get("target", {}).get("name", "?"), "method": cfg.get("method", {}).get("name", "?"),
            "attack_model": cfg.get("attack", {}).get("name", "?"),
            "defense": cfg.get("defense", {}).get("name", "none"), "seed": cfg.get("seed")}


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """A job's command-line overrides as {key: value}: ``+experiment/cell=tweet2`` -> {"experiment/cell": "tweet2"}."""
    parsed = {}
    for item in overrides:
        key, sep, value = str(item).partition("=")
        key = key.lstrip("+~")
        if sep and not key.startswith("hydra."):
            parsed[key] = value
    return parsed


def varying_overrides(frame: pd.DataFrame) -> list[str]:
    """The override keys whose value differs between the sweep's jobs (absent counts as a value), in order."""
    keys = list(dict.fromkeys(k for o in frame.overrides for k in o)) if len(frame) else []
    return [k for k in keys if len({o.get(k) for o in frame.overrides}) > 1]


def _strongest(run: dict) -> dict:
    best = (run.get("strongest") or {}).get("by_auc") or {}
    row = {f"strongest_{k}": best.get(k) for k in STRONGEST}
    low, high = best.get("auc_ci95") or (None, None)
    return {**row, "strongest_auc_ci95_low": low, "strongest_auc_ci95_high": high}


VARIANT_PREFIXES = ("dataset.", "target.params.", "target.model", "eval.size")  # what makes two targets differ


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


METHOD_GROUPS = ("method", "mimic", "synthesis", "attack")  # how a job attacks: part of its method's label


def _method_label(method: str, settings: list[dict], setting: dict) -> str:
    """``method`` plus what differs between the jobs of one method in one cell: a config group whose choice
    varies shows the choice (``socinf (gan_paper)``, ``socinf (svm)``), a varying key its value
    (``lira (reference_data=synthetic)``); the keys of a varying choice follow from it and are not repeated."""
    keys = sorted({k for s in settings for k in s})
    varying = [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]
    chosen = {k.split(".")[0] for k in varying if k.endswith(".name")}
    parts = [str(setting.get(k)) if k.endswith(".name") else f"{k.split('.', 1)[1]}={setting.get(k)}"
             for k in varying if k.endswith(".name") or k.split(".")[0] not in chosen]
    return f"{method} ({', '.join(parts)})" if parts else method


def _mark_variants(rows: list[dict]) -> None:
    """A cell (protocol, dataset, target) whose jobs attack different targets or data (the overfitting levels,
    another dataset slice) is split: each part's dataset label gets the settings that differ, e.g.
    ``Tweet(4) [max_depth=12 n_estimators=300]``, so no table averages across them (only across seeds)."""
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        cells.setdefault((row["protocol"], row["dataset"], row["target"]), []).append(row)
    for members in cells.values():
        configs = [_flat(r.pop("_config", {}) or {}) for r in members]
        by_method: dict[str, list[int]] = {}
        for i, row in enumerate(members):
            by_method.setdefault(row["method"], []).append(i)
        for method, index in by_method.items():
            attacks = [{k: v for k, v in configs[i].items() if k.split(".")[0] in METHOD_GROUPS} for i in index]
            for i, attack in zip(index, attacks):
                members[i]["method_label"] = _method_label(method, attacks, attack)
        settings = [{k: v for k, v in c.items() if k.startswith(VARIANT_PREFIXES)} for c in configs]
        keys = sorted({k for s in settings for k in s})
        varying = [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]
        for row, setting in zip(members, settings):
            if varying:
                parts = " ".join(f"{k.removeprefix('target.params.').removeprefix('dataset.')}={setting.get(k)}"
                                 for k in varying)
                row["dataset"] = f"{row['dataset']} [{parts}]"


def _complete_row(run: dict) -> dict:
    """A complete job's row; a saved ``socinf.audit`` result (no config, protocol or dataset) is the user's own."""
    cfg = run.get("config") or {}
    attack, target = run.get("attack") or {}, run.get("target") or {}
    threat = run.get("threat", THREAT)
    row = {**_cell_of(cfg), "_config": cfg, "protocol": (run.get("protocol") or {}).get("name", "audit"),
           "threat": threat, "dataset": labelled_dataset((run.get("dataset") or {}).get("label", "your records"), threat),
           "status": "complete", "run_dir": run["run_dir"], "error": ""}
    if not cfg:
        row.update(method=(run.get("method") or {}).get("name") or "thresholds", target=target.get("name", "?"))
    row.update({k: attack.get(k) for k in ATTACK_METRICS})
    row.update(_strongest(run))
    row["target_train_accuracy"] = target.get("train_accuracy")
    splits = (run.get("dataset") or {}).get("splits", {})
    members, nonmembers = splits.get("eval_members"), splits.get("eval_nonmembers")
    row["eval_member_share"] = members / (members + nonmembers) if members and nonmembers else None
    row["collision_ceiling"] = (run.get("collision") or {}).get("ceiling_accuracy")
    row["overfitting_gap"] = target.get("overfitting_gap")
    row["target_test_accuracy"] = target.get("test_accuracy")
    row["baselines"] = run.get("baselines") or {}
    row["failed_checks"] = ", ".join(failed(attack.get("diagnostics")))  # SocInf's self-checks
    row["paper_sizes"] = at_paper_sizes(cfg, members)
    return row


def runs_frame(runs: SweepRuns) -> pd.DataFrame:
    """One row per job: cell keys, status, metrics (complete jobs), error (failed jobs)."""
    rows = [_complete_row(r) for r in runs.complete]
    for f in runs.failed:
        cfg = f["config"] if "config" in f else _job_config(f["run_dir"])  # the reader's checked config
        rows.append({**_cell_of(cfg), "_config": cfg, "status": f.get("status", "failed"), "run_dir": f["run_dir"],
                     "error": f["error"], "baselines": {}, "paper_sizes": at_paper_sizes(cfg)})
    _mark_variants(rows)
    for row, job in zip(rows, [*runs.complete, *runs.failed]):
        row["overrides"] = parse_overrides(job.get("overrides") or [])
    columns = CELL + ["threat", "method", "method_label", "attack_model", "defense", "seed", "status", "run_dir", "error", "baselines",
                      "overrides", *ATTACK_METRICS, *(f"strongest_{k}" for k in STRONGEST),
                      "strongest_auc_ci95_low", "strongest_auc_ci95_high", "collision_ceiling",
                      "target_train_accuracy", "target_test_accuracy", "overfitting_gap", "eval_member_share",
                      "paper_sizes"]
    frame = pd.DataFrame(rows).reindex(columns=columns)  # every column, even when no job completed
    return frame.sort_values("run_dir", key=lambda s: s.map(_job_order)).reset_index(drop=True)


def _job_order(run_dir: str) -> tuple:
    """Hydra job dirs in job order (2 before 10), whatever the file system listed first."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in Path(run_dir).parts)


def paper_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Jobs in a cell of the paper: a paper dataset and target at the paper's sizes (``at_paper_sizes``), no
    defense; every method and attack model."""
    return frame[frame.paper_sizes.fillna(False).astype(bool) & frame.target.isin(PAPER_TARGETS)
                 & frame.dataset.isin(PAPER_ROWS) & (frame.defense == "none")]


def socinf_paper_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The jobs Table II is made of: SocInf with the XGBoost attack model in a cell of the paper
    (``paper_cells``, paper IV.B). Where the sweep ran SocInf in several variants (``mimic=gan_paper`` beside
    the default), each is a row of its own."""
    jobs = paper_cells(frame)
    jobs = jobs[(jobs.method == "socinf") & (jobs.attack_model == "xgboost")]
    if jobs.method_label.nunique() > 1:
        jobs = jobs.assign(dataset=jobs.dataset + " · " + jobs.method_label)
    return jobs


def paper_caveat(frame: pd.DataFrame) -> str | None:
    """``PAPER_CAVEAT`` unless the sweep holds a paper cell at the paper's sizes."""
    return None if len(socinf_paper_runs(frame)) else PAPER_CAVEAT


def mean_std(values: pd.Series) -> tuple[float, float, int]:
    values = values.dropna().astype(float)
    if values.empty:
        return float("nan"), float("nan"), 0
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, int(len(values))


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-style markdown table of ``table`` with its index as the first column (no tabulate needed)."""
    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    for index, row in table.iterrows():
        lines.append("| " + " | ".join([str(index)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)
