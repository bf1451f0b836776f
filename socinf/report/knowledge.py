"""Report section for the attacker-knowledge sweep (``experiment=attacker_knowledge``, issue 10).

Applies when a sweep's jobs of one attack differ in ``dataset.attacker_fraction`` (the share of the
non-member records outside the held-out set the attacker holds) on the same dataset and target. Writes
``attacker_knowledge.md`` / ``.csv``: per attack and fraction the attacker's record count, the attack's AUC,
TPR@1%FPR and accuracy, SocInf's mimic label agreement, the best threshold attack's AUC on the same answers
(mean over seeds), and SocInf's failed self-checks (``attack.diagnostics``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from socinf.attacks.diagnostics import failed
from socinf.io import atomic_write_text
from socinf.report.frame import labelled_dataset, markdown_table
from socinf.report.runs import SweepRuns

GROUP = ["protocol", "dataset", "target", "method"]


def _rows(runs: SweepRuns) -> pd.DataFrame:
    rows = []
    for run in (r for r in runs.complete if r.get("config")):  # socinf run's jobs
        aucs = [b["auc"] for b in run.get("baselines", {}).values() if b.get("auc") is not None]
        rows.append({"protocol": run["protocol"]["name"], "dataset": labelled_dataset(run["dataset"]["label"], run.get("threat")),
                     "target": run["target"].get("name"), "method": run["method"]["name"], "seed": run.get("seed"),
                     "attacker_fraction": run.get("config", {}).get("dataset", {}).get("attacker_fraction", 1.0),
                     "attacker_records": run["dataset"].get("splits", {}).get("attacker"),
                     "auc": run["attack"].get("auc"), "tpr_at_1pct_fpr": run["attack"].get("tpr_at_1pct_fpr"),
                     "accuracy": run["attack"].get("accuracy"),
                     "mimic_agreement": (run["method"].get("mimic") or {}).get("trained", {}).get("label_agreement"),
                     "best_baseline_auc": max(aucs) if aucs else None,
                     "failed_checks": ", ".join(failed(run["attack"].get("diagnostics")))})
    return pd.DataFrame(rows)


def applies(runs: SweepRuns) -> bool:
    frame = _rows(runs)
    return bool(len(frame)) and bool((frame.groupby(GROUP)["attacker_fraction"].nunique() > 1).any())


def write(runs: SweepRuns, out_dir: Path, console) -> list[Path]:
    frame = _rows(runs)
    sections = ["# Attacker knowledge: each attack against the share of the population the attacker holds", ""]
    parts = []
    for (protocol, dataset, target, method), group in frame.groupby(GROUP):
        if group.attacker_fraction.nunique() < 2:
            continue
        numeric = ["attacker_records", "auc", "tpr_at_1pct_fpr", "accuracy", "mimic_agreement", "best_baseline_auc"]
        table = group.groupby("attacker_fraction")[numeric].mean()
        table["seeds"] = group.groupby("attacker_fraction").size()
        table["failed checks"] = group.groupby("attacker_fraction")["failed_checks"].agg(
            lambda s: "; ".join(sorted({v for v in s if v})) or "none")
        parts.append(table.reset_index().assign(protocol=protocol, dataset=dataset, target=target, method=method))
        shown = table.copy()
        for column in numeric[1:]:
            shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else f"{v:.3f}")
        shown["attacker_records"] = shown["attacker_records"].map(lambda v: f"{v:.0f}")
        sections += [f"## {method}: {dataset}, target {target}, {protocol} protocol", "", markdown_table(shown), ""]
        console.print(f"attacker knowledge, {method} on {dataset} / {target}: AUC "
                      + ", ".join(f"{f:g} -> {a:.3f}" for f, a in table["auc"].items()))
    md, csv = out_dir / "attacker_knowledge.md", out_dir / "attacker_knowledge.csv"
    atomic_write_text(md, "\n".join(sections) + "\n")
    atomic_write_text(csv, pd.concat(parts).to_csv(index=False, float_format="%.4f") if parts else "")
    return [md, csv]
