"""One audit's part of ``report.html``, in the order an auditor reads it.

The verdict first (grade, sentence, evidence, warnings); the ROC of every attack on log-log axes; the strongest
attack's scores, members against non-members; the epsilon table with the blind baseline; the target's
utility; SocInf's self-checks; protocol and data (sizes, duplicates removed, collision ceiling); the 10 most
exposed records; the config and the command that reproduces the run.
"""
from __future__ import annotations

import shlex

import numpy as np

from socinf.report import html
from socinf.report.console import FLAG_NOTE, tpr_text

EXPOSED_SHOWN = 10


def _num(value, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.{digits}f}"


def verdict_block(verdict: dict) -> str:
    if not verdict:
        return '<div class="verdict"><p class="headline">No verdict: this run holds no scores to judge.</p></div>'
    found = "Leak detected" if verdict["leak_detected"] else "No leak detected"
    t, eps = verdict["tpr_at_1pct_fpr"], verdict["epsilon"]
    pairs = [("p-value", f"{verdict['p_value']:.2g} (one-sided, Holm-corrected over {verdict['attacks_tested']} "
                         f"attacks; alpha = {verdict['alpha']:g})"),
             ("TPR at 1% FPR", f"{t['value']:.3f} [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}] at FPR {t['fpr']:.4f} "
                               f"[{t['fpr_ci95'][0]:.4f}, {t['fpr_ci95'][1]:.4f}] ({t['method']})"),
             ("epsilon lower bound", f"{eps['value']:.3f} (95%, delta = {eps['delta']:g}, {eps.get('method')})"
              + (f"; claimed epsilon {eps['claimed']:g}" if eps.get("claimed") is not None else "")),
             ("blind baseline AUC", _num(verdict.get("blind_baseline_auc")) + " (a classifier that never queries "
                                    "the model)"), ("threat model", verdict.get("threat", "attacker"))]
    warnings = "".join(f"<li>{html.esc(w['message'])}</li>" for w in verdict.get("warnings", []))
    note = f'<p class="note">{html.esc(verdict["note"])}</p>' if verdict.get("note") else ""
    return (f'<div class="verdict severity-{html.esc(verdict["severity"])}" data-role="verdict">'
            f'<p class="headline">{found} — severity {html.esc(verdict["severity"])}</p>'
            f'<p class="sentence">{html.esc(verdict["sentence"])}</p>'
            + (f'<ul class="warnings">{warnings}</ul>' if warnings else "") + html.facts(pairs) + note + "</div>")


def figures(job: dict, verdict: dict, table, scores: dict, as_png: bool) -> str:
    if table is None or not scores:
        return '<p class="note">No membership_scores.csv: no figure.</p>'
    from socinf.report.figures import svg
    from socinf.report.run_figures import histogram_figure, roc_figure

    membership = table.member.to_numpy(int)
    keep = [((job.get("strongest") or {}).get("by_tpr_at_1pct_fpr") or {}).get("method")]
    roc = roc_figure({n: (membership, s) for n, s in scores.items()}, "ROC of every attack (log-log)", keep)
    strongest = (verdict.get("auc") or {}).get("method") or next(iter(scores))
    hist = histogram_figure(membership, scores[strongest], strongest)
    out = []
    for fig, alt, caption in ((roc, "ROC of every attack", "One curve per attack on the same answers; dashed: 1% FPR; "
                               "a rate of 0 is drawn at half a record."),
                              (hist, f"scores of {strongest}", "Members against non-members, densities.")):
        out.append(_png(fig, alt, caption) if as_png else html.svg_figure(svg(fig), alt, caption))
    return "<h3>ROC of every attack</h3>" + out[0] + "<h3>Scores of the strongest attack</h3>" + out[1]


def _png(fig, alt: str, caption: str) -> str:
    import base64
    import io

    from socinf.report.figures import plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
    plt.close(fig)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img src="{uri}" alt="{html.esc(alt)}"><figcaption>{html.esc(caption)}</figcaption></figure>'


def epsilon_table(job: dict, verdict: dict) -> str:
    every = verdict.get("attacks_recomputed") or {**(job.get("attacks") or {}), **(job.get("baselines") or {})}
    kinds = {n: "threshold" for n in job.get("baselines") or {}}
    p_values = verdict.get("p_values") or {}
    rows = [{"attack": n, "kind": kinds.get(n, "attack"), "AUC": _num(m.get("auc")),
             "p (one-sided)": f"{p_values.get(n, {}).get('one_sided', float('nan')):.2g}",
             "p (Holm)": f"{p_values.get(n, {}).get('holm', float('nan')):.2g}", "TPR@1%FPR": tpr_text(m),
             "TPR@0.1%FPR": tpr_text(m, "0.1pct"),
             "epsilon >=": _num((verdict.get("epsilon") or {}).get("per_attack", {}).get(n), 2)}
            for n, m in sorted(every.items(), key=lambda kv: -(kv[1].get("auc") or 0))]
    blind = verdict.get("blind_baseline") or {}
    rows.append({"attack": "blind baseline", "kind": "no query", "AUC": _num(blind.get("auc"))})
    eps = verdict.get("epsilon") or {}
    note = (f"epsilon >=: a 95% lower bound of (epsilon, delta = {eps.get('delta', 0):g})-DP; thresholds chosen on "
            f"one half of the evaluation records, the bound computed on the other. {FLAG_NOTE}. Blind baseline: "
            + (blind.get("method") or blind.get("reason") or "—") + ".")
    return "<h3>Epsilon lower bounds and the blind baseline</h3>" + html.table(rows) + f'<p class="note">{html.esc(note)}</p>'


