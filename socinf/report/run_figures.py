"""The figures of one audit: the ROC of every attack on log-log axes, and the strongest attack's scores.

Low false-positive rates are where membership inference matters (Carlini et al. 2022), hence the log axes;
a rate of 0 is drawn at half of one record (1 / (2 n)) so it stays on the axes. A panel holds at most
``MAX_CURVES`` curves: the attacks with the highest AUC (and the strongest at 1% FPR); the rest are in the
report's table. The legend sits outside the axes, one short name per curve. Every curve and bar set carries
a ``gid`` (``roc:<name>``, ``hist:members`` / ``hist:nonmembers``), so the SVG a report embeds names what it
draws. The functions return the matplotlib Figure; ``socinf.report.figures.save`` / ``svg`` write it.
"""
from __future__ import annotations

import numpy as np

MAX_CURVES = 8
HIST_BINS = 30


def roc_drawn(membership: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (FPR, TPR) points a log-log ROC draws: sklearn's ROC with zeros lifted to 1 / (2 n)."""
    from sklearn.metrics import roc_curve

    membership = np.asarray(membership, dtype=int)
    fpr, tpr, _ = roc_curve(membership, np.asarray(scores, dtype=np.float64))
    return np.maximum(fpr, 0.5 / max((membership == 0).sum(), 1)), np.maximum(tpr, 0.5 / max(membership.sum(), 1))


def shown_curves(aucs: dict[str, float], keep=(), max_curves: int = MAX_CURVES) -> list[str]:
    """The names a panel draws: ``keep`` first (e.g. the strongest at 1% FPR), then by AUC, at most ``max_curves``."""
    order = [n for n in keep if n in aucs]
    order += [n for n in sorted(aucs, key=lambda n: -np.nan_to_num(aucs[n], nan=-1.0)) if n not in order]
    return order[:max_curves]


def roc_panel(ax, curves: dict[str, tuple[np.ndarray, np.ndarray]], labels: dict[str, str] | None = None) -> None:
    """One log-log ROC panel: a curve per name (``curves``: name -> (membership, scores)) and chance."""
    from sklearn.metrics import roc_auc_score

    floor = 1.0
    for name, (membership, scores) in curves.items():
        fpr, tpr = roc_drawn(membership, scores)
        floor = min(floor, fpr.min(), tpr.min())
        auc = roc_auc_score(membership, scores) if len(set(np.asarray(membership).tolist())) == 2 else float("nan")
        (line,) = ax.plot(fpr, tpr, lw=1.2, label=f"{(labels or {}).get(name, name)} ({auc:.3f})")
        line.set_gid(f"roc:{name}")
    grid = np.logspace(np.log10(min(floor, 0.01)), 0, 50)
    ax.plot(grid, grid, color="grey", ls=":", lw=0.9, label="chance")
    ax.set(xscale="log", yscale="log", xlim=(min(floor, 0.01), 1), ylim=(min(floor, 0.01), 1.02),
           xlabel="false positive rate", ylabel="true positive rate")
    ax.axvline(0.01, color="grey", lw=0.6, ls="--")


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, keep=()):
    """The audit's ROC: at most ``MAX_CURVES`` of ``curves``, legend (name and AUC) outside the axes on the right."""
    from sklearn.metrics import roc_auc_score

    from socinf.report.figures import plt

    aucs = {n: roc_auc_score(m, s) if len(set(np.asarray(m).tolist())) == 2 else float("nan")
            for n, (m, s) in curves.items()}
    shown = shown_curves(aucs, keep)
    fig, ax = plt.subplots(figsize=(7.2, 4.2), layout="constrained")
    roc_panel(ax, {n: curves[n] for n in shown})
    hidden = len(curves) - len(shown)
    ax.set_title(title + (f" ({hidden} more in the table)" if hidden else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="attack (AUC)", title_fontsize=8)
    return fig


def histogram_figure(membership: np.ndarray, scores: np.ndarray, name: str):
    """The strongest attack's scores: members against non-members, shared bins, densities."""
    from socinf.report.figures import plt

    membership, scores = np.asarray(membership, dtype=int), np.asarray(scores, dtype=np.float64)
    edges = np.histogram_bin_edges(scores, bins=HIST_BINS)
    fig, ax = plt.subplots(figsize=(7.2, 3.4), layout="constrained")
    for side, label, color in ((1, "members", "#c0392b"), (0, "non-members", "#2c7fb8")):
        _, _, bars = ax.hist(scores[membership == side], bins=edges, density=True, alpha=0.55, color=color,
                             label=f"{label} ({int((membership == side).sum())})")
        for bar in bars:
            bar.set_gid(f"hist:{label.replace('-', '')}")
    ax.set(xlabel=f"{name} score (higher: more likely a member)", ylabel="density")
    ax.set_title(f"Scores of the strongest attack, {name}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def roc_grid(panels: dict[tuple[str, str], dict], rows: list[str], cols: list[str], title: str,
             path: Path) -> tuple[Path, dict]:
    """Log-log ROC small multiples, one panel per (row, col) cell (e.g. dataset x target), each with at most
    ``run_figures.MAX_CURVES`` curves (the highest AUC) and its legend outside on the right. Returns the path
    and, per cell, the names drawn."""
    from sklearn.metrics import roc_auc_score

    from socinf.report.figures import plt, save

    fig, axes = plt.subplots(len(rows), len(cols), figsize=(6.4 * len(cols), 3.6 * len(rows)), squeeze=False,
                             layout="constrained")
    drawn = {}
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            ax, curves = axes[i][j], panels.get((row, col))
            if curves:
                aucs = {n: roc_auc_score(m, s) for n, (m, s) in curves.items()}
                drawn[(row, col)] = shown_curves(aucs)
                roc_panel(ax, {n: curves[n] for n in drawn[(row, col)]})
                hidden = len(curves) - len(drawn[(row, col)])
                ax.set_title(f"{row} / {col}" + (f" (+{hidden} in the table)" if hidden else ""), fontsize=9)
                ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="AUC", title_fontsize=6)
            else:  # an empty panel: the cell's jobs all failed; no panel: the sweep did not run it
                ax.axis("off")
                why = "missing: no job completed" if (row, col) in panels else "not in this sweep"
                ax.text(0.5, 0.5, f"{row} / {col}:\n{why}", ha="center", va="center", fontsize=8)
    fig.suptitle(title)
    return save(fig, path), drawn
