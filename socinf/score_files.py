"""``membership_scores.csv``: one row per evaluation record, the scores of every attack of an audit.

Columns: ``record_id``, ``member`` (1 / 0), ``label`` (the record's class index), then the primary method's
``score`` and ``decision`` and every other attack's and threshold attack's score as ``score_<name>``
(``score_column``). metrics.json names the attacks (``attacks``, ``baselines``; older runs: ``attack`` and
``method.name``), so a reader finds each one's column. Written by ``socinf.result_files``, read by
``AuditResult.load`` and ``socinf report``; CSV only, nothing read runs code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.rundir import SCORES_FILE


def score_column(name: str, primary: str | None) -> str:
    """The column of ``membership_scores.csv`` holding ``name``'s scores."""
    return "score" if name == primary else f"score_{name}"


def read_scores(directory, metrics: dict) -> tuple[pd.DataFrame | None, dict[str, np.ndarray]]:
    """membership_scores.csv and each attack's scores by name (the names metrics.json lists)."""
    path = Path(directory) / SCORES_FILE
    if not path.exists():
        return None, {}
    table = pd.read_csv(path)
    return table, read_scores_frame(table, metrics)


def read_scores_frame(table: pd.DataFrame, metrics: dict) -> dict[str, np.ndarray]:
    """Each attack's scores by name from a membership_scores table (the names metrics.json lists)."""
    primary = (metrics.get("method") or {}).get("name")
    attacks = metrics.get("attacks") or ({primary: metrics["attack"]} if primary and metrics.get("attack") is not None
                                         else {})
    names = [*attacks, *(metrics.get("baselines") or {})]
    return {n: table[score_column(n, primary)].to_numpy(float) for n in names if score_column(n, primary) in table}
