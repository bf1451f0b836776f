"""Section: the privacy-utility trade-off of the paper's Section V mitigations (``experiment=defenses``).

defenses.{md,csv}: per protocol, dataset, target and defense setting (mean over seeds), the target's test
accuracy (of the answers it serves) and its change from the undefended model, SocInf's AUC and TPR
at 1% FPR, the strongest threshold baseline's (per metric, the best of the baselines the run scored,
as an attacker would pick), and the epsilon spent by DP training.
defenses_<dataset>.png (defenses_<dataset>_<protocol>.png when the sweep ran both protocols): target test accuracy (x) against attack AUC and TPR@1% FPR (y), one point per
target and defense setting, SocInf filled and the best baseline hollow, the undefended model starred.
Each dataset's "best trade-off" line names, per target, the setting that lowers the strongest attack's
AUC most while keeping test accuracy within ``ACCURACY_BUDGET`` of the undefended model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.io import atomic_write_text
from socinf.report.frame import labelled_dataset

ACCURACY_BUDGET = 0.02  # test accuracy a "good trade-off" may give up, absolute
ATTACK_METRICS = (("auc", "AUC"), ("tpr_at_1pct_fpr", "TPR @ 1% FPR"))
MARKERS = {"remote": "s", "logistic": "o", "xgboost": "^", "mlp": "D"}


def _complete(runs) -> list[dict]:
    """socinf run's complete jobs (a saved socinf.audit result has no defense setting)."""
    return [r for r in getattr(runs, "complete", runs) if r.get("config")]


def _setting(run: dict) -> str:
    defense = run.get("target", {}).get("defense") or {}
    return defense.get("setting") or defense.get("name") or "none"


def applies(runs) -> bool:
    """Only sweeps that hold at least one defended run (a plain Table II sweep gets no defense section)."""
    return any(_setting(r) != "none" for r in _complete(runs))


def defense_rows(runs) -> pd.DataFrame:
    """One row per complete job: cell, defense setting, utility and attack metrics."""
    rows = []
    for run in _complete(runs):
        target, baselines = run["target"], run.get("baselines") or {}
        row = {"protocol": run.get("protocol", {}).get("name", "honest"), "dataset": labelled_dataset(run["dataset"]["label"], run.get("threat")),
               "target": target["name"], "defense": _setting(run),
               "seed": run.get("seed"), "test_accuracy": target.get("test_accuracy"),
               "overfitting_gap": target.get("overfitting_gap"),
               "epsilon_spent": (target.get("defense") or {}).get("epsilon_spent")}
        for metric, _ in ATTACK_METRICS:
            row[f"socinf_{metric}"] = run["attack"].get(metric)
            values = [m.get(metric) for m in baselines.values() if m.get(metric) is not None]
            row[f"baseline_{metric}"] = max(values) if values else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (protocol, dataset, target, defense), with the accuracy change from the undefended model."""
    keys = ["protocol", "dataset", "target", "defense"]
    values = [c for c in rows.columns if c not in keys + ["seed"]]
    table = rows.groupby(keys, sort=True)[values].mean()
    table["n_seeds"] = rows.groupby(keys, sort=True)["seed"].nunique()
    table = table.reset_index()
    base = table[table.defense == "none"].set_index(["protocol", "dataset", "target"])["test_accuracy"]
    table["accuracy_change"] = [row.test_accuracy - base.get((row.protocol, row.dataset, row.target), np.nan)
                                for row in table.itertuples()]
    table["strongest_auc"] = table[["socinf_auc", "baseline_auc"]].max(axis=1)
    order = {"none": 0}
    table["_order"] = [order.get(d, 1) for d in table.defense]
    return table.sort_values(["protocol", "dataset", "target", "_order", "defense"]).drop(columns="_order").reset_index(drop=True)


def best_tradeoffs(table: pd.DataFrame) -> list[str]:
    """Per dataset and target: the setting that lowers the strongest attack's AUC most within the accuracy budget."""
    lines = []
    for (dataset, target), cell in table.groupby(["dataset", "target"], sort=True):
        base = cell[cell.defense == "none"]
        if base.empty:
            continue
        b = base.iloc[0]
        ok = cell[(cell.defense != "none") & (cell.accuracy_change >= -ACCURACY_BUDGET)]
        if (cell.defense != "none").sum() == 0:
            continue
        if ok.empty:
            lines.append(f"- {dataset} / {target}: no defense keeps test accuracy within {ACCURACY_BUDGET:.2f}")
            continue
        best = ok.loc[ok.strongest_auc.idxmin()]
        lines.append(f"- {dataset} / {target}: **{best.defense}** — strongest attack AUC {b.strongest_auc:.3f} -> "
                     f"{best.strongest_auc:.3f} ({best.strongest_auc - b.strongest_auc:+.3f}), SocInf TPR@1%FPR "
                     f"{b.socinf_tpr_at_1pct_fpr:.3f} -> {best.socinf_tpr_at_1pct_fpr:.3f}, test accuracy "
                     f"{b.test_accuracy:.3f} -> {best.test_accuracy:.3f} ({best.accuracy_change:+.3f})")
    return lines


