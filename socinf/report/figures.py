"""Plot helpers (matplotlib, Agg): ECDF panels, grouped bars, log-log ROC. Each returns the file's path.

Figures are PNG by default; ``set_format("pdf")`` (``socinf report --format pdf``) makes every figure of the
report a vector PDF (the suffix of the path a section asks for is replaced).
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from socinf.io import atomic_write_bytes  # noqa: E402

FORMATS = ("png", "pdf")
_format = {"value": "png"}
PANELS = (("accuracy", "(a) attack accuracy"), ("precision", "(b) attack precision"), ("recall", "(c) attack recall"))


def slug(label: str) -> str:
    """A file-name part from a label: "Tweet(4)" -> "tweet4"."""
    return "".join(c for c in label if c.isalnum()).lower()


def set_format(fmt: str) -> None:
    """The file format of every figure saved from now on: png or pdf."""
    if fmt not in FORMATS:
        from socinf.errors import ConfigError

        raise ConfigError(f"report: --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    _format["value"] = fmt


def save(fig, path: Path) -> Path:
    fmt = _format["value"]
    path = Path(path).with_suffix(f".{fmt}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def ecdf_panels(groups: dict[str, dict[str, np.ndarray]], title: str, path: Path) -> Path:
    """Three panels (accuracy, precision, recall): one empirical CDF per group over its runs."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (metric, label) in zip(axes, PANELS):
        for name, values in groups.items():
            v = np.sort(np.asarray(values[metric], dtype=float))
            v = v[~np.isnan(v)]
            if not len(v):  # keep the group in the legend so a missing one is seen, not dropped
                ax.plot([], [], ls="none", label=name)
            else:
                ax.step(np.concatenate([[v[0]], v]), np.arange(len(v) + 1) / len(v), where="post",
                        label=f"{name} (n={len(v)}, mean {v.mean():.3f})")
        ax.axvline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(xlabel=label.split(" ", 1)[1], ylabel="empirical CDF", title=label, xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    return save(fig, path)


def grouped_bars(cells: list[str], series: dict[str, tuple[list[float], list[float]]], ylabel: str, title: str,
                 path: Path, missing: dict[str, list[bool]] | None = None) -> Path:
    """Bars per cell, one bar per series (mean with std error bar). A NaN bar is left out, or marked
    'missing' where ``missing[name]`` says the sweep ran that bar's jobs and none completed."""
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cells) + 2), 4))
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(cells))
    for i, (name, (means, stds)) in enumerate(series.items()):
        m, s = np.asarray(means, float), np.asarray(stds, float)
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, np.nan_to_num(m), width, yerr=np.nan_to_num(s), capsize=2, label=name)
        flags = np.asarray((missing or {}).get(name, [False] * len(cells)), bool)
        for p in pos[np.isnan(m) & flags]:
            ax.text(p, 0.02, "missing", rotation=90, ha="center", va="bottom", fontsize=7, color="red")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, cells, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, title=title, ylim=(0, 1))
    ax.legend(fontsize=8)
    return save(fig, path)


def _roc_panel(ax, curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> None:
    """One log-log ROC panel: a curve per method with its AUC in the legend, and the chance diagonal."""
    floor = 1e-3
    for name, (member, score) in curves.items():
        member, score = np.asarray(member), np.asarray(score, float)
        fpr, tpr, _ = roc_curve(member, score)
        floor = min(floor, 1.0 / max((member == 0).sum(), 1))
        ax.plot(np.maximum(fpr, floor / 2), np.maximum(tpr, floor / 2), lw=1.1,
                label=f"{name} (AUC {roc_auc_score(member, score):.3f})")
    grid = np.logspace(-4, 0, 50)
    ax.plot(grid, grid, color="grey", ls=":", lw=0.9, label="chance")
    ax.set(xscale="log", yscale="log", xlim=(floor / 2, 1), ylim=(floor / 2, 1), title=title)
    ax.legend(fontsize=6, loc="lower right")


def roc_grid(panels: dict[tuple[str, str], dict], rows: list[str], cols: list[str], title: str, path: Path) -> Path:
    """Log-log ROC small multiples: one panel per (row, col) cell, e.g. dataset x target."""
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.9 * len(cols), 3.6 * len(rows)), squeeze=False,
                             layout="constrained")
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            ax = axes[i][j]
            if panels.get((row, col)):
                _roc_panel(ax, panels[(row, col)], f"{row} / {col}")
            else:  # an empty panel: the cell's jobs all failed; no panel: the sweep did not run it
                ax.axis("off")
                why = "missing: no job completed" if (row, col) in panels else "not in this sweep"
                ax.text(0.5, 0.5, f"{row} / {col}:\n{why}", ha="center", va="center", fontsize=8)
            if j == 0:
                ax.set_ylabel("true positive rate")
            if i == len(rows) - 1:
                ax.set_xlabel("false positive rate")
    fig.suptitle(title)
    return save(fig, path)
