"""Section: the paper's Table II (SocInf, XGBoost attack model, no defense) for the cells this sweep ran.

Per protocol, rows are datasets and column groups targets (acc / prec / rec): our values, the paper's,
and ours minus the paper's as three tables, each as Markdown (table2.md), booktabs LaTeX with grouped
headers (table2.tex) and tidy CSV (table2.csv). One seed prints the value alone, two or more mean ±
std; the seed count is stated in every caption. A cell whose jobs all failed reads "missing"; a cell
the sweep did not ask for stays blank. table2_lowfpr.* adds AUC, TPR at 1% / 0.1% FPR, the collision
ceiling and the target's gap. paper_decoded.{md,tex} and the paper_* columns of table2.csv give, per
cell, the member share, FPR and balanced accuracy the paper's triple implies (``socinf.report.decode``)
next to our balanced accuracy. The terminal shows acc / prec / rec with the paper's, AUC and TPR@1%.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from rich.table import Table

from socinf.protocol import PROTOCOL_NAMES
from socinf.io import atomic_write_text
from socinf.report import tables
from socinf.report.decode import decoded_paper
from socinf.report.frame import (LOW_FPR_NOTE, LOWFPR_METRICS, PAPER_METRICS, PAPER_ROWS, PAPER_SOURCE, PAPER_TARGETS,
                                 TARGET_TITLES, mean_std, paper_table2, paper_value, runs_frame, socinf_paper_runs)

SHORT = {"accuracy": "acc", "precision": "prec", "recall": "rec", "auc": "AUC", "tpr_at_1pct_fpr": "TPR@1%",
         "tpr_at_0.1pct_fpr": "TPR@0.1%", "collision_ceiling": "ceiling", "overfitting_gap": "gap"}
LOWFPR_COLUMNS = LOWFPR_METRICS + ("collision_ceiling", "overfitting_gap")
CELL = ["protocol", "dataset", "target"]


def applies(runs) -> bool:
    """Only sweeps holding a Table II job, complete or failed (not e.g. the overfitting sweep)."""
    return bool(len(socinf_paper_runs(runs_frame(runs))))


def _ordered(values, first) -> list:
    found = set(values)
    return [v for v in first if v in found] + sorted(found - set(first))


def table2_long(frame: pd.DataFrame, metrics) -> pd.DataFrame:
    """Tidy rows for every cell the sweep ran: protocol, dataset, target, metric, mean, std, n_seeds, jobs,
    paper, diff."""
    chosen, paper, rows = socinf_paper_runs(frame), paper_table2(), []
    frame_cells = chosen.groupby(CELL, sort=False)
    for protocol in _ordered(chosen.protocol, PROTOCOL_NAMES):
        for dataset in _ordered(chosen.dataset, PAPER_ROWS):
            for target in _ordered(chosen.target, PAPER_TARGETS):
                if (protocol, dataset, target) not in frame_cells.groups:
                    continue
                cell = frame_cells.get_group((protocol, dataset, target))
                done = cell[cell.status == "complete"]
                for metric in metrics:
                    mean, std, n = mean_std(done[metric])
                    ref = paper_value(paper, dataset, target, metric)
                    rows.append({"protocol": protocol, "dataset": dataset, "target": target, "metric": metric,
                                 "mean": mean, "std": std, "n_seeds": n, "jobs": len(cell), "paper": ref,
                                 "diff": mean - ref if ref is not None and n else math.nan})
    return pd.DataFrame(rows, columns=[*CELL, "metric", "mean", "std", "n_seeds", "jobs", "paper", "diff"])


def ours_decoded(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell: our balanced accuracy (1 + advantage) / 2 over seeds and our evaluation member share."""
    done = socinf_paper_runs(frame)
    done = done[done.status == "complete"]
    rows = []
    for (protocol, dataset, target), cell in done.groupby(CELL, sort=False):
        mean, std, n = mean_std((1 + cell.advantage.astype(float)) / 2)
        rows.append({"protocol": protocol, "dataset": dataset, "target": target, "ours_balanced_accuracy": mean,
                     "ours_balanced_accuracy_std": std, "ours_member_share": cell.eval_member_share.mean()})
    return pd.DataFrame(rows, columns=[*CELL, "ours_balanced_accuracy", "ours_balanced_accuracy_std",
                                       "ours_member_share"])


