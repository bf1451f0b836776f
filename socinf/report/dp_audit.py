"""Section: claimed epsilon against the empirical lower bound (``experiment=dp_audit``).

Applies when a sweep holds targets trained with ``defense=dp``. Per dataset, target and privacy setting (the
claimed epsilon, as the accountant spent it; "non-private" for the undefended target of the same sweep):

- ``dp_audit.{md,csv}``: jobs and seeds, the claimed epsilon, the empirical lower bound of each job's verdict
  (``socinf.evaluation.epsilon``: a 95% bound, thresholds and attack chosen on half of the evaluation records)
  as its mean and its largest over the setting's jobs, the strongest attack's AUC, how many jobs detected a
  leak, and the target's test accuracy (mean ± std over seeds). A bound above the claim is flagged: the DP
  training or its accounting would then be wrong.
- ``dp_audit_epsilon.png``: the lower bounds against the claimed epsilon (log axes), one point per job, the
  line bound = claim above which no point may lie; ``dp_audit_utility.png``: test accuracy against epsilon,
  the non-private model's as a dashed line and the most common class's share as a dotted one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socinf.io import atomic_write_text
from socinf.report.frame import markdown_table

NON_PRIVATE = "non-private"


def _setting(job: dict) -> tuple[str, float | None]:
    defense = (job.get("target") or {}).get("defense") or {}
    if defense.get("name") != "dp":
        return (NON_PRIVATE, None) if defense.get("name", "none") == "none" else (defense.get("setting", "?"), None)
    claimed = defense.get("epsilon_spent", defense.get("epsilon"))
    return f"dp(eps={defense.get('epsilon'):g})", claimed


def dp_rows(runs) -> pd.DataFrame:
    rows = []
    for job in runs.complete:
        setting, claimed = _setting(job)
        verdict = job.get("verdict") or {}
        rows.append({"dataset": (job.get("dataset") or {}).get("label", "?"), "target": (job.get("target") or {}).get("name"),
                     "setting": setting, "claimed_epsilon": claimed,
                     "requested_epsilon": ((job.get("target") or {}).get("defense") or {}).get("epsilon"),
                     "method": (job.get("method") or {}).get("name"), "seed": job.get("seed"),
                     "epsilon_lower_bound": verdict.get("epsilon_lower_bound"),
                     "bound_attack": (verdict.get("epsilon") or {}).get("method"),
                     "strongest_auc": ((job.get("strongest") or {}).get("by_auc") or {}).get("auc"),
                     "leak_detected": verdict.get("leak_detected"),
                     "test_accuracy": (job.get("target") or {}).get("test_accuracy"),
                     "chance_accuracy": (verdict.get("utility") or {}).get("chance_accuracy")})
    return pd.DataFrame(rows)


def applies(runs) -> bool:
    rows = dp_rows(runs)
    return bool(len(rows)) and rows.claimed_epsilon.notna().any() and rows.epsilon_lower_bound.notna().any()


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "target", "setting"]
    grouped = rows.groupby(keys, sort=False)
    table = grouped.agg(jobs=("seed", "size"), seeds=("seed", "nunique"), claimed_epsilon=("claimed_epsilon", "max"),
                        requested_epsilon=("requested_epsilon", "max"), bound_mean=("epsilon_lower_bound", "mean"),
                        bound_max=("epsilon_lower_bound", "max"), strongest_auc=("strongest_auc", "mean"),
                        leaks=("leak_detected", "sum"), test_accuracy=("test_accuracy", "mean"),
                        test_accuracy_std=("test_accuracy", "std"), chance_accuracy=("chance_accuracy", "mean"))
    table = table.reset_index()
    table["bound_exceeds_claim"] = table.bound_max > table.claimed_epsilon
    order = table.requested_epsilon.fillna(np.inf)
    return table.assign(_o=order).sort_values(["dataset", "target", "_o"]).drop(columns="_o").reset_index(drop=True)


def _markdown(table: pd.DataFrame) -> str:
    shown = pd.DataFrame({
        "target": table.dataset + " / " + table.target, "setting": table.setting,
        "claimed eps": table.claimed_epsilon.map(lambda v: "—" if pd.isna(v) else f"{v:.3f}"),
        "bound, mean": table.bound_mean.map(lambda v: f"{v:.3f}"), "bound, max": table.bound_max.map(lambda v: f"{v:.3f}"),
        "bound <= claim": [("—" if pd.isna(c) else "NO: CHECK THE DP TRAINING" if e else "yes")
                           for c, e in zip(table.claimed_epsilon, table.bound_exceeds_claim)],
        "strongest AUC": table.strongest_auc.map(lambda v: f"{v:.3f}"),
        "leak detected": [f"{int(k)} of {n}" for k, n in zip(table.leaks, table.jobs)],
        "test acc": [f"{m:.3f} ± {s:.3f}" if n > 1 else f"{m:.3f}" for m, s, n in
                     zip(table.test_accuracy, table.test_accuracy_std.fillna(0), table.seeds)],
        "chance": table.chance_accuracy.map(lambda v: "—" if pd.isna(v) else f"{v:.3f}")}).set_index("target")
    return "\n".join(["# DP audit: the claimed epsilon against the empirical lower bound", "",
                      "Each job's bound is a 95% lower bound on epsilon (delta as in its verdict) from its strongest "
                      "attack at a threshold chosen on half of the evaluation; mean and largest over the setting's jobs "
                      "(attacks x seeds). No bound may exceed the claimed epsilon.", "", markdown_table(shown), ""])


def _figures(rows: pd.DataFrame, out_dir: Path) -> list[Path]:
    from socinf.report.figures import plt, save

    dp = rows[rows.claimed_epsilon.notna()]
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for target, part in dp.groupby("target"):
        ax.scatter(part.claimed_epsilon, part.epsilon_lower_bound, label=f"{target} (one point per job)", alpha=0.7)
    grid = np.linspace(0, dp.claimed_epsilon.max() * 1.05, 20)
    ax.plot(grid, grid, color="black", ls="--", lw=1, label="bound = claimed epsilon")
    ax.set(xlabel="claimed epsilon (accountant)", ylabel="empirical lower bound (95%)",
           title="No lower bound may lie above the dashed line", xlim=(0, grid.max()), ylim=(0, grid.max()))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    paths = [save(fig, out_dir / "dp_audit_epsilon.png")]
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for target, part in rows.groupby("target"):
        private = part[part.claimed_epsilon.notna()].groupby("requested_epsilon").test_accuracy.agg(["mean", "std", "count"])
        line = ax.errorbar(private.index, private["mean"], yerr=private["std"].where(private["count"] > 1), marker="o",
                           capsize=2, label=f"{target} DP (mean ± std over seeds)")
        plain = part[part.setting == NON_PRIVATE].test_accuracy
        if len(plain):
            ax.axhline(plain.mean(), color=line[0].get_color(), ls="--", lw=1, label=f"{target} non-private")
    if rows.chance_accuracy.notna().any():
        ax.axhline(rows.chance_accuracy.mean(), color="grey", ls=":", lw=1, label="chance (most common class)")
    ticks = sorted(rows.requested_epsilon.dropna().unique())
    ax.set(xscale="log", xlabel="epsilon (requested)", ylabel="target test accuracy", title="Utility against epsilon")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return paths + [save(fig, out_dir / "dp_audit_utility.png")]


def write(runs, out_dir: Path, console) -> list[Path]:
    rows = dp_rows(runs)
    table = summary(rows)
    md, csv = Path(out_dir) / "dp_audit.md", Path(out_dir) / "dp_audit.csv"
    atomic_write_text(md, _markdown(table))
    atomic_write_text(csv, table.to_csv(index=False))
    if table.bound_exceeds_claim.any():
        console.print("[bold red]DP AUDIT: an empirical epsilon lower bound exceeds the claimed epsilon: see "
                      f"{md}[/bold red]")
    return [md, csv, *_figures(rows, Path(out_dir))]
