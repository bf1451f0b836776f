"""What a run prints when it ends: the verdict first (its sentence, grade, evidence and warnings), then the
rich table of every figure; ``summary_text`` is the same for ``AuditResult.summary()``.

A TPR at a low FPR that the evaluation cannot resolve is flagged where it is printed (``tpr_text``): ``†``
coarse (fewer than 10/FPR non-members), ``‡`` unmeasurable (fewer than 1/FPR); ``FLAG_NOTE`` says so.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

FLAGS = {"ok": "", "coarse": "†", "unmeasurable": "‡"}
FLAG_NOTE = ("† fewer than 10/FPR non-members: a handful of false positives decide it; "
             "‡ fewer than 1/FPR: no threshold realises that FPR")
SEVERITY_STYLE = {"none": "bold green", "low": "bold yellow", "medium": "bold dark_orange", "high": "bold red"}


def _fmt(value) -> str:
    return "—" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))


def tpr_text(metrics: dict, level: str = "1pct", digits: int = 3) -> str:
    """A TPR at a low FPR with its flag (``level``: 1pct | 0.1pct)."""
    value = metrics.get(f"tpr_at_{level}_fpr")
    flag = FLAGS.get(metrics.get(f"tpr_at_{level}_fpr_status") or "ok", "")
    return "—" if value is None else f"{value:.{digits}f}{flag}"


def verdict_lines(verdict: dict) -> list[tuple[str, str]]:
    """(text, style) lines: the headline, the sentence, the evidence, each warning."""
    if not verdict:
        return []
    found = "LEAK DETECTED" if verdict["leak_detected"] else "NO LEAK DETECTED"
    lines = [(f"VERDICT: {found} (severity {verdict['severity']}; p = {verdict['p_value']:.2g}, Holm-corrected over "
              f"{verdict['attacks_tested']} attacks, alpha = {verdict['alpha']:g}; threat model: {verdict['threat']})",
              SEVERITY_STYLE.get(verdict["severity"], "bold")), (verdict["sentence"], "")]
    t, eps = verdict["tpr_at_1pct_fpr"], verdict["epsilon"]
    claimed = f"; claimed epsilon {eps['claimed']:g}" if eps.get("claimed") is not None else ""
    blind = verdict.get("blind_baseline_auc")
    lines.append((f"TPR at 1% FPR: {t['value']:.3f} [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}] at FPR {t['fpr']:.4f} "
                  f"({t['method']}); epsilon >= {eps['value']:.2f} (95%, delta = {eps['delta']:g}{claimed}); blind "
                  f"baseline AUC {'—' if blind is None else f'{blind:.3f}'} (no query)", ""))
    lines += [(f"WARNING: {w['message']}", "bold yellow") for w in verdict.get("warnings", [])]
    return lines


def print_verdict(verdict: dict, console: Console) -> None:
    for text, style in verdict_lines(verdict):
        console.print(text, style=style or None, highlight=False)


def attacks_table(result: dict, title: str | None = None) -> Table:
    """Every attack and threshold attack, strongest AUC first, and the blind baseline; flags under it."""
    table = Table(title=title, caption=FLAG_NOTE, caption_justify="left")
    for column in ("method", "kind", "AUC", "p (Holm)", "TPR@1%FPR", "TPR@0.1%FPR", "eps >=", "accuracy"):
        table.add_column(column, justify="left" if column in ("method", "kind") else "right")
    rows = [(n, "attack", m) for n, m in (result.get("attacks") or {}).items()]
    rows += [(n, "threshold", m) for n, m in (result.get("baselines") or {}).items()]
    for name, kind, m in sorted(rows, key=lambda r: -(r[2].get("auc") or 0)):
        table.add_row(name, kind, _fmt3(m.get("auc")), _fmt_p(m.get("p_value_holm")), tpr_text(m),
                      tpr_text(m, "0.1pct"), _fmt2(m.get("epsilon_lower_bound")), _fmt3(m.get("accuracy")))
    blind = (result.get("verdict") or {}).get("blind_baseline") or {}
    if blind:
        table.add_row("blind baseline", "no query", _fmt3(blind.get("auc")), "", "", "", "", "")
    return table


def _fmt3(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _fmt2(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _fmt_p(value) -> str:
    return "—" if value is None else f"{value:.2g}"


def summary_text(result: dict, width: int = 110) -> str:
    """The verdict and the attacks' table as plain text (``AuditResult.summary()``)."""
    console = Console(file=io.StringIO(), width=width, record=True)
    print_verdict(result.get("verdict") or {}, console)
    console.print(attacks_table(result, "socinf audit: every attack on the same answers"))
    for key, title in (("by_auc", "by AUC"), ("by_tpr_at_1pct_fpr", "by TPR at 1% FPR")):
        s = (result.get("strongest") or {}).get(key)
        if s:
            console.print(f"strongest {title}: {s['method']}, AUC {s['auc']:.3f} [{s['auc_ci95'][0]:.3f}, "
                          f"{s['auc_ci95'][1]:.3f}], TPR {s['tpr_at_1pct_fpr']:.3f} at FPR {s['fpr_realised_at_1pct']:.4f}")
    return console.export_text()


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


