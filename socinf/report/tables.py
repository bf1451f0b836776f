"""Paper-ready tables: one cell text rule, and a two-level table as Markdown or booktabs LaTeX.

A table here is a DataFrame whose columns are a two-level MultiIndex (group, sub-column), e.g.
(target, acc/prec/rec) or (method, AUC/TPR@1%/TPR@0.1%), and whose index holds the row labels.
LaTeX gets one header row per level: ``\\multicolumn`` over each group, ``\\cmidrule`` under it, then
the sub-columns; ``\\toprule`` / ``\\midrule`` / ``\\bottomrule`` from booktabs.
"""
from __future__ import annotations

import math

import pandas as pd

MISSING = "missing"  # every job of this sweep for the cell failed
NOT_RUN = ""  # the sweep did not ask for the cell
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def value_text(mean: float, std: float, n: int, jobs: int = 1, signed: bool = False) -> str:
    """``0.515`` for one seed, ``0.515 ± 0.012`` for two or more; ``missing`` when the cell's jobs all failed."""
    if not n:
        return MISSING if jobs else NOT_RUN
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    text = f"{mean:+.3f}" if signed else f"{mean:.3f}"
    return f"{text} ± {std:.3f}" if n >= 2 else text


def seeds_note(counts) -> str:
    """How many seeds the table's cells averaged, stated once for the caption."""
    counts = sorted({int(c) for c in counts if c})
    if not counts:
        return "no complete job"
    if counts == [1]:
        return "one seed per cell: single values, no std"
    if len(counts) == 1:
        return f"mean ± std over {counts[0]} seeds per cell"
    return f"mean ± std over {counts[0]}–{counts[-1]} seeds per cell ; one seed: the value alone; n_seeds in the CSV"


def legend(n_seeds, jobs) -> str:
    """What a blank cell means, and "missing" when some cell's jobs all failed (said only then)."""
    text = "Blank: a cell or method this sweep did not run."
    if any(j and not n for n, j in zip(n_seeds, jobs)):
        text += f" {MISSING}: every job of this sweep for it failed (see missing.md)."
    return text


def grouped(rows: list[str], groups: list[str], subs: list[str], text) -> pd.DataFrame:
    """A two-level table with ``text(row, group, sub)`` in each cell."""
    columns = pd.MultiIndex.from_tuples([(g, s) for g in groups for s in subs])
    return pd.DataFrame([[text(r, g, s) for g, s in columns] for r in rows], index=rows, columns=columns)


def markdown(table: pd.DataFrame, index_name: str) -> str:
    """GitHub Markdown (one header row: ``group sub``)."""
    header = [index_name] + [f"{g} {s}" for g, s in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    lines += ["| " + " | ".join([str(i), *map(str, row)]) + " |" for i, row in zip(table.index, table.values)]
    return "\n".join(lines)


def escape(text) -> str:
    out = "".join(LATEX_SPECIAL.get(c, c) for c in str(text))
    return out.replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("−", "$-$").replace("π", r"$\pi$")


def latex(table: pd.DataFrame, index_name: str, caption: str, label: str) -> str:
    """A booktabs table with a grouped header: \\multicolumn per group, \\cmidrule under each."""
    groups = list(dict.fromkeys(g for g, _ in table.columns))
    widths = [sum(1 for g2, _ in table.columns if g2 == g) for g in groups]
    top, rules, start = [""], [], 2
    for group, width in zip(groups, widths):
        top.append(rf"\multicolumn{{{width}}}{{c}}{{{escape(group)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
        start += width
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{escape(caption)}}}", rf"\label{{{label}}}",
             r"\begin{tabular}{l" + "r" * len(table.columns) + "}", r"\toprule",
             " & ".join(top) + r" \\", " ".join(rules),
             " & ".join([escape(index_name)] + [escape(s) for _, s in table.columns]) + r" \\", r"\midrule"]
    lines += [" & ".join([escape(i), *map(escape, row)]) + r" \\" for i, row in zip(table.index, table.values)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)
