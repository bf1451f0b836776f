"""Section: the paper's Figs. 5 and 6 — empirical CDFs of SocInf's accuracy, precision and recall
over runs (every dataset and seed), per target (fig5_<protocol>.png, panels a-c) and per attack model
(fig6_<protocol>.png, panels a-c). Groups without a complete run are named in the legend as missing.
"""
from __future__ import annotations

from pathlib import Path

from socinf.report.figures import ecdf_panels
from socinf.report.frame import PAPER_METRICS, PAPER_TARGETS, TARGET_TITLES, protocols, runs_frame, socinf_paper_runs


def applies(runs) -> bool:
    return True


def _groups(done, column: str, expected) -> dict:
    groups = {}
    for value in list(expected) + sorted(set(done[column]) - set(expected)):
        part = done[done[column] == value]
        name = TARGET_TITLES.get(value, value) if column == "target" else value
        groups[name if len(part) else f"{name}: missing"] = {m: part[m].to_numpy(float) for m in PAPER_METRICS}
    return groups


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    paths = []
    for protocol in protocols(frame):
        paper_runs = socinf_paper_runs(frame)
        done = paper_runs[(paper_runs.protocol == protocol) & (paper_runs.status == "complete")]
        paths.append(ecdf_panels(_groups(done, "target", PAPER_TARGETS),
                                 f"Fig. 5 — SocInf per target model (attack model xgboost), protocol {protocol}",
                                 out_dir / f"fig5_{protocol}.png"))
        socinf = frame[(frame.method == "socinf") & (frame.defense == "none") & (frame.protocol == protocol)
                       & (frame.status == "complete")]
        paths.append(ecdf_panels(_groups(socinf, "attack_model", ("xgboost", "svm", "knn", "nn")),
                                 f"Fig. 6 — SocInf per attack model (all targets), protocol {protocol}",
                                 out_dir / f"fig6_{protocol}.png"))
    return paths
