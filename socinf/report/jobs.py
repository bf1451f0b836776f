"""Section: any sweep as one tidy table, ``runs.csv``, and a compact terminal table (always written).

One row per job of the sweep (or the one row of a single run dir): every override that varies between
the sweep's jobs as its own column (``target``, ``attack``, ``experiment/cell``, ...), then the job's
cell (dataset label, target, method, attack model, defense, protocol, seed), its status and error,
every attack metric of ``metrics.json["attack"]``, the strongest attack (``metrics.json["strongest"]
["by_auc"]``), the target's accuracies and gap, the collision ceiling, and each threshold baseline's
accuracy, AUC and TPR at 1% FPR. The terminal table groups the jobs by the overrides that vary (seed
aside) and shows the mean over their complete jobs.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich import box
from rich.table import Table

from socinf.io import atomic_write_text
from socinf.report.frame import ATTACK_METRICS, STRONGEST, runs_frame, varying_overrides

FIXED = ["dataset", "target", "method", "attack_model", "defense", "protocol", "threat", "seed", "status", "error"]
TAIL = [*ATTACK_METRICS, *(f"strongest_{k}" for k in STRONGEST), "strongest_auc_ci95_low",
        "strongest_auc_ci95_high", "target_train_accuracy", "target_test_accuracy", "overfitting_gap",
        "collision_ceiling"]
BASELINE_METRICS = ("accuracy", "auc", "tpr_at_1pct_fpr")


def applies(runs) -> bool:
    return True


def _override_columns(frame: pd.DataFrame) -> dict[str, list]:
    """Varying override -> its value per job; an override that only restates a cell column (``target=xgboost``,
    ``seed=1``) keeps the plain name and must then agree with that column, else it is named ``<key> (override)``."""
    columns = {}
    for key in varying_overrides(frame):
        values = [o.get(key) for o in frame.overrides]
        if key in FIXED and [str(v) for v in values] != [str(v) for v in frame[key]]:
            columns[f"{key} (override)"] = values
        elif key not in FIXED:
            columns[key] = values
    return columns


def tidy_frame(runs, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """runs.csv: one row per job, see the module docstring."""
    frame = runs_frame(runs) if frame is None else frame
    root = Path(runs.root)
    table = pd.DataFrame({"job": [str(Path(d).relative_to(root)) if Path(d) != root else "." for d in frame.run_dir]})
    overrides = _override_columns(frame)
    for name in [k for k in varying_overrides(frame) if k in FIXED and k not in overrides]:
        table[name] = list(frame[name])  # an override restating a cell column: among the varying ones, first
    for name, values in overrides.items():
        table[name] = values
    for name in [n for n in FIXED + TAIL if n not in table]:
        table[name] = list(frame[name])
    names = sorted({n for b in frame.baselines for n in (b or {})})
    for name in names:
        for metric in BASELINE_METRICS:
            table[f"{name}_{metric}"] = [(b or {}).get(name, {}).get(metric) for b in frame.baselines]
    table["run_dir"] = list(frame.run_dir)
    return table


CELL_COLUMNS = ("protocol", "dataset", "target", "method", "attack_model", "defense")


def group_keys(table: pd.DataFrame, overrides: list[str]) -> list[str]:
    """What the terminal table groups by: the cell columns that vary, then each varying override (seed aside)
    that splits the jobs further (``experiment/cell=tweet2`` adds nothing once ``dataset`` is a key)."""
    keys = [c for c in CELL_COLUMNS if table[c].astype(str).nunique() > 1]
    for key in overrides:
        if key not in keys and "seed" not in key and key in table:
            groups = table.groupby(keys, dropna=False).ngroups if keys else 1
            if table.groupby([*keys, key], dropna=False).ngroups > groups:
                keys.append(key)
    return keys or ["dataset", "target", "method"]


def print_summary(table: pd.DataFrame, keys: list[str], console, title: str) -> None:
    protocols = list(dict.fromkeys(table.protocol.astype(str)))
    title += f" (protocol {protocols[0]})" if len(protocols) == 1 else ""
    caption = ("done: complete / all jobs of the group; acc, AUC, TPR@1%: the run's method, mean over complete "
               "jobs; strongest: the attack (any) with the highest AUC")
    out = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, caption=caption)
    for name in keys:
        out.add_column(name, no_wrap=True)
    for name in ("done", "acc", "AUC", "TPR@1%", "strongest"):
        out.add_column(name, justify="left" if name == "strongest" else "right", no_wrap=name != "strongest",
                       overflow="fold")
    for values, part in table.groupby(keys, sort=False, dropna=False):
        done = part[part.status == "complete"]
        mean = (lambda c: f"{done[c].astype(float).mean():.3f}" if len(done) else "—")
        aucs = done.strongest_auc.astype(float)
        strongest = "—" if aucs.isna().all() else f"{done.strongest_method[aucs.idxmax()]} {aucs.max():.3f}"
        failed = int((part.status != "complete").sum())
        values = values if isinstance(values, tuple) else (values,)
        done_text = f"{len(done)}/{len(part)}"
        out.add_row(*[str(v) for v in values], f"[red]{done_text}[/red]" if failed else done_text,
                    mean("accuracy"), mean("auc"), mean("tpr_at_1pct_fpr"), strongest)
    console.print(out)


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    table = tidy_frame(runs, frame)
    path = Path(out_dir) / "runs.csv"
    atomic_write_text(path, table.to_csv(index=False))
    keys = group_keys(table, list(_override_columns(frame)))
    failed = int((table.status != "complete").sum())
    print_summary(table, keys, console, f"{len(table)} job(s), {len(table) - failed} complete, {failed} failed "
                                        f"— grouped by {', '.join(keys)}")
    return [path]
