"""Section: the jobs of this sweep that did not complete, each with its cell and error (missing.md/.csv).

Written last and always. "Missing" means a job the sweep launched that has no complete metrics.json
(failed, killed or still running), never a cell the sweep did not ask for.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.io import atomic_write_text
from socinf.report.frame import markdown_table, runs_frame

COLUMNS = ["kind", "protocol", "dataset", "target", "method", "attack_model", "defense", "seed", "detail"]


def applies(runs) -> bool:
    return True


def missing_rows(runs) -> pd.DataFrame:
    frame = runs_frame(runs)
    rows = [{**{c: f[c] for c in COLUMNS[1:-1]}, "kind": "failed job" if f.status == "failed" else f"{f.status} job",
             "detail": f.error if f.status == "unreadable" else f"{f.run_dir}: {f.error}"}
            for _, f in frame[frame.status != "complete"].iterrows()]
    return pd.DataFrame(rows, columns=COLUMNS)


def write(runs, out_dir: Path, console) -> list[Path]:
    table = missing_rows(runs)
    paths = [out_dir / "missing.md", out_dir / "missing.csv"]
    total = len(runs.complete) + len(runs.failed)
    body = (markdown_table(table.set_index("kind")) if len(table)
            else f"Nothing missing: all {total} job(s) of this sweep completed.")
    atomic_write_text(paths[0], f"# Jobs of this sweep that did not complete\n\n{body}\n")
    atomic_write_text(paths[1], table.to_csv(index=False))
    if len(table):
        console.print(f"[yellow]{len(table)} failed job(s) of {total}: see {paths[0]}[/yellow]")
    return paths
