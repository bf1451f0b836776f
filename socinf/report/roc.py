"""Section: log-log ROC curves of every method on one cell, per protocol (roc_<protocol>.png).

The cell is the one where the most methods ran (SocInf, Shadow, threshold attacks), ties broken
by the highest SocInf AUC; its lowest seed is drawn. Scores come from each run's
membership_scores.csv (``score`` for the run's method, ``score_<name>`` for the threshold attacks).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.report.figures import roc_loglog
from socinf.report.frame import protocols, runs_frame


def applies(runs) -> bool:
    return bool(runs.complete)


def _curves(cell: pd.DataFrame) -> dict:
    curves = {}
    for _, run in cell.sort_values("method").iterrows():
        path = Path(run.run_dir) / "membership_scores.csv"
        if not path.exists():
            continue
        table = pd.read_csv(path)
        curves[f"{run.method} (AUC {run.auc:.3f})"] = (table.member.to_numpy(), table.score.to_numpy())
        for column in (c for c in table.columns if c.startswith("score_")):
            name = column[len("score_"):]
            auc = (run.baselines or {}).get(name, {}).get("auc")
            label = f"{name} (AUC {auc:.3f})" if auc is not None else name
            if not any(k.startswith(name + " ") for k in curves):
                curves[label] = (table.member.to_numpy(), table[column].to_numpy())
    return curves


def pick_cell(done: pd.DataFrame) -> tuple[str, str]:
    stats = done.groupby(["dataset", "target"]).agg(methods=("method", "nunique"), auc=("auc", "mean"))
    best = stats.sort_values(["methods", "auc"], ascending=False).index[0]
    return best


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    done = frame[(frame.status == "complete") & (frame.defense == "none")]
    paths = []
    for protocol in protocols(done):
        part = done[done.protocol == protocol]
        if part.empty:
            continue
        dataset, target = pick_cell(part)
        cell = part[(part.dataset == dataset) & (part.target == target)]
        cell = cell[cell.seed == cell.seed.min()]
        curves = _curves(cell.drop_duplicates(["method", "attack_model"]))
        title = f"ROC (log-log), {dataset} / target {target}, seed {cell.seed.min()}, protocol {protocol}"
        paths.append(roc_loglog(curves, title, out_dir / f"roc_{protocol}.png"))
    return paths
