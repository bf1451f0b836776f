"""Section: every attack the sweep ran, cell by cell — SocInf, Shadow training (paper Figs. 8-10) and the
threshold attacks (Song & Mittal 2021; Yeom et al. 2018) scored on the same target answers.

compare_methods.{md,tex,csv}: per protocol, rows are the sweep's cells (dataset / target), column groups
its methods, sub-columns AUC / TPR@1% / TPR@0.1% (the CSV also holds accuracy, precision, recall and the
seed and job counts). A method is named with its attack model when the sweep ran several. Only
undefended jobs (the defenses section covers the rest). One seed: the value alone; two or more:
mean ± std. fig8_accuracy_<protocol>, fig9_precision_..., fig10_recall_...: SocInf vs. Shadow bars per
cell of the paper at the paper's sizes (``frame.paper_cells``), only for sweeps that ran Shadow there; a bar
reads "missing" only where that method's jobs all failed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.protocol import PROTOCOL_NAMES
from socinf.io import atomic_write_text
from socinf.report import tables
from socinf.report.figures import grouped_bars
from socinf.report.frame import LOW_FPR_NOTE, PAPER_ROWS, PAPER_TARGETS, mean_std, paper_cells, runs_frame

COMPARE_METRICS = ("accuracy", "precision", "recall", "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")
SHOWN = {"auc": "AUC", "tpr_at_1pct_fpr": "TPR@1%", "tpr_at_0.1pct_fpr": "TPR@0.1%"}
FIGURES = (("fig8", "accuracy"), ("fig9", "precision"), ("fig10", "recall"))
KEYS = ["protocol", "dataset", "target", "method"]


def _undefended(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.defense == "none"]


def applies(runs) -> bool:
    frame = _undefended(runs_frame(runs))
    return bool(len(frame)) and ((frame.method == "shadow").any() or any(bool(b) for b in frame.baselines))


def method_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Long rows (protocol, dataset, target, method, seed, status, metrics) for every undefended job and
    each threshold attack it scored (one row per seed: the threshold attacks see the same answers)."""
    jobs = _undefended(frame)
    rows = []
    for _, run in jobs.iterrows():
        cell = {"protocol": run.protocol, "dataset": run.dataset, "target": run.target, "seed": run.seed}
        name = run.method_label if isinstance(run.method_label, str) else run.method  # e.g. "socinf (svm)"
        rows.append({**cell, "method": name, "status": run.status, **{m: run[m] for m in COMPARE_METRICS}})
        for baseline, metrics in (run.baselines or {}).items():
            rows.append({**cell, "method": baseline, "status": "complete",
                         **{m: metrics.get(m) for m in COMPARE_METRICS}})
    long = pd.DataFrame(rows, columns=[*KEYS, "seed", "status", *COMPARE_METRICS])
    done = long[long.status == "complete"].drop_duplicates(KEYS + ["seed"])
    return pd.concat([done, long[long.status != "complete"]], ignore_index=True)


def _order(values, first) -> list:
    found = set(values)
    return [v for v in first if v in found] + sorted(found - set(first), key=str)


def summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per cell and method the sweep ran: mean, std and seed count of each metric, and its job count."""
    rows = []
    attacks = [m for m in dict.fromkeys(long.method) if m.startswith(("socinf", "shadow"))]
    for protocol in _order(long.protocol, PROTOCOL_NAMES):
        for dataset in _order(long.dataset, PAPER_ROWS):
            for target in _order(long.target, PAPER_TARGETS):
                cell = long[(long.protocol == protocol) & (long.dataset == dataset) & (long.target == target)]
                for method in _order(cell.method, sorted(attacks, key=lambda m: (not m.startswith("socinf"), m))):
                    part = cell[cell.method == method]
                    done = part[part.status == "complete"]
                    row = {"protocol": protocol, "dataset": dataset, "target": target, "method": method,
                           "jobs": len(part), "n_seeds": int(done.seed.nunique())}
                    for m in COMPARE_METRICS:
                        mean, std, _ = mean_std(done[m])
                        row.update({m: mean, f"{m}_std": std})
                    rows.append(row)
    return pd.DataFrame(rows)


def _grouped(part: pd.DataFrame) -> pd.DataFrame:
    index = part.set_index(["cell", "method"])

    def text(cell, method, sub):
        metric = {v: k for k, v in SHOWN.items()}[sub]
        if (cell, method) not in index.index:
            return tables.NOT_RUN
        r = index.loc[(cell, method)]
        return tables.value_text(r[metric], r[f"{metric}_std"], r.n_seeds, r.jobs)
    return tables.grouped(list(dict.fromkeys(part.cell)), list(dict.fromkeys(part.method)), list(SHOWN.values()), text)


def _write_tables(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    title = "SocInf, Shadow training and threshold attacks on the same targets"
    md = [f"# {title}", "", "AUC and TPR at a realised FPR <= 1% / 0.1% (no threshold needed). " + LOW_FPR_NOTE + " "
          + tables.legend(table.n_seeds, table.jobs), ""]
    tex = [f"% {title}"]
    for protocol in dict.fromkeys(table.protocol):
        part = table[table.protocol == protocol].assign(cell=lambda t: t.dataset + " / " + t.target)
        caption = f"{title}, protocol {protocol} ({tables.seeds_note(part.n_seeds)})"
        wide = _grouped(part)
        md += [f"## {caption}", "", tables.markdown(wide, "cell"), ""]
        tex.append(tables.latex(wide, "cell", caption, f"tab:socinf-methods-{protocol}"))
    paths = [out_dir / "compare_methods.md", out_dir / "compare_methods.csv", out_dir / "compare_methods.tex"]
    atomic_write_text(paths[0], "\n".join(md))
    atomic_write_text(paths[1], table.to_csv(index=False))
    atomic_write_text(paths[2], "\n".join(tex))
    return paths


def _figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    paths = []
    for protocol in dict.fromkeys(table.protocol):
        part = table[table.protocol == protocol].assign(cell=lambda t: t.dataset + " / " + t.target)
        cells = list(dict.fromkeys(part.cell))
        methods = [m for m in dict.fromkeys(part.method) if m.startswith(("socinf", "shadow"))]
        for fig, metric in FIGURES:
            series, missing = {}, {}
            for method in methods:
                sel = part[part.method == method].set_index("cell").reindex(cells)
                series[method] = (list(sel[metric]), list(sel[f"{metric}_std"].fillna(0.0)))
                missing[method] = list((sel.jobs > 0) & (sel.n_seeds == 0))
            paths.append(grouped_bars(cells, series, f"attack {metric}",
                                      f"Fig. {fig[3:]} — SocInf vs. Shadow, {metric}, protocol {protocol} "
                                      f"({tables.seeds_note(part.n_seeds)}; error bars: std over seeds)",
                                      out_dir / f"{fig}_{metric}_{protocol}.png", missing))
    return paths


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    table = summary(method_rows(frame))
    paths = _write_tables(table, out_dir)
    paper = paper_cells(frame)
    if (paper.method == "shadow").any():  # the paper's Figs. 8-10: its cells at its sizes only
        paths += _figures(summary(method_rows(paper)), out_dir)
    return paths
