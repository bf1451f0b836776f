"""An ``AuditResult`` on disk: the files ``socinf run`` writes, written from Python (``AuditResult.load`` reads
them back).

``membership_scores.csv`` (``socinf.score_files``) and ``exposure.csv`` (``socinf.evaluation.exposure``'s table)
are written before ``metrics.json``, whose presence means complete (``socinf.rundir``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.errors import SocinfError
from socinf.io import atomic_write_bytes, atomic_write_text
from socinf.rundir import EXPOSURE_FILE, write_result
from socinf.score_files import score_column

FIGURE_FORMATS = ("png", "svg", "pdf")
OWN_RECORDS = "your records"  # how a socinf.audit result names its data in tables


def _record_ids(result) -> np.ndarray:
    if result.record_ids is not None:
        return np.asarray(result.record_ids)
    inside = result.membership == 1  # socinf.audit: the position among the members, or among the non-members
    return np.where(inside, np.cumsum(inside) - 1, np.cumsum(~inside) - 1)


def scores_frame(result) -> pd.DataFrame:
    run = result.run
    table = pd.DataFrame({"record_id": _record_ids(result), "member": result.membership})
    if run.labels is not None:
        table["label"] = np.asarray(run.labels)
    for name, scores in result.scores.items():
        table[score_column(name, result.primary)] = scores
        if name == result.primary:
            table["decision"] = (np.asarray(scores) >= run.thresholds.get(name, 0.5)).astype(int)
    return table


def exposure_frame(result, texts=None) -> pd.DataFrame:
    from socinf.evaluation.exposure import exposure_table

    name = result.run.strongest.get("by_tpr_at_1pct_fpr", {}).get("method")
    if name is None:
        return pd.DataFrame(columns=["rank", "record_id", "score", "nonmember_percentile", "label"])
    labels = result.run.labels if result.run.labels is not None else np.full(len(result.membership), -1)
    return exposure_table(_record_ids(result), result.membership, result.scores[name], labels,
                          result.class_names, texts).assign(attack=name)


def save(result, directory, texts=None, metrics: dict | None = None, overrides=None) -> Path:
    """The result's files, written aside and moved in together (``socinf.rundir.write_result``), metrics.json last (``metrics``: what to write there, default
    ``result.to_dict()``; ``socinf run`` adds its own keys)."""
    directory = Path(directory)
    if metrics is None:  # socinf.audit: the records are the caller's own
        metrics = {**result.to_dict()}
        metrics.setdefault("dataset", {"label": OWN_RECORDS, "classes": result.class_names})
    write_result(directory, metrics, scores_frame(result).to_csv(index=False), overrides,
                 exposure_frame(result, texts).to_csv(index=False))
    return directory


def write_html(result, path) -> Path:
    from socinf.report.html_report import single_run_html

    path = Path(path)
    job = {**result.to_dict(), "run_dir": None, "overrides": []}
    atomic_write_text(path, single_run_html(job, scores_frame(result), exposure_frame(result)))
    return path


def write_figure(fig, path) -> Path:
    """``fig`` written to ``path`` in the format its suffix names."""
    import io

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FIGURE_FORMATS:
        raise SocinfError(f"plot_roc(path={str(path)!r}): expected a file ending in .{', .'.join(FIGURE_FORMATS)}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    return path