def job_line(overrides, result: dict | None, error: str | None = None, progress: str = "") -> str:
    """One line per finished sweep job: its place among the sweep's jobs (``[n/N]``), its overrides (less the
    sweep's fixed ones, env SOCINF_SWEEP_FIXED) and the headline numbers, or why it failed."""
    fixed = set(os.environ.get("SOCINF_SWEEP_FIXED", "").split("\x1f"))  # keys ("seed", "+experiment/cell")
    name = " ".join(o for o in overrides if o.split("=", 1)[0] not in fixed) or "(defaults)"
    name = f"{progress} {name}" if progress else name
    if result is None:
        return f"FAILED  {name}: {error}"
    a = result["attack"]
    best = (result.get("strongest") or {}).get("by_auc")
    tail = f"  strongest {best['method']} AUC {best['auc']:.3f}" if best and best["method"] != result["method"]["name"] else ""
    verdict = result.get("verdict") or {}
    if verdict:
        tail += f"  verdict: {'leak' if verdict['leak_detected'] else 'no leak'} ({verdict['severity']})"
    return (f"done    {name}: AUC {_fmt(a['auc'])}, TPR@1% {a['tpr_at_1pct_fpr']:.3f} "
            f"({result['timings_s']['total']:.0f} s){tail}")


def print_job_line(overrides, result: dict | None, error: str | None = None, progress: str = "") -> None:
    # one write, newline included: parallel jobs share the terminal, and print()'s separate "\n" can land
    # after another job's line ("done ...done ...")
    print(job_line(overrides, result, error, progress) + "\n", end="", flush=True)


def diagnostic_warnings(diagnostics: dict | None) -> list[str]:
    """One warning line per failed SocInf self-check (``metrics.json["attack"]["diagnostics"]``)."""
    return [f"WARNING: diagnostic {name} failed: {d['reason']}" for name, d in (diagnostics or {}).items()
            if not d["ok"]]


def print_run_summary(result: dict, run_dir: Path, console: Console | None = None) -> None:
    """The verdict first, then the run's table (its method, the strongest attacks, the target, the queries)."""
    console = console or Console()
    print_verdict(result.get("verdict") or {}, console)
    t, a, c, q = result["target"], result["attack"], result["collision"], result["queries"]
    proto = result["protocol"]
    threat = result.get("threat", "attacker")
    title = (f"{result['method']['name']} vs {t['name']} on {result['dataset']['label']}, "  # (not [...]: rich markup)
             f"protocol {proto['name']} (synthesis={proto['synthesis']}, split={proto['split']}, "
             f"non-members={proto['eval_nonmembers']}), threat={threat}")
    chosen = "the owner's reference models" if threat == "owner" else "attacker-side data only"
    table = Table(title=title, show_header=True, caption=f"accuracy / precision / recall at thresholds chosen on "
                  f"{chosen}; AUC and TPR at low FPR need no threshold. " + FLAG_NOTE)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = verdict_rows(result.get("strongest") or {})
    rows += [("attack accuracy", a["accuracy"]), ("precision", a["precision"]), ("recall", a["recall"]),
            ("F1", a["f1"]), ("ROC AUC", a["auc"]),
            ("TPR @ 1% FPR", f"{tpr_text(a, digits=4)} (FPR {a['fpr_realised_at_1pct']:.4f})"),
            ("TPR @ 0.1% FPR", f"{tpr_text(a, '0.1pct', 4)} (FPR {a['fpr_realised_at_0.1pct']:.4f})"),
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
    console.print(f"run dir: {run_dir}", soft_wrap=True)  # paths to copy: never broken across lines
    console.print(f"report: socinf report {run_dir}", soft_wrap=True)
