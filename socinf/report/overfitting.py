"""Report section for the overfitting sweep (paper Section IV.F, Fig. 7).

Applies when a sweep holds, for one dataset and target algorithm, targets trained with different
hyper-parameters (``experiment=overfitting``). Each target is placed on the x-axis by its measured
overfitting gap (train - test accuracy, from ``metrics.json``), not by its knob, so ladders of any
algorithm line up. Writes, per protocol / dataset / target algorithm:

- ``fig7_<dataset>_<target>_<protocol>[_<variant>].png``: one panel per attack model, attack accuracy,
  precision and recall against the gap, as the paper's Fig. 7: the mean over seeds with the std over seeds as
  error bars (said in the legend), or one point per level with one seed. SocInf's variants (``mimic=gan_paper``
  beside the default) are kept apart, a figure and a table each: only seeds are averaged;
- ``overfitting.md`` / ``overfitting.csv``: per level the target's accuracies and gap, each attack
  model's accuracy / precision / recall / AUC, and the threshold baselines' AUC on the same targets.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from socinf.io import atomic_write_text
from socinf.report.frame import labelled_dataset, markdown_table
from socinf.report.runs import SweepRuns

GROUP = ["protocol", "dataset", "target", "variant"]
ATTACK_ORDER = ("svm", "knn", "nn", "xgboost")  # the paper's Fig. 7 panels first
METRICS = ("accuracy", "precision", "recall", "auc")
BASELINES = ("confidence", "entropy", "modified_entropy", "loss")


def _params(run: dict) -> str:
    return json.dumps(run.get("config", {}).get("target", {}).get("params", {}), sort_keys=True)


def _variant(run: dict) -> str:
    """How SocInf was run apart from its attack model: its synthesis and mimic (``mimic=gan_paper``...)."""
    cfg = run.get("config", {})
    return f"synthesis={cfg.get('synthesis', {}).get('name')} mimic={cfg.get('mimic', {}).get('name')}"


def _rows(runs: SweepRuns) -> pd.DataFrame:
    rows = []
    for run in (r for r in runs.complete if r.get("config")):  # socinf run's jobs (a saved audit has no levels)
        target = run.get("target", {})
        row = {"protocol": run["protocol"]["name"], "dataset": labelled_dataset(run["dataset"]["label"], run.get("threat")), "target": target.get("name"),
               "defense": run.get("config", {}).get("defense", {}).get("name", "none"),
               "method": run["method"]["name"], "attack_model": run["method"].get("attack_model"),
               "params": _params(run), "variant": _variant(run), "seed": run.get("seed"),
               "train_accuracy": target.get("train_accuracy"),
               "test_accuracy": target.get("test_accuracy"), "overfitting_gap": target.get("overfitting_gap")}
        row.update({m: run["attack"].get(m) for m in METRICS})
        row.update({f"{b}_auc": run.get("baselines", {}).get(b, {}).get("auc") for b in BASELINES})
        row["loss_accuracy"] = run.get("baselines", {}).get("loss", {}).get("accuracy")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    named = frame.attack_model.map(lambda a: isinstance(a, str))  # SocInf always names one (null: a damaged file)
    return frame[(frame.method == "socinf") & (frame.defense == "none") & named]


def applies(runs: SweepRuns) -> bool:
    frame = _rows(runs)
    return bool(len(frame)) and bool((frame.groupby(GROUP)["params"].nunique() > 1).any())


def _knob(params: pd.Series) -> pd.Series:
    """Each level's parameters, keeping only those that change along the ladder."""
    decoded = [json.loads(p) for p in params]
    keys = sorted({k for d in decoded for k in d})
    varying = [k for k in keys if len({json.dumps(d.get(k)) for d in decoded}) > 1]
    return pd.Series([" ".join(f"{k}={d.get(k)}" for k in varying) for d in decoded], index=params.index)


def level_table(group: pd.DataFrame) -> pd.DataFrame:
    """One row per (level, attack model): means over seeds, levels ordered by their mean gap."""
    group = group.assign(level=_knob(group.params))
    numeric = ["train_accuracy", "test_accuracy", "overfitting_gap", *METRICS, *(f"{b}_auc" for b in BASELINES)]
    table = group.groupby(["level", "attack_model"])[numeric].mean()
    table["seeds"] = group.groupby(["level", "attack_model"]).size()
    gap_of_level = group.groupby("level")["overfitting_gap"].mean()
    table = table.reset_index()
    table["_gap"] = table.level.map(gap_of_level)
    table["_attack"] = table.attack_model.map(_attack_models(group).index)
    return table.sort_values(["_gap", "_attack"]).drop(columns=["_gap", "_attack"]).reset_index(drop=True)


def _attack_models(frame: pd.DataFrame) -> list[str]:
    found = set(frame.attack_model)
    return [a for a in ATTACK_ORDER if a in found] + sorted(found - set(ATTACK_ORDER))


