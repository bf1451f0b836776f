"""Section: every job that did not complete and every Table II cell no job filled (missing.md/.csv).

Written last and always, so a partial sweep says what it lacks instead of dropping it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.io import atomic_write_text
from socinf.report.frame import markdown_table, runs_frame
from socinf.report.table2 import expects_table2, table2_long


def applies(runs) -> bool:
    return True


def missing_rows(runs) -> pd.DataFrame:
    frame = runs_frame(runs)
    rows = []
    for _, f in frame[frame.status == "failed"].iterrows():
        rows.append({"kind": "failed job", "protocol": f.protocol, "dataset": f.dataset, "target": f.target,
                     "method": f.method, "seed": f.seed, "detail": f"{f.run_dir}: {f.error}"})
    if expects_table2(frame):
        cells = table2_long(frame, ("accuracy",))
        for _, c in cells[cells.n_seeds == 0].iterrows():
            rows.append({"kind": "missing Table II cell", "protocol": c.protocol, "dataset": c.dataset,
                         "target": c.target, "method": "socinf", "seed": "",
                         "detail": "no complete SocInf (xgboost attack) run"})
    return pd.DataFrame(rows, columns=["kind", "protocol", "dataset", "target", "method", "seed", "detail"])


def write(runs, out_dir: Path, console) -> list[Path]:
    table = missing_rows(runs)
    paths = [out_dir / "missing.md", out_dir / "missing.csv"]
    body = markdown_table(table.set_index("kind")) if len(table) else "Nothing missing: every job completed."
    atomic_write_text(paths[0], f"# Missing and failed\n\n{body}\n")
    atomic_write_text(paths[1], table.to_csv(index=False))
    if len(table):
        console.print(f"[yellow]{(table.kind == 'failed job').sum()} failed job(s), "
                      f"{(table.kind != 'failed job').sum()} missing Table II cell(s): see {paths[0]}[/yellow]")
    return paths
