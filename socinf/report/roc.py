"""Section: log-log ROC small multiples, one panel per cell (dataset x target) and one figure per protocol
(roc_grid_<protocol>.png). Low FPR is where membership inference matters (Carlini et al. 2022), hence the log
axes. Per cell the lowest seed is drawn.

A panel draws each distinct attack on its target once: every job's own method, named by what sets it apart
(``socinf (gan_paper)``, ``lira (online=True)``: ``frame.method_label``), and each threshold attack once (the
jobs of a cell share the target's answers, so their threshold attacks score alike). At most
``run_figures.MAX_CURVES`` curves, those with the highest AUC; roc_grid_<protocol>.md lists every curve's AUC
and which were drawn. The legend (short names, AUC) sits outside each panel. Scores come from each job's
membership_scores.csv (``socinf.score_files.read_scores``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.io import atomic_write_text
from socinf.protocol import PROTOCOL_NAMES
from socinf.report.frame import PAPER_ROWS, PAPER_TARGETS, markdown_table, runs_frame
from socinf.rundir import SCORES_FILE


def applies(runs) -> bool:
    return any((Path(r["run_dir"]) / SCORES_FILE).exists() for r in runs.complete)


def cell_curves(cell: pd.DataFrame, jobs: dict[str, dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Label -> (membership, scores) for one cell's jobs: each job's method, then each threshold attack once."""
    from socinf.score_files import read_scores

    curves, thresholds = {}, {}
    for _, row in cell[cell.status == "complete"].iterrows():
        job = jobs[row.run_dir]
        table, scores = read_scores(row.run_dir, job)
        if table is None:
            continue
        member = table.member.to_numpy(int)
        label = row.method_label if isinstance(row.method_label, str) else row.method
        for name, values in scores.items():
            if name in (job.get("baselines") or {}):
                thresholds.setdefault(name, (member, values))
            else:
                curves[label if name == (job.get("method") or {}).get("name") else name] = (member, values)
    return {**curves, **thresholds}


def _order(values, first) -> list:
    found = set(values)
    return [v for v in first if v in found] + sorted(found - set(first), key=str)


def _auc_table(panels: dict, drawn: dict) -> pd.DataFrame:
    from sklearn.metrics import roc_auc_score

    rows = [{"cell": f"{d} / {t}", "attack": name, "AUC": f"{roc_auc_score(m, s):.3f}",
             "drawn": "yes" if name in drawn[(d, t)] else "no (table only)"}
            for (d, t), curves in panels.items() for name, (m, s) in curves.items()]
    return pd.DataFrame(rows, columns=["cell", "attack", "AUC", "drawn"]).set_index("cell")


def write(runs, out_dir: Path, console) -> list[Path]:
    from socinf.report.run_figures import roc_grid

    frame = runs_frame(runs)
    jobs = {r["run_dir"]: r for r in runs.complete}
    paths = []
    for protocol in _order(frame.protocol, PROTOCOL_NAMES):
        part = frame[frame.protocol == protocol]
        panels = {}
        for (dataset, target), cell in part.groupby(["dataset", "target"]):
            seeds = cell[cell.status == "complete"].seed
            panels[(dataset, target)] = cell_curves(cell[cell.seed == seeds.min()], jobs) if len(seeds) else {}
        if not any(panels.values()):
            continue
        path, drawn = roc_grid(panels, _order(part.dataset, PAPER_ROWS), _order(part.target, PAPER_TARGETS),
                               f"ROC (log-log) of every attack per cell, protocol {protocol}, lowest seed per cell",
                               out_dir / f"roc_grid_{protocol}.png")
        md = out_dir / f"roc_grid_{protocol}.md"
        atomic_write_text(md, f"# ROC curves per cell, protocol {protocol}\n\nEvery attack's AUC in each panel of "
                              f"{path.name}; a panel draws at most the strongest few.\n\n"
                              + markdown_table(_auc_table(panels, drawn)) + "\n")
        paths += [path, md]
    return paths
