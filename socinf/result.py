"""The outcome of one audit, the same object for both front doors.

``AuditResult.to_dict()`` is the body of ``metrics.json``: ``socinf run`` adds what only it knows (the dataset,
the protocol, the collision ceiling, its config) and writes it; ``socinf.audit`` returns the object itself.
Its keys mean the same at both doors:

- ``method``: the primary method (the one ``method=`` names, or the first of ``methods``): its name, attack
  model and fit report; ``attack``: that method's metrics (with SocInf's ``diagnostics``);
- ``attacks`` / ``reports``: every attack's metrics / fit report, by name (the threshold attacks' cut-offs
  under ``reports.thresholds``); ``baselines``: each threshold attack's metrics;
- ``strongest``: the verdict over all of them (``evaluation.verdict``); ``evaluation``: members, non-members
  and exact duplicate records between the sets; ``target``: what the model's answers show of its utility;
  ``queries``, ``timings_s``;
- ``threat``: the threat model every attack of the audit ran under (``attacker``: the population only;
  ``owner``: all the owner's records; docs/threat-models.md).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np


def utility_from_answers(probs: np.ndarray, labels: np.ndarray, membership: np.ndarray) -> dict:
    """Accuracy of the answers on the evaluation members (train) and non-members (test), and their gap."""
    correct = np.asarray(probs).argmax(axis=1) == np.asarray(labels)
    train, test = float(correct[membership == 1].mean()), float(correct[membership == 0].mean())
    return {"train_accuracy": train, "test_accuracy": test, "overfitting_gap": train - test,
            "measured_on": "evaluation answers"}


@dataclass
class AuditResult:
    run: object  # socinf.engine.AttackRun
    membership: np.ndarray
    queries: dict
    timings_s: dict
    primary: str | None = None  # the method the audit was configured with first (None: threshold attacks only)
    attack_models: dict = field(default_factory=dict)  # method -> its attack model's name, where it has one
    target: dict | None = None
    threat: str = "attacker"  # socinf.attacks.base.THREATS: what the attacks drew on

    @property
    def evaluation(self) -> dict:
        return {"members": int(self.membership.sum()), "nonmembers": int((self.membership == 0).sum()),
                "duplicates": dict(self.run.overlap)}

    def to_dict(self) -> dict:
        run = self.run
        method = None
        if self.primary is not None:
            method = {"name": self.primary, "attack_model": self.attack_models.get(self.primary),
                      **run.reports.get(self.primary, {})}
        return {"complete": True, "method": method, "attack": run.metrics.get(self.primary),
                "attacks": run.metrics, "reports": run.reports, "baselines": run.baselines,
                "strongest": run.strongest, "evaluation": self.evaluation, "target": self.target,
                "queries": self.queries, "timings_s": self.timings_s, "threat": self.threat}

    @property
    def metrics(self) -> dict:
        """``to_dict()``: what ``metrics.json`` holds for this audit."""
        return self.to_dict()

    @property
    def strongest(self) -> dict:
        """The strongest attack by AUC: method, auc, auc_ci95, tpr_at_1pct_fpr (+ realised FPR), tpr_at_0.1pct_fpr."""
        return self.run.strongest.get("by_auc", {})

    @property
    def scores(self) -> dict[str, np.ndarray]:
        return {**self.run.scores, **self.run.baseline_scores}

    def to_frame(self):
        """One row per method (attacks and threshold attacks), sorted by AUC."""
        import pandas as pd

        rows = [{"method": name, "kind": "attack" if name in self.run.metrics else "threshold", **m}
                for name, m in {**self.run.metrics, **self.run.baselines}.items()]
        return pd.DataFrame(rows).sort_values("auc", ascending=False).reset_index(drop=True)

    def summary(self) -> str:
        """The rich table as plain text."""
        from rich.console import Console
        from rich.table import Table

        chosen = "the owner's reference models" if self.threat == "owner" else "attacker-side data only"
        table = Table(title=f"socinf audit (threat={self.threat})", caption=f"accuracy at thresholds chosen on {chosen}")
        for column in ("method", "AUC", "TPR@1%FPR", "TPR@0.1%FPR", "accuracy"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for _, r in self.to_frame().iterrows():
            table.add_row(r.method, f"{r.auc:.3f}", f"{r.tpr_at_1pct_fpr:.3f}", f"{r['tpr_at_0.1pct_fpr']:.3f}",
                          f"{r.accuracy:.3f}")
        console = Console(file=io.StringIO(), width=100, record=True)
        console.print(table)
        s = self.strongest
        if s:
            console.print(f"strongest: {s['method']}, AUC {s['auc']:.3f} (95% CI {s['auc_ci95'][0]:.3f}-"
                          f"{s['auc_ci95'][1]:.3f}), TPR {s['tpr_at_1pct_fpr']:.3f} at FPR {s['fpr_realised_at_1pct']:.4f}")
        return console.export_text()

    def plot_roc(self, ax=None):
        """Log-log ROC of every method on ``ax`` (a new figure when None); returns the axes."""
        import matplotlib.pyplot as plt
        from sklearn.metrics import roc_curve

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        floor = 1.0 / max(int((self.membership == 0).sum()), 1)
        for name, score in self.scores.items():
            fpr, tpr, _ = roc_curve(self.membership, score)
            auc = {**self.run.metrics, **self.run.baselines}[name]["auc"]
            ax.plot(np.maximum(fpr, floor / 2), np.maximum(tpr, floor / 2), label=f"{name} (AUC {auc:.3f})")
        ax.plot([floor / 2, 1], [floor / 2, 1], color="grey", ls=":", label="chance")
        ax.set(xscale="log", yscale="log", xlabel="false positive rate", ylabel="true positive rate")
        ax.legend(fontsize=7, loc="lower right")
        return ax
