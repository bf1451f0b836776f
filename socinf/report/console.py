"""The rich table a run prints when it ends."""
from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.table import Table


def _fmt(value) -> str:
    return "—" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))


def verdict_rows(verdict: dict) -> list[tuple[str, str]]:
    """The strongest attack first: what an auditor acts on (``metrics.json["strongest"]``)."""
    rows = []
    for key, title in (("by_auc", "STRONGEST by AUC"), ("by_tpr_at_1pct_fpr", "STRONGEST by TPR@1%FPR")):
        s = verdict.get(key)
        if s:
            lo, hi = s["auc_ci95"]
            rows.append((f"[bold]{title}[/bold]", f"[bold]{s['method']}[/bold]: AUC {s['auc']:.3f} [{lo:.3f}, {hi:.3f}], "
                         f"TPR@1% {s['tpr_at_1pct_fpr']:.3f} (FPR {s['fpr_realised_at_1pct']:.3f})"))
    return rows


def job_line(overrides, result: dict | None, error: str | None = None) -> str:
    """One line per finished sweep job: its overrides (less the sweep's fixed ones, env SOCINF_SWEEP_FIXED)
    and the headline numbers, or why it failed."""
    fixed = set(os.environ.get("SOCINF_SWEEP_FIXED", "").split("\x1f"))  # keys ("seed", "+experiment/cell")
    name = " ".join(o for o in overrides if o.split("=", 1)[0] not in fixed) or "(defaults)"
    if result is None:
        return f"FAILED  {name}: {error}"
    a = result["attack"]
    best = (result.get("strongest") or {}).get("by_auc")
    tail = f"  strongest {best['method']} AUC {best['auc']:.3f}" if best and best["method"] != result["method"]["name"] else ""
    return (f"done    {name}: AUC {_fmt(a['auc'])}, TPR@1% {a['tpr_at_1pct_fpr']:.3f} "
            f"({result['timings_s']['total']:.0f} s){tail}")


def print_job_line(overrides, result: dict | None, error: str | None = None) -> None:
    # one write, newline included: parallel jobs share the terminal, and print()'s separate "\n" can land
    # after another job's line ("done ...done ...")
    print(job_line(overrides, result, error) + "\n", end="", flush=True)


def diagnostic_warnings(diagnostics: dict | None) -> list[str]:
    """One warning line per failed SocInf self-check (``metrics.json["attack"]["diagnostics"]``)."""
    return [f"WARNING: diagnostic {name} failed: {d['reason']}" for name, d in (diagnostics or {}).items()
            if not d["ok"]]


def print_run_summary(result: dict, run_dir: Path, console: Console | None = None) -> None:
    console = console or Console()
    t, a, c, q = result["target"], result["attack"], result["collision"], result["queries"]
    proto = result["protocol"]
    threat = result.get("threat", "attacker")
    title = (f"{result['method']['name']} vs {t['name']} on {result['dataset']['label']}  "
             f"[protocol {proto['name']}: synthesis={proto['synthesis']}, split={proto['split']}, "
             f"non-members={proto['eval_nonmembers']}; threat={threat}]")
    chosen = "the owner's reference models" if threat == "owner" else "attacker-side data only"
    from rich.markup import escape  # the title's "[protocol ...]" is text, not a rich style tag

    table = Table(title=escape(title), show_header=True, caption=f"accuracy / precision / recall at thresholds chosen on "
                  f"{chosen}; AUC and TPR at low FPR need no threshold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = verdict_rows(result.get("strongest") or {})
    rows += [("attack accuracy", a["accuracy"]), ("precision", a["precision"]), ("recall", a["recall"]),
            ("F1", a["f1"]), ("ROC AUC", a["auc"]),
            ("TPR @ 1% FPR", f"{a['tpr_at_1pct_fpr']:.4f} (FPR {a['fpr_realised_at_1pct']:.4f})"),
            ("TPR @ 0.1% FPR", f"{a['tpr_at_0.1pct_fpr']:.4f} (FPR {a['fpr_realised_at_0.1pct']:.4f})"),
            ("advantage (TPR-FPR)", a["advantage"]),
            ("target train / test acc", f"{t['train_accuracy']:.4f} / {t['test_accuracy']:.4f}"),
            ("overfitting gap", t["overfitting_gap"]),
            ("collision ceiling (acc)", c["ceiling_accuracy"]),
            ("non-member collisions", c["nonmember_collision_rate"])]
    mimic = result["method"].get("mimic")
    if mimic:
        rows.append(("mimic label agreement", f"{mimic['untrained']['label_agreement']:.4f} -> "
                                              f"{mimic['trained']['label_agreement']:.4f}"))
    for name, m in result.get("baselines", {}).items():
        rows.append((f"baseline {name} (acc / AUC)", f"{m['accuracy']:.4f} / {_fmt(m['auc'])}"))
    rows.append(("target queries sent / cached", f"{q['sent']} / {q['cached']}"))
    if "budget_left" in q:
        rows.append(("query budget left", q["budget_left"]))
    rows.append(("wall time (s)", f"{result['timings_s']['total']:.1f}"))
    for name, value in rows:
        table.add_row(name, _fmt(value))
    console.print(table)
    for line in diagnostic_warnings(a.get("diagnostics")):
        console.print(line, style="bold yellow")
    console.print(f"run dir: {run_dir}")