def utility_table(job: dict, verdict: dict) -> str:
    t, u = job.get("target") or {}, verdict.get("utility") or {}
    defense = t.get("defense") or {}
    pairs = [("target", t.get("name", "—")), ("train accuracy", _num(t.get("train_accuracy"))),
             ("test accuracy", _num(t.get("test_accuracy"))), ("overfitting gap", _num(t.get("overfitting_gap"))),
             ("chance (most common class)", _num(u.get("chance_accuracy"))),
             ("defense", defense.get("setting", defense.get("name", "none")))]
    if defense.get("name") == "dp":
        pairs.append(("claimed epsilon (spent) / delta", f"{defense.get('epsilon')} ({_num(defense.get('epsilon_spent'))})"
                                                         f" / {defense.get('delta')}"))
    return "<h3>Target utility</h3>" + html.facts(pairs)


def diagnostics_table(job: dict) -> str:
    rows = [{"attack": n, "check": c, "ok": "yes" if d["ok"] else "FAILED", "value": _num(d.get("value")),
             "reason": d["reason"]}
            for n, m in {**(job.get("attacks") or {}), "": job.get("attack") or {}}.items()
            for c, d in (m.get("diagnostics") or {}).items() if n or not job.get("attacks")]
    return "<h3>Diagnostics</h3>" + (html.table(rows) if rows else '<p class="note">No attack of this run has '
                                     "self-checks (SocInf's are listed here when it runs).</p>")


def data_table(job: dict) -> str:
    d, e, c = job.get("dataset") or {}, job.get("evaluation") or {}, job.get("collision") or {}
    splits, dedup = d.get("splits") or {}, d.get("dedup") or {}
    proto = job.get("protocol") or {}
    pairs = [("data", d.get("label", "—")), ("records (after deduplication)", d.get("records", "—")),
             ("duplicates removed", dedup.get("duplicates_removed", "—")),
             ("splits", ", ".join(f"{k} {v}" for k, v in splits.items()) or "—"),
             ("evaluation", f"{e.get('members', splits.get('eval_members', '—'))} members, "
                            f"{e.get('nonmembers', splits.get('eval_nonmembers', '—'))} non-members"),
             ("exact duplicates between sets", ", ".join(f"{k} {v}" for k, v in (e.get("duplicates") or {}).items()) or "—"),
             ("collision ceiling (accuracy)", _num(c.get("ceiling_accuracy"))),
             ("protocol", proto.get("name", "—"))]
    return "<h3>Protocol and data</h3>" + html.facts(pairs)


def exposed_table(exposure) -> str:
    if exposure is None or not len(exposure):
        return "<h3>The 10 most exposed records</h3><p class=\"note\">No exposure ranking.</p>"
    top = exposure.head(EXPOSED_SHOWN)
    columns = [c for c in ("rank", "record_id", "score", "nonmember_percentile", "label", "text") if c in top]
    rows = [{c: (_num(r[c], 4) if c == "score" else _num(r[c], 1) if c == "nonmember_percentile" else r[c])
             for c in columns} for _, r in top.iterrows()]
    attack = exposure["attack"].iloc[0] if "attack" in exposure else "the strongest attack"
    return (f"<h3>The {EXPOSED_SHOWN} most exposed records</h3>" + html.table(rows) +
            f'<p class="note">Members ranked by {html.esc(attack)} (the strongest at 1% FPR); percentile: the share of '
            "non-members scoring lower. Texts appear only with report.show_texts=true.</p>")


def reproduce(job: dict) -> str:
    import yaml

    overrides = [str(o) for o in job.get("overrides") or []]
    command = ("socinf run " + " ".join(shlex.quote(o) for o in overrides)) if job.get("config") else \
        "socinf.audit(...) from Python: see its settings in the result"
    config = yaml.safe_dump(job.get("config") or {}, sort_keys=False) if job.get("config") else "(none)"
    return (f"<h3>Config and command</h3><pre>{html.esc(command.strip())}</pre><details><summary>the resolved config"
            f"</summary><pre>{html.esc(config)}</pre></details>")