def _markdown(table: pd.DataFrame) -> str:
    """Per level: target accuracies and gap, then acc/prec/rec/AUC per attack model, then baseline AUCs."""
    attacks = _attack_models(table)
    wide = []
    for level, rows in table.groupby("level", sort=False):
        first = rows.iloc[0]
        row = {"level": level, "target train": f"{first.train_accuracy:.3f}",
               "target test": f"{first.test_accuracy:.3f}", "gap": f"{first.overfitting_gap:.3f}"}
        for attack in attacks:
            hit = rows[rows.attack_model == attack]
            cell = "/".join(f"{hit.iloc[0][m]:.2f}" for m in METRICS) if len(hit) else "missing"
            row[f"{attack} acc/prec/rec/AUC"] = cell
        for b in BASELINES:
            value = rows[f"{b}_auc"].mean()  # the same target answers under every attack model
            row[f"{b} AUC"] = "-" if np.isnan(value) else f"{value:.3f}"
        wide.append(row)
    return markdown_table(pd.DataFrame(wide).set_index("level"))


def _figure(frame: pd.DataFrame, title: str, path: Path) -> Path:
    from socinf.report.figures import plt, save

    attacks = _attack_models(frame)
    fig, axes = plt.subplots(1, len(attacks), figsize=(4.3 * len(attacks), 3.8), squeeze=False, sharey=True)
    for ax, attack, letter in zip(axes[0], attacks, "abcdefgh"):
        rows = frame[frame.attack_model == attack]
        per_level = rows.drop(columns="attack_model").groupby("params").agg(["mean", "std", "count"])
        per_level = per_level.sort_values(("overfitting_gap", "mean"))
        seeds = int(per_level[("accuracy", "count")].min()) if len(per_level) else 0
        for metric, marker in zip(METRICS[:3], "os^"):
            x, y = per_level[("overfitting_gap", "mean")], per_level[(metric, "mean")]
            if seeds >= 2:  # error bars only over seeds, and the legend says so
                ax.errorbar(x, y, yerr=per_level[(metric, "std")], marker=marker, capsize=2,
                            label=f"{metric} (mean ± std over {seeds} seeds)")
            else:
                ax.plot(x, y, marker=marker, ls=":", label=f"{metric} (one seed)")
        if per_level[("loss_accuracy", "mean")].notna().any():  # what the answers leak to a threshold on the loss
            ax.plot(per_level[("overfitting_gap", "mean")], per_level[("loss_accuracy", "mean")], color="grey", ls="--",
                    lw=1, label="loss-threshold baseline acc.")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(title=f"({letter}) {attack.upper()} attack model", xlabel="target overfitting gap (train - test acc)",
               ylim=(0, 1.02))
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    axes[0][0].set_ylabel("attack performance")
    fig.suptitle(title)
    return save(fig, path)



def write(runs: SweepRuns, out_dir: Path, console) -> list[Path]:
    from socinf.report.figures import slug

    frame = _rows(runs)
    numeric = ["overfitting_gap", "accuracy", "precision", "recall", "loss_accuracy"]
    written, sections, csv_parts = [], ["# Overfitting vs. membership leakage (the design of the paper's Fig. 7)", ""], []
    variants = frame.variant.nunique() if len(frame) else 0
    for (protocol, dataset, target, variant), group in frame.groupby(GROUP):
        if group.params.nunique() < 2:
            continue
        which = f", SocInf with {variant}" if variants > 1 else ""
        title = f"SocInf vs. {target} targets of growing overfitting, {dataset}, {protocol} protocol{which}"
        suffix = f"_{slug(variant)}" if variants > 1 else ""
        path = out_dir / f"fig7_{slug(dataset)}_{target}_{protocol}{suffix}.png"
        plotted = group[["attack_model", "params", *numeric]].astype({"loss_accuracy": float})
        written.append(_figure(plotted, title, path))
        table = level_table(group)
        csv_parts.append(table.assign(protocol=protocol, dataset=dataset, target=target, variant=variant))
        sections += [f"## {dataset}, target {target}, {protocol} protocol{which}", "",
                     f"![Fig. 7]({path.name})", "", _markdown(table), ""]
        _print(console, title, table)
    failed = len(runs.failed)
    if failed:
        sections.append(f"{failed} job(s) of the sweep failed; see missing.md.")
    md, csv = out_dir / "overfitting.md", out_dir / "overfitting.csv"
    atomic_write_text(md, "\n".join(sections) + "\n")
    atomic_write_text(csv, pd.concat(csv_parts).to_csv(index=False, float_format="%.4f"))
    return written + [md, csv]


def _print(console, title: str, table: pd.DataFrame) -> None:
    out = Table(title=title)
    for column in ("level", "attack", "gap", "acc", "prec", "rec", "AUC", "best baseline AUC"):
        out.add_column(column, justify="left" if column in ("level", "attack") else "right")
    names = {level: f"L{i}" for i, level in enumerate(table.level.unique())}
    for _, r in table.iterrows():
        aucs = pd.Series([r[f"{b}_auc"] for b in BASELINES], dtype=float)
        best = "-" if aucs.isna().all() else f"{aucs.max():.3f}"
        out.add_row(names[r.level], r.attack_model, f"{r.overfitting_gap:.3f}", f"{r.accuracy:.3f}",
                    f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.auc:.3f}", best)
    console.print(out)
    console.print("  " + "; ".join(f"{short}: {level}" for level, short in names.items()))