def _grid(part: pd.DataFrame, metrics, text) -> pd.DataFrame:
    """Rows: datasets; groups: targets; sub-columns: metrics; ``text(row)`` per cell, blank if not run."""
    index = part.set_index(["dataset", "target", "metric"])
    groups = [TARGET_TITLES.get(t, t) for t in dict.fromkeys(part.target)]
    titles = {TARGET_TITLES.get(t, t): t for t in dict.fromkeys(part.target)}
    subs = {SHORT.get(m, m): m for m in metrics}

    def cell(dataset, group, sub):
        key = (dataset, titles[group], subs[sub])
        return text(index.loc[key]) if key in index.index else tables.NOT_RUN
    return tables.grouped(list(dict.fromkeys(part.dataset)), groups, list(subs), cell)


def _ours(r) -> str:
    return tables.value_text(r["mean"], r["std"], r["n_seeds"], r["jobs"])


def _paper(r) -> str:
    return "—" if pd.isna(r["paper"]) else f"{r['paper']:.3f}"


def _diff(r) -> str:
    """Our mean minus the paper's value (no ±: the paper gives no spread)."""
    if pd.isna(r["paper"]):
        return "—"
    return tables.value_text(r["diff"], 0.0, min(r["n_seeds"], 1), r["jobs"], signed=True)


def _versions(long: pd.DataFrame, protocol: str, with_paper: bool):
    """(title, table) per version of one protocol's table: ours, then the paper's and the difference."""
    part = long[long.protocol == protocol]
    metrics = list(dict.fromkeys(part.metric))
    note = tables.seeds_note(part.n_seeds)
    yield f"Ours, protocol {protocol} ({note})", _grid(part, metrics, _ours)
    if with_paper:
        yield f"The paper's values, its own protocol ({PAPER_SOURCE})", _grid(part, metrics, _paper)
        yield f"Ours − paper, protocol {protocol} (difference of our mean)", _grid(part, metrics, _diff)


def _write_table(long: pd.DataFrame, out_dir: Path, stem: str, title: str, with_paper: bool) -> list[Path]:
    note = "" if with_paper else " " + LOW_FPR_NOTE
    md = [f"# {title}", "", tables.legend(long.n_seeds, long.jobs) + note, ""]
    tex = [f"% {title}; paper values: {PAPER_SOURCE}"]
    for protocol in dict.fromkeys(long.protocol):
        for i, (caption, table) in enumerate(_versions(long, protocol, with_paper)):
            md += [f"## {caption}", "", tables.markdown(table, "data"), ""]
            tex.append(tables.latex(table, "data", f"{title} — {caption}", f"tab:{stem}-{protocol}-{i}"))
    paths = [out_dir / f"{stem}.{ext}" for ext in ("md", "csv", "tex")]
    atomic_write_text(paths[0], "\n".join(md))
    atomic_write_text(paths[2], "\n".join(tex))
    return paths


def decoded_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every paper cell's implied member share, FPR and balanced accuracy, and ours per protocol run."""
    paper, ours = decoded_paper(), ours_decoded(frame)
    for protocol in dict.fromkeys(ours.protocol):
        mine = ours[ours.protocol == protocol].set_index(["dataset", "target"]).ours_balanced_accuracy
        paper[f"ours_balanced_accuracy_{protocol}"] = [mine.get((d, t), math.nan)
                                                       for d, t in zip(paper.dataset, paper.target)]
    return paper


