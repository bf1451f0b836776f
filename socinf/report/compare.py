"""Section: SocInf vs. Shadow training and the threshold attacks on every cell (paper Figs. 8-10).

compare_methods.{md,csv}: per protocol, dataset and target, each method's accuracy, AUC and
TPR at 1% FPR (mean over seeds; threshold attacks averaged over the distinct seeds that scored them).
fig8_accuracy_<protocol>.png, fig9_precision_..., fig10_recall_...: SocInf vs. Shadow bars per cell.
Applies when the sweep holds Shadow runs or threshold-baseline scores.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.io import atomic_write_text
from socinf.report.figures import grouped_bars
from socinf.report.frame import (PAPER_TARGETS, markdown_table, mean_std, protocols, runs_frame,
                                     table_rows)

COMPARE_METRICS = ("accuracy", "precision", "recall", "auc", "tpr_at_1pct_fpr")
FIGURES = (("fig8", "accuracy"), ("fig9", "precision"), ("fig10", "recall"))


def applies(runs) -> bool:
    frame = runs_frame(runs)
    return bool(len(frame)) and ((frame.method == "shadow").any() or any(bool(b) for b in frame.baselines))


def method_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Long rows (protocol, dataset, target, method, seed, metrics): SocInf, Shadow and each threshold attack."""
    done = frame[(frame.status == "complete") & (frame.defense == "none") & (frame.attack_model == "xgboost")]
    rows = []
    for _, run in done.iterrows():
        cell = {"protocol": run.protocol, "dataset": run.dataset, "target": run.target, "seed": run.seed}
        rows.append({**cell, "method": run.method, **{m: run[m] for m in COMPARE_METRICS}})
        for name, metrics in (run.baselines or {}).items():
            rows.append({**cell, "method": name, **{m: metrics.get(m) for m in COMPARE_METRICS}})
    long = pd.DataFrame(rows)  # a threshold attack scored by both methods' runs of one seed counts once
    return long.drop_duplicates(["protocol", "dataset", "target", "method", "seed"]) if len(long) else long


def summary(long: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    methods = ["socinf", "shadow"] + sorted(set(long.method) - {"socinf", "shadow"}) if len(long) else ["socinf", "shadow"]
    for protocol in protocols(frame):
        for dataset in table_rows(frame):
            for target in PAPER_TARGETS:
                for method in methods:
                    part = long[(long.protocol == protocol) & (long.dataset == dataset) & (long.target == target)
                                & (long.method == method)] if len(long) else long
                    row = {"protocol": protocol, "dataset": dataset, "target": target, "method": method}
                    for m in COMPARE_METRICS:
                        mean, std, n = mean_std(part[m]) if len(part) else (float("nan"), float("nan"), 0)
                        row.update({m: mean, f"{m}_std": std, "n_seeds": n})
                    rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    out = ["# SocInf vs. Shadow vs. threshold attacks", "",
           "Mean over seeds per cell; `missing` = no complete run. TPR@1% is at a realised FPR <= 1%.", ""]
    for protocol in dict.fromkeys(table.protocol):
        part = table[(table.protocol == protocol)].copy()
        part["cell"] = part.dataset + " / " + part.target
        show = part.set_index(["cell", "method"])
        lines = pd.DataFrame(index=[f"{c} · {m}" for c, m in show.index])
        for m, title in (("accuracy", "acc"), ("auc", "AUC"), ("tpr_at_1pct_fpr", "TPR@1%FPR")):
            lines[title] = [("missing" if n == 0 else f"{v:.3f}") for v, n in zip(show[m], show.n_seeds)]
        lines["seeds"] = list(show.n_seeds)
        lines.index.name = "cell · method"
        out += [f"## Protocol: {protocol}", "", markdown_table(lines), ""]
    return "\n".join(out)


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    table = summary(method_rows(frame), frame)
    paths = [out_dir / "compare_methods.md", out_dir / "compare_methods.csv"]
    atomic_write_text(paths[0], _markdown(table))
    atomic_write_text(paths[1], table.to_csv(index=False))
    for protocol in dict.fromkeys(table.protocol):
        part = table[table.protocol == protocol]
        cells = list(dict.fromkeys(part.dataset + " / " + part.target))
        for fig, metric in FIGURES:
            series = {}
            for method in ("socinf", "shadow"):
                sel = part[part.method == method]
                series[method] = (list(sel[metric]), list(sel[f"{metric}_std"]))
            paths.append(grouped_bars(cells, series, f"attack {metric}",
                                      f"Fig. {fig[3:]} — SocInf vs. Shadow, {metric}, protocol {protocol}",
                                      out_dir / f"{fig}_{metric}_{protocol}.png"))
    return paths
