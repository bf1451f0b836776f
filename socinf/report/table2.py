"""Section: the paper's Table II (mean ± std over seeds, paper value and difference), per protocol,
and a second table with AUC, TPR at 1% / 0.1% FPR, the collision ceiling and the target's gap.

Files: table2.{md,csv,tex}, table2_lowfpr.{md,csv,tex}. Empty cells read "missing".
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from rich.table import Table

from socinf.io import atomic_write_text
from socinf.report.frame import (LOWFPR_METRICS, PAPER_METRICS, PAPER_SOURCE, PAPER_TARGETS, TARGET_TITLES,
                                     markdown_table, mean_std, paper_table2, paper_value, protocols, runs_frame, socinf_paper_runs,
                                     table_rows)

MISSING = "missing"
SHORT = {"accuracy": "acc", "precision": "prec", "recall": "rec", "auc": "AUC", "tpr_at_1pct_fpr": "TPR@1%",
         "tpr_at_0.1pct_fpr": "TPR@0.1%", "collision_ceiling": "ceiling", "overfitting_gap": "gap"}
LOWFPR_COLUMNS = LOWFPR_METRICS + ("collision_ceiling", "overfitting_gap")


def expects_table2(frame: pd.DataFrame) -> bool:
    """Sweeps with a Table II job (complete or failed), and sweeps where nothing completed, which still get
    the paper layout with every cell missing; not e.g. the overfitting sweep (SVM / KNN / NN attack models)."""
    return not (frame.status == "complete").any() or bool(len(socinf_paper_runs(frame)))


def applies(runs) -> bool:
    return expects_table2(runs_frame(runs))


def table2_long(frame: pd.DataFrame, metrics) -> pd.DataFrame:
    """Tidy rows: protocol, dataset, target, metric, mean, std, n_seeds, paper, diff."""
    paper, chosen, rows = paper_table2(), socinf_paper_runs(frame), []
    done = chosen[chosen.status == "complete"]
    for protocol in protocols(frame):
        for dataset in table_rows(chosen):
            for target in PAPER_TARGETS + tuple(sorted(set(chosen.target) - set(PAPER_TARGETS))):
                cell = done[(done.protocol == protocol) & (done.dataset == dataset) & (done.target == target)]
                for metric in metrics:
                    mean, std, n = mean_std(cell[metric]) if len(cell) else (math.nan, math.nan, 0)
                    ref = paper_value(paper, dataset, target, metric)
                    rows.append({"protocol": protocol, "dataset": dataset, "target": target, "metric": metric,
                                 "mean": mean, "std": std, "n_seeds": n, "paper": ref,
                                 "diff": mean - ref if ref is not None and n else None})
    return pd.DataFrame(rows)


def _cell_text(row, with_paper: bool) -> str:
    if not row["n_seeds"]:
        return MISSING
    text = f"{row['mean']:.3f} ± {row['std']:.3f}"
    if with_paper and row["paper"] is not None and not pd.isna(row["paper"]):
        text += f" (paper {row['paper']:.3f}, Δ {row['diff']:+.3f})"
    return text


def _wide(long: pd.DataFrame, protocol: str, metrics, with_paper: bool) -> pd.DataFrame:
    part = long[long.protocol == protocol]
    targets = list(dict.fromkeys(part.target))
    table = pd.DataFrame(index=list(dict.fromkeys(part.dataset)))
    for target in targets:
        for metric in metrics:
            sel = part[(part.target == target) & (part.metric == metric)].set_index("dataset")
            table[f"{TARGET_TITLES.get(target, target)} {SHORT.get(metric, metric)}"] = [
                _cell_text(sel.loc[d], with_paper) for d in table.index]
    table.index.name = "data"
    return table


def _markdown(long: pd.DataFrame, title: str, metrics, with_paper: bool) -> str:
    out = [f"# {title}", "", f"Mean ± std over seeds; paper values from {PAPER_SOURCE}." if with_paper
           else "Mean ± std over seeds.", ""]
    for protocol in dict.fromkeys(long.protocol):
        out += [f"## Protocol: {protocol}", "", markdown_table(_wide(long, protocol, metrics, with_paper)), ""]
        n = long[(long.protocol == protocol)].groupby(["dataset", "target"]).n_seeds.max()
        out += [f"Seeds per cell: {n.max() if len(n) else 0} at most; cells marked missing had no complete run.", ""]
    return "\n".join(out)


def _latex(long: pd.DataFrame, metrics, with_paper: bool) -> str:
    parts = []
    for protocol in dict.fromkeys(long.protocol):
        wide = _wide(long, protocol, metrics, with_paper).replace({"±": r"$\\pm$", "Δ": r"$\\Delta$"}, regex=True)
        caption = f"Membership inference, protocol {protocol} (mean $\\pm$ std over seeds)"
        parts.append(wide.to_latex(escape=False, caption=caption, label=f"tab:socinf-{protocol}").replace("%", r"\%"))
    return f"% paper values: {PAPER_SOURCE}\n" + "\n".join(parts)


def _write_table(long: pd.DataFrame, out_dir: Path, stem: str, title: str, metrics, with_paper: bool) -> list[Path]:
    paths = [out_dir / f"{stem}.{ext}" for ext in ("md", "csv", "tex")]
    atomic_write_text(paths[0], _markdown(long, title, metrics, with_paper))
    atomic_write_text(paths[1], long.to_csv(index=False))
    atomic_write_text(paths[2], _latex(long, metrics, with_paper))
    return paths


def print_table2(long: pd.DataFrame, console) -> None:
    """One rich table per protocol: a row per (dataset, target), our mean ± std and the paper's value."""
    for protocol in dict.fromkeys(long.protocol):
        part = long[long.protocol == protocol]
        table = Table(title=f"Table II — SocInf (xgboost attack), protocol {protocol}: ours (paper)")
        for name in ("data", "target", *[SHORT[m] for m in dict.fromkeys(part.metric)]):
            table.add_column(name, justify="left" if name in ("data", "target") else "right")
        for (dataset, target), cell in part.groupby(["dataset", "target"], sort=False):
            texts = []
            for _, r in cell.iterrows():
                ours = f"{r['mean']:.3f}±{r['std']:.3f}" if r["n_seeds"] else "[red]missing[/red]"
                texts.append(ours + (f" ({r['paper']:.3f})" if r["paper"] is not None and not pd.isna(r["paper"]) else ""))
            table.add_row(dataset, target, *texts)
        console.print(table)


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    main = table2_long(frame, PAPER_METRICS)
    lowfpr = table2_long(frame, LOWFPR_COLUMNS)
    paths = _write_table(main, out_dir, "table2", "Table II — SocInf accuracy, precision, recall", PAPER_METRICS, True)
    paths += _write_table(lowfpr, out_dir, "table2_lowfpr",
                          "Table II, continued — AUC, TPR at low FPR, collision ceiling, target overfitting gap",
                          LOWFPR_COLUMNS, False)
    print_table2(main, console)
    return paths