def _write_decoded(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    table = decoded_table(frame)
    shown = table.set_index(["dataset", "target"])
    names = {"paper_accuracy": ("paper", "acc"), "paper_precision": ("paper", "prec"),
             "paper_recall": ("paper", "rec"), "paper_member_share": ("implied", "π members"),
             "paper_fpr": ("implied", "FPR"), "paper_balanced_accuracy": ("implied", "bal. acc")}
    names.update({c: ("ours", f"bal. acc ({c.rsplit('_', 1)[1]})") for c in shown.columns if c.startswith("ours_")})
    wide = pd.DataFrame({names[c]: [("" if pd.isna(v) else f"{v:.3f}") for v in shown[c]] for c in names},
                        index=[f"{d} / {t}" for d, t in shown.index])
    title = "The paper's Table II decoded: member share and FPR implied by each (acc, prec, rec) triple"
    text = ["# " + title, "", "pi = (1 - a) / (1 - 2r + r/p), FPR = pi r (1 - p) / (p (1 - pi)); implied "
            "balanced accuracy (TPR + 1 - FPR) / 2 is what a balanced evaluation set (as ours: as many "
            "non-members as members) would show. Ours: (1 + advantage) / 2 of our decisions, mean over seeds.",
            "", tables.markdown(wide, "cell"), ""]
    paths = [out_dir / "paper_decoded.md", out_dir / "paper_decoded.tex"]
    atomic_write_text(paths[0], "\n".join(text))
    atomic_write_text(paths[1], tables.latex(wide, "cell", title, "tab:socinf-decoded"))
    return paths


def _terminal(r) -> str:
    """Mean, then ±std (two or more seeds), then the paper's value, one per line: fits 80 columns."""
    text = _ours(r).replace(" ± ", "\n±")
    return text + (f"\n({r['paper']:.3f})" if "paper" in r and not pd.isna(r["paper"]) else "")


def print_table2(long: pd.DataFrame, lowfpr: pd.DataFrame, decoded: pd.DataFrame, console) -> None:
    """Per protocol: acc / prec / rec with the paper's value, the paper's implied balanced acc, AUC, TPR@1%."""
    implied = decoded.set_index(["dataset", "target"]).paper_balanced_accuracy
    for protocol in dict.fromkeys(long.protocol):
        part, low = long[long.protocol == protocol], lowfpr[lowfpr.protocol == protocol]
        table = Table(title=f"Table II — SocInf (xgboost attack), protocol {protocol}, "
                            f"{tables.seeds_note(part.n_seeds)}: ours (paper)",
                      caption="paper bal. acc: the balanced accuracy the paper's triple implies "
                              "(paper_decoded.md). Our evaluation sets are balanced, so our acc is itself a "
                              "balanced accuracy.")
        for name in ("cell", "acc", "prec", "rec", "paper bal. acc", "AUC", "TPR@1%FPR"):
            table.add_column(name, justify="left" if name == "cell" else "right")
        for (dataset, target), cell in part.groupby(["dataset", "target"], sort=False):
            extra = low[(low.dataset == dataset) & (low.target == target)].set_index("metric")
            bal = implied.get((dataset, target))
            table.add_row(f"{dataset}\n{target}", *[_terminal(r) for _, r in cell.iterrows()],
                          "—" if bal is None else f"{bal:.3f}",
                          *[_terminal(extra.loc[m].drop("paper")) for m in ("auc", "tpr_at_1pct_fpr")])
        console.print(table)


def write(runs, out_dir: Path, console) -> list[Path]:
    frame = runs_frame(runs)
    main, lowfpr = table2_long(frame, PAPER_METRICS), table2_long(frame, LOWFPR_COLUMNS)
    decoded = decoded_table(frame)
    paths = _write_table(main, out_dir, "table2", "Table II — SocInf accuracy, precision, recall", True)
    implied = decoded[["dataset", "target", "paper_member_share", "paper_fpr", "paper_balanced_accuracy"]]
    csv = main.merge(implied, on=["dataset", "target"], how="left").merge(ours_decoded(frame), on=CELL, how="left")
    atomic_write_text(paths[1], csv.to_csv(index=False))
    low = _write_table(lowfpr, out_dir, "table2_lowfpr", "Table II, continued — AUC, TPR at low FPR, collision "
                       "ceiling, target overfitting gap", False)
    atomic_write_text(low[1], lowfpr.to_csv(index=False))
    print_table2(main, lowfpr, decoded, console)
    return paths + low + _write_decoded(frame, out_dir)
