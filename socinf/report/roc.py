"""Section: log-log ROC small multiples, one panel per cell (dataset x target) and one figure per
protocol (roc_grid_<protocol>.png), with every method of the sweep in each panel (SocInf and Shadow
jobs, named by what varies between them, e.g. ``socinf attack=svm``, and the threshold attacks they
scored), the chance diagonal and each curve's AUC in the legend. Low FPR is where membership
inference matters (Carlini et al. 2022), hence the log axes. Per cell the lowest seed is drawn.
Scores come from each job's membership_scores.csv (``score``: the job's method; ``score_<name>``: the
threshold attacks).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.protocol import PROTOCOL_NAMES
from socinf.rundir import SCORES_FILE
from socinf.report.figures import roc_grid
from socinf.report.frame import PAPER_ROWS, PAPER_TARGETS, runs_frame, varying_overrides

CELL_KEYS = ("dataset", "target", "seed", "protocol", "experiment/cell", "experiment/protocol", "data.root")
ATTACK_KEYS = ("method", "attack", "mimic", "synthesis")  # what changes the attack, not the target's answers


def applies(runs) -> bool:
    return any((Path(r["run_dir"]) / SCORES_FILE).exists() for r in runs.complete)


def _suffix(overrides: dict, keys: list[str]) -> str:
    return " ".join(f"{k}={overrides.get(k)}" for k in keys)


def _curves(cell: pd.DataFrame, keys: list[str]) -> dict:
    """Label -> (member, score): each job's own attack, then each threshold attack once per target variant."""
    curves, baselines = {}, {}
    attack_keys = [k for k in keys if k.split(".")[0].split("/")[0] not in ("method",)]
    target_keys = [k for k in keys if not k.split(".")[0].split("/")[0] in ATTACK_KEYS]
    for _, run in cell.iterrows():
        path = Path(run.run_dir) / SCORES_FILE
        if run.status != "complete" or not path.exists():
            continue
        table = pd.read_csv(path)
        member = table.member.to_numpy()
        curves[f"{run.method} {_suffix(run.overrides, attack_keys)}".strip()] = (member, table.score.to_numpy())
        for column in (c for c in table.columns if c.startswith("score_")):
            label = f"{column[len('score_'):]} {_suffix(run.overrides, target_keys)}".strip()
            baselines.setdefault(label, (member, table[column].to_numpy()))
    return {**curves, **baselines}


def _order(values, first) -> list:
    found = set(values)
    return [v for v in first if v in found] + sorted(found - set(first), key=str)


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    keys = [k for k in varying_overrides(frame) if k not in CELL_KEYS]
    paths = []
    for protocol in _order(frame.protocol, PROTOCOL_NAMES):
        part = frame[frame.protocol == protocol]
        panels = {}
        for (dataset, target), cell in part.groupby(["dataset", "target"]):
            seeds = cell[cell.status == "complete"].seed
            panels[(dataset, target)] = _curves(cell[cell.seed == seeds.min()], keys) if len(seeds) else {}
        if not any(panels.values()):
            continue
        seed_text = "lowest seed per cell"
        paths.append(roc_grid(panels, _order(part.dataset, PAPER_ROWS), _order(part.target, PAPER_TARGETS),
                              f"ROC (log-log), every method per cell, protocol {protocol}, {seed_text}",
                              out_dir / f"roc_grid_{protocol}.png"))
    return paths