COLUMNS = {"dataset": "dataset", "target": "target", "defense": "defense", "n_seeds": "seeds",
           "test_accuracy": "test acc", "accuracy_change": "Δ acc", "overfitting_gap": "gap",
           "socinf_auc": "SocInf AUC", "socinf_tpr_at_1pct_fpr": "SocInf TPR@1%",
           "baseline_auc": "best baseline AUC", "baseline_tpr_at_1pct_fpr": "best baseline TPR@1%",
           "epsilon_spent": "ε spent"}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:.3f}" if isinstance(value, (float, np.floating)) else str(value)


def markdown(table: pd.DataFrame) -> str:
    out = ["# Defenses: privacy-utility trade-off (paper Section V)", "",
           "Mean over seeds. test acc: the target's accuracy on its held-out records, from the answers it serves; "
           "Δ acc: change from the undefended model; best baseline: per metric, the best threshold attack. "
           "Rounded and top-k answers are not renormalised.", ""]
    for (protocol, dataset), part in table.groupby(["protocol", "dataset"], sort=True):
        shown = part[list(COLUMNS)].rename(columns=COLUMNS)
        out += [f"## {dataset}, protocol {protocol}", "", "| " + " | ".join(shown.columns) + " |",
                "|" + "|".join(["---"] * 3 + ["---:"] * (len(shown.columns) - 3)) + "|"]
        out += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in shown.itertuples(index=False)]
        out += ["", f"Best trade-off (test accuracy within {ACCURACY_BUDGET:.2f} of undefended):", ""]
        out += best_tradeoffs(part) + [""]
    return "\n".join(out)


def figure(part: pd.DataFrame, dataset: str, path: Path) -> Path:
    from socinf.report.figures import plt, save

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = dict(zip(sorted(set(part.defense)), plt.cm.tab20(np.linspace(0, 1, max(len(set(part.defense)), 2)))))
    for ax, (metric, label) in zip(axes, ATTACK_METRICS):
        for row in part.itertuples():
            marker, color = MARKERS.get(row.target, "o"), colors[row.defense]
            if row.defense == "none":
                ax.scatter(row.test_accuracy, getattr(row, f"socinf_{metric}"), marker="*", s=260, c=[color],
                           edgecolors="black", zorder=4)
            ax.scatter(row.test_accuracy, getattr(row, f"socinf_{metric}"), marker=marker, s=45, c=[color], zorder=3)
            ax.scatter(row.test_accuracy, getattr(row, f"baseline_{metric}"), marker=marker, s=45,
                       facecolors="none", edgecolors=[color], zorder=3)
        ax.axhline(0.5 if metric == "auc" else 0.01, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("target test accuracy")
        ax.set_ylabel(f"attack {label}")
        ax.set_title(f"{dataset}, protocol {part.protocol.iloc[0]}: {label}")
    handles = [plt.Line2D([], [], ls="", marker="o", color=c, label=d) for d, c in colors.items()]
    handles += [plt.Line2D([], [], ls="", marker=m, color="black", label=t)
                for t, m in MARKERS.items() if t in set(part.target)]
    handles += [plt.Line2D([], [], ls="", marker="o", color="black", label="SocInf (filled)"),
                plt.Line2D([], [], ls="", marker="o", mfc="none", color="black", label="best baseline (hollow)"),
                plt.Line2D([], [], ls="", marker="*", ms=12, color="black", label="undefended")]
    axes[1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return save(fig, path)



def write(runs, out_dir: Path, console) -> list[Path]:
    from socinf.report.figures import slug

    table = summary(defense_rows(runs))
    out_dir = Path(out_dir)
    paths = [out_dir / "defenses.md", out_dir / "defenses.csv"]
    atomic_write_text(paths[0], markdown(table))
    atomic_write_text(paths[1], table.to_csv(index=False))
    several = table.protocol.nunique() > 1
    for (protocol, dataset), part in table.groupby(["protocol", "dataset"], sort=True):
        name = f"defenses_{slug(dataset)}_{protocol}.png" if several else f"defenses_{slug(dataset)}.png"
        paths.append(figure(part, dataset, out_dir / name))
    if console is not None:
        console.print(f"defenses: {len(table)} settings over {table.dataset.nunique()} dataset(s) -> {out_dir}")
    return paths
