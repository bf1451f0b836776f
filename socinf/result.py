"""The outcome of one audit, the same object for both front doors.

``AuditResult.to_dict()`` is the body of ``metrics.json``: ``socinf run`` adds what only it knows (the dataset,
the protocol, the collision ceiling, its config) and writes it; ``socinf.audit`` returns the object itself.
Its keys mean the same at both doors:

- ``method``: the primary method (the one ``method=`` names, or the first of ``methods``): its name, attack
  model and fit report; ``attack``: that method's metrics (with SocInf's ``diagnostics``);
- ``attacks`` / ``reports``: every attack's metrics / fit report, by name (the threshold attacks' cut-offs
  under ``reports.thresholds``); ``baselines``: each threshold attack's metrics;
- ``strongest``: the strongest attacks over all of them (``evaluation.verdict``); ``verdict``: what they mean
  (``evaluation.judgement``: leak detected, p-value, severity, sentence, epsilon lower bound, blind baseline,
  warnings); ``evaluation``: members, non-members and exact duplicate records between the sets; ``target``:
  what the model's answers show of its utility; ``queries``, ``timings_s``;
- ``threat``: the threat model every attack of the audit ran under (``attacker``: the population only;
  ``owner``: all the owner's records; docs/threat-models.md).

``save(dir)`` writes what ``socinf run`` writes (metrics.json, membership_scores.csv, exposure.csv), so
``socinf report dir`` reads it, and ``AuditResult.load(dir)`` reads it back; ``to_html(path)`` writes the
self-contained report of this audit.
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
    record_ids: np.ndarray | None = None  # each evaluation record's id (socinf run: its corpus index)
    class_names: list | None = None  # label index -> name, for exposure.csv
    saved: dict | None = None  # what metrics.json held, for a result read back by ``load``
    threat: str = "attacker"  # socinf.attacks.base.THREATS: what the attacks drew on

    @property
    def evaluation(self) -> dict:
        return {"members": int(self.membership.sum()), "nonmembers": int((self.membership == 0).sum()),
                "duplicates": dict(self.run.overlap)}

    @property
    def verdict(self) -> dict:
        """Leak detected, p-value, severity, sentence, epsilon lower bound, blind baseline, warnings
        (``socinf.evaluation.judgement``); the threat model is ``self.threat`` where the result has one."""
        if self.saved is not None:
            return self.saved.get("verdict") or {}
        from socinf.evaluation.judgement import judge

        run = self.run
        return judge(run.evidence, run.strongest, {**run.metrics, **run.baselines}, self.target,
                     getattr(self, "threat", None), run.population)

    def to_dict(self) -> dict:
        if self.saved is not None:
            return self.saved
        run = self.run
        method = None
        if self.primary is not None:
            method = {"name": self.primary, "attack_model": self.attack_models.get(self.primary),
                      **run.reports.get(self.primary, {})}
        return {"complete": True, "verdict": self.verdict, "method": method, "attack": run.metrics.get(self.primary),
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
        """The verdict, then every attack (and the blind baseline) as a plain-text table."""
        from socinf.report.console import summary_text

        return summary_text(self.to_dict())

    def __repr__(self) -> str:
        v, s = self.verdict, self.strongest
        if not v or not s:
            return f"AuditResult({len(self.scores)} attacks, no verdict)"
        lo, hi = s["auc_ci95"]
        found = "leak detected" if v["leak_detected"] else "no leak detected"
        return (f"AuditResult({found}, severity={v['severity']}, p={v['p_value']:.2g}; strongest {s['method']} "
                f"AUC {s['auc']:.3f} [{lo:.3f}, {hi:.3f}], TPR@1%FPR {v['tpr_at_1pct_fpr']['value']:.3f}; "
                f"{len(self.scores)} attacks on {self.evaluation['members']}+{self.evaluation['nonmembers']} records)")

    def plot_roc(self, path=None, ax=None):
        """Log-log ROC of the attacks (at most ``run_figures.MAX_CURVES``, the strongest first) on ``ax`` (a new
        figure when None); with ``path`` the figure is also written there (.png, .svg or .pdf). Returns the axes."""
        from socinf.report.run_figures import roc_figure, roc_panel

        curves = {name: (self.membership, score) for name, score in self.scores.items()}
        keep = [self.run.strongest.get("by_tpr_at_1pct_fpr", {}).get("method")]
        if ax is None:
            ax = roc_figure(curves, "ROC of every attack (log-log)", keep).axes[0]
        else:
            roc_panel(ax, curves)
        if path is not None:
            from socinf.result_files import write_figure

            write_figure(ax.figure, path)
        return ax

    def exposure(self, texts=None):
        """The evaluation members ranked by the strongest attack (at 1% FPR), as ``exposure.csv`` holds them."""
        from socinf.result_files import exposure_frame

        return exposure_frame(self, texts)

    def save(self, directory, texts=None):
        """Write metrics.json, membership_scores.csv and exposure.csv into ``directory`` (``texts``: one per
        evaluation record, for exposure.csv; leave None to keep them out). Returns the directory."""
        from socinf.result_files import save

        return save(self, directory, texts)

    @classmethod
    def load(cls, directory) -> "AuditResult":
        """An audit written by ``save`` or ``socinf run``: its verdict, scores and tables, as saved."""
        from socinf.engine import AttackRun
        from socinf.errors import SocinfError
        from socinf.rundir import METRICS_FILE, SCORES_FILE, read_metrics
        from socinf.score_files import read_scores

        metrics = read_metrics(directory)
        if metrics is None or metrics.get("complete") is not True:
            raise SocinfError(f"{directory}: no complete {METRICS_FILE}; expected a directory AuditResult.save or "
                              "socinf run wrote")
        table, scores = read_scores(directory, metrics)
        if table is None:
            raise SocinfError(f"{directory}: no {SCORES_FILE} beside {METRICS_FILE}")
        attacks, baselines = metrics.get("attacks") or {}, metrics.get("baselines") or {}
        run = AttackRun(None, dict(metrics.get("reports") or {}), dict(attacks),
                        {n: s for n, s in scores.items() if n in attacks}, dict(baselines),
                        {n: s for n, s in scores.items() if n in baselines}, dict(metrics.get("strongest") or {}),
                        dict((metrics.get("evaluation") or {}).get("duplicates") or {}),
                        labels=table["label"].to_numpy() if "label" in table else None)
        return cls(run, table["member"].to_numpy(int), metrics.get("queries") or {}, metrics.get("timings_s") or {},
                   (metrics.get("method") or {}).get("name"), target=metrics.get("target"),
                   record_ids=table["record_id"].to_numpy(), class_names=(metrics.get("dataset") or {}).get("classes"),
                   saved=metrics, threat=metrics.get("threat", "attacker"))

    def to_html(self, path):
        """The self-contained HTML report of this audit (no file or request beyond ``path``). Returns the path."""
        from socinf.result_files import write_html

        return write_html(self, path)
