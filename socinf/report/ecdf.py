"""Section: the paper's Figs. 5 and 6 — empirical CDFs of SocInf's accuracy, precision and recall
over runs (every dataset and seed), per target (fig5_<protocol>.png, panels a-c; the Table II jobs:
XGBoost attack model, no defense) and per attack model (fig6_<protocol>.png; sweeps with two or more
attack models). Only the paper's cells at the paper's sizes (``frame.paper_cells``) are drawn, and only the
groups this sweep ran; a group whose jobs all failed is named in the legend as missing. With one seed per
cell each run is a point, not a step.
"""
from __future__ import annotations

from pathlib import Path

from socinf.attacks.attack_model import ATTACK_MODELS
from socinf.report.figures import ecdf_panels
from socinf.report.frame import PAPER_METRICS, PAPER_TARGETS, TARGET_TITLES, paper_cells, runs_frame, socinf_paper_runs


def _socinf(frame):
    cells = paper_cells(frame)
    return cells[cells.method == "socinf"]


def _figures(frame) -> list[str]:
    found = []
    if len(socinf_paper_runs(frame)):
        found.append("fig5")
    if _socinf(frame).attack_model.nunique() > 1:
        found.append("fig6")
    return found


def applies(runs) -> bool:
    return bool(_figures(runs_frame(runs)))


def _groups(jobs, column: str, first) -> dict:
    groups = {}
    for value in [v for v in first if v in set(jobs[column])] + sorted(set(jobs[column]) - set(first)):
        part = jobs[(jobs[column] == value) & (jobs.status == "complete")]
        name = TARGET_TITLES.get(value, value) if column == "target" else value
        groups[name if len(part) else f"{name}: missing"] = {m: part[m].to_numpy(float) for m in PAPER_METRICS}
    return groups


def _one_seed(jobs) -> bool:
    """Every cell ran one seed: the ECDF of a cell is one value, drawn as a point."""
    done = jobs[jobs.status == "complete"]
    return bool(len(done)) and int(done.groupby(["dataset", "target", "method_label"], dropna=False).seed.nunique().max()) <= 1


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    figures, paths = _figures(frame), []
    points = _one_seed(frame)
    for protocol in dict.fromkeys(frame.protocol):
        jobs = frame[frame.protocol == protocol]
        if "fig5" in figures and len(socinf_paper_runs(jobs)):
            paths.append(ecdf_panels(_groups(socinf_paper_runs(jobs), "target", PAPER_TARGETS),
                                     f"Fig. 5 — SocInf per target model (attack model xgboost), protocol {protocol}",
                                     out_dir / f"fig5_{protocol}.png", points))
        if "fig6" in figures and len(_socinf(jobs)):
            paths.append(ecdf_panels(_groups(_socinf(jobs), "attack_model", ATTACK_MODELS),
                                     f"Fig. 6 — SocInf per attack model (all targets), protocol {protocol}",
                                     out_dir / f"fig6_{protocol}.png", points))
    return paths
