"""Plot helpers (matplotlib, Agg): ECDF panels, grouped bars, a figure as SVG text (ROC figures:
``run_figures``). Each writer returns the file's path.

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


def svg(fig) -> str:
    """The figure as SVG text (text drawn as paths: no font to fetch; no date: the same figure, the same bytes)."""
    buffer = io.StringIO()
    # every point drawn (no path simplification): what the figure shows is the data, point for point
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "socinf", "path.simplify": False}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def ecdf_panels(groups: dict[str, dict[str, np.ndarray]], title: str, path: Path, points: bool = False) -> Path:
    """Three panels (accuracy, precision, recall): one empirical CDF per group over its runs; ``points`` (one
    seed per cell) marks each run at its value instead of drawing steps."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (metric, label) in zip(axes, PANELS):
        for name, values in groups.items():
            v = np.sort(np.asarray(values[metric], dtype=float))
            v = v[~np.isnan(v)]
            if not len(v):  # keep the group in the legend so a missing one is seen, not dropped
                ax.plot([], [], ls="none", label=name)
            elif points:
                ax.plot(v, np.arange(1, len(v) + 1) / len(v), ls="none", marker="o", ms=5,
                        label=f"{name} (n={len(v)}, mean {v.mean():.3f})")
            else:
                ax.step(np.concatenate([[v[0]], v]), np.arange(len(v) + 1) / len(v), where="post",
                        label=f"{name} (n={len(v)}, mean {v.mean():.3f})")
        ax.axvline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(xlabel=label.split(" ", 1)[1], ylabel="empirical CDF", title=label, xlim=(0, 1), ylim=(0, 1.02))
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title + (" (one seed per cell: one point per run)" if points else ""))
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
        spread = np.nan_to_num(s)  # std over seeds; one seed has none, and gets no error bar
        ax.bar(pos, np.nan_to_num(m), width, yerr=spread if spread.any() else None, capsize=2, label=name)
        flags = np.asarray((missing or {}).get(name, [False] * len(cells)), bool)
        for p in pos[np.isnan(m) & flags]:
            ax.text(p, 0.02, "missing", rotation=90, ha="center", va="bottom", fontsize=7, color="red")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, cells, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, ylim=(0, 1))
    ax.set_title(title, fontsize=9, wrap=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, path)
