"""``report.html``: one self-contained file an auditor reads, keeps and sends (``socinf report DIR``,
``AuditResult.to_html``).

A single run is its audit (``html_job``: the verdict first). A sweep opens with an overview, one row per job
with its cell and verdict linking to the job's own section, then the sweep's tables and figures (the
sections ``socinf report`` wrote: Table II and the paper's figures only where the sweep holds the paper's
cells at the paper's sizes, else one caveat line), then every job's section. Per-job figures are SVG up to
``SVG_JOBS`` jobs and small PNGs beyond, so a 100-job sweep stays a file one can send.
"""
from __future__ import annotations

from pathlib import Path

from socinf.io import atomic_write_text
from socinf.report import html, html_job
from socinf.report.console import tpr_text
from socinf.report.job_verdict import job_exposure, job_scores, recomputed_verdict

REPORT_FILE = "report.html"
SVG_JOBS = 12
TITLE = "socinf audit report"


def job_body(job: dict, table, scores: dict, exposure, as_png: bool = False) -> str:
    verdict = recomputed_verdict(job, table, scores)
    return (html_job.verdict_block(verdict) + html_job.figures(job, verdict, table, scores, as_png)
            + html_job.epsilon_table(job, verdict) + html_job.utility_table(job, verdict)
            + html_job.diagnostics_table(job) + html_job.data_table(job) + html_job.exposed_table(exposure)
            + html_job.reproduce(job))


def _heading(job: dict) -> str:
    t, d = job.get("target") or {}, job.get("dataset") or {}
    method = (job.get("method") or {}).get("name") or ", ".join(job.get("attacks") or {}) or "threshold attacks"
    return f"{method} vs {t.get('name', 'the model')} on {d.get('label', 'your records')}"


def single_run_html(job: dict, table=None, exposure=None, written: list[Path] = (), caveat: str | None = None) -> str:
    """The report of one audit (``table``/``exposure``: its scores and exposure frames; read from its run dir
    when None), then what the report's sections wrote for it (``written``: e.g. its Table II cell)."""
    scores = {}
    if table is None:
        table, scores = job_scores(job)
    else:
        from socinf.score_files import read_scores_frame

        scores = read_scores_frame(table, job)
    if exposure is None:
        exposure = job_exposure(job, table, scores)
    body = f"<h1>{html.esc(TITLE)}</h1><p class=\"meta\">{html.esc(_heading(job))}</p>"
    sections = _sweep_files(list(written))
    extra = f"<h2>Tables and figures of socinf report</h2>{sections}" if sections else ""
    extra += f'<p class="note">{html.esc(caveat)}</p>' if caveat else ""
    return html.page(TITLE, body + job_body(job, table, scores, exposure) + extra)


def _overview_row(i: int, job: dict, verdict: dict, cell: str) -> dict:
    s = (job.get("strongest") or {}).get("by_auc") or {}
    t = verdict.get("tpr_at_1pct_fpr") or {}
    return {"job": f'<a href="#job-{i}">{html.esc(Path(job["run_dir"]).name)}</a>', "cell": cell,
            "seed": job.get("seed", ""), "verdict": ("leak" if verdict.get("leak_detected") else "no leak") if verdict else "—",
            "severity": verdict.get("severity", "—"), "p": f"{verdict['p_value']:.2g}" if verdict else "—",
            "strongest (AUC)": f"{s.get('method', '—')} {s.get('auc', float('nan')):.3f}" if s else "—",
            "TPR@1%FPR": tpr_text({"tpr_at_1pct_fpr": t.get("value"), "tpr_at_1pct_fpr_status": t.get("status")})
            if t else "—", "epsilon >=": f"{verdict['epsilon_lower_bound']:.2f}" if verdict else "—",
            "blind AUC": html_job._num(verdict.get("blind_baseline_auc")) if verdict else "—",
            "warnings": len(verdict.get("warnings", [])) if verdict else "—"}


def _sweep_files(written: list[Path]) -> str:
    """The sections socinf report wrote for the sweep: their Markdown tables and their figures, in order."""
    out = []
    for path in written:
        if path.suffix == ".md" and path.name not in ("index.md", "missing.md") and path.exists():
            out.append(html.markdown(path.read_text()))
        elif path.suffix == ".png" and path.exists():
            out.append(html.png_figure(path))
    return "\n".join(out)


def sweep_html(runs, written: list[Path], caveat: str | None, cells: dict[str, str]) -> str:
    jobs = list(runs.complete)
    loaded = [job_scores(job) for job in jobs]
    verdicts = [recomputed_verdict(job, t, s) for job, (t, s) in zip(jobs, loaded)]
    rows = [_overview_row(i, job, v, cells.get(job["run_dir"], "")) for i, (job, v) in enumerate(zip(jobs, verdicts))]
    body = [f"<h1>{html.esc(TITLE)}</h1>",
            f'<p class="meta">{html.esc(str(runs.root))}: {len(jobs)} complete job(s), {len(runs.failed)} failed.</p>',
            f'<p class="note">{html.esc(caveat)}</p>' if caveat else "",
            "<h2>Overview: one row per job</h2>", html.table(rows, raw=("job",))]
    if runs.failed:
        body += ["<h3>Jobs that did not complete</h3>",
                 html.table([{"job": f["run_dir"], "error": f["error"]} for f in runs.failed])]
    sweep_part = _sweep_files(written)
    if sweep_part:
        body += ["<h2>The sweep's tables and figures</h2>", sweep_part]
    as_png = len(jobs) > SVG_JOBS
    for i, (job, (table, scores)) in enumerate(zip(jobs, loaded)):
        job = {**job, "verdict": verdicts[i]}
        body += [f'<section id="job-{i}"><h2>{html.esc(Path(job["run_dir"]).name)}: {html.esc(cells.get(job["run_dir"], ""))}'
                 f" — {html.esc(_heading(job))}</h2>",
                 job_body(job, table, scores, job_exposure(job, table, scores), as_png), "</section>"]
    return html.page(TITLE, "\n".join(body))


def cell_labels(runs) -> dict[str, str]:
    """Each job's cell as the overrides that vary between the sweep's jobs, the seed aside."""
    from socinf.report.frame import runs_frame, varying_overrides

    frame = runs_frame(runs)
    keys = [k for k in varying_overrides(frame) if k != "seed"]
    return {d: " ".join(f"{k.split('/')[-1]}={o.get(k)}" for k in keys if o.get(k) is not None)
            for d, o in zip(frame.run_dir, frame.overrides)}


def write(runs, out_dir: Path, written: list[Path], caveat: str | None = None, cells: dict | None = None) -> Path:
    """``report.html`` for a run dir (its audit) or a sweep (overview, the sweep's sections, every job)."""
    path = Path(out_dir) / REPORT_FILE
    if len(runs.complete) == 1 and not runs.failed and Path(runs.complete[0]["run_dir"]) == Path(runs.root):
        text = single_run_html(runs.complete[0], written=written, caveat=caveat)
    else:
        text = sweep_html(runs, written, caveat, cell_labels(runs) if cells is None else cells)
    atomic_write_text(path, text)
    return path
