"""``socinf report PATH [--out DIR] [--format png|pdf]``: tables and figures for a run dir or a multirun dir.

Every section of ``sections.SECTIONS`` that applies to the sweep writes its files into
``PATH/report/`` (or ``--out DIR``), then ``report.html`` gathers the audit(s) and those sections in one
self-contained file (``socinf.report.html_report``); ``index.md`` lists them. ``runs.csv`` (one row per job) is
always written and a compact table of the sweep printed; the paper-shaped sections appear when the
sweep holds their cells. Jobs that did not complete are listed in ``missing.md``. Figures are PNG,
or vector PDF with ``--format pdf``.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from socinf.errors import SocinfError

USAGE = ("usage: socinf report PATH [--out DIR] [--format png|pdf]   "
         "(PATH: a run dir outputs/DATE/TIME or a multirun dir)")
HELP = USAGE + """

Tables and figures for one run or a whole sweep, written to PATH/report/ (or --out DIR); reads the jobs'
metrics.json, changes nothing else. Always:
  report.html      one self-contained file to read, keep and send: the verdict first, ROC curves, score
                   histograms, the epsilon bounds and the blind baseline, utility, diagnostics, the most
                   exposed records, the config and the command that reproduces each run
  runs.csv         one row per job: what varies across the jobs, every attack metric, the strongest attack,
                   the target's accuracies and overfitting gap, the collision ceiling, each threshold attack
  roc_grid_<protocol>.png   log-log ROC curves of every attack, one panel per dataset and target
  missing.md/.csv  the jobs that did not complete, each with its error
  index.md         the list of what was written
and when the sweep holds the paper's cells at the paper's sizes: table2.* and table2_lowfpr.* (the paper's
Table II, Markdown, LaTeX, CSV), paper_decoded.*, the paper's figures (otherwise one caveat line says why not);
when they apply: compare_methods.*, dp_audit.*, the overfitting, attacker-knowledge and
defenses tables and figures. A compact table of the jobs is printed. Figures: PNG, or PDF with --format pdf.

example:
  socinf run -m dataset=tweet target=logistic,xgboost
  socinf report multirun/DATE/TIME          # -> multirun/DATE/TIME/report/
"""


def _option(args: list[str], name: str, what: str) -> str | None:
    if name not in args:
        return None
    i = args.index(name)
    if i + 1 >= len(args):
        raise SocinfError(f"report: {name} needs {what}; " + USAGE)
    value = args[i + 1]
    del args[i : i + 2]
    return value


def parse_args(args: list[str]) -> tuple[Path, Path | None, str]:
    from socinf.report.figures import FORMATS  # matplotlib: only once there is a report to write

    args = list(args)
    out = _option(args, "--out", "a directory")
    fmt = _option(args, "--format", "png or pdf") or "png"
    if fmt not in FORMATS:
        raise SocinfError(f"report: --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if len(args) != 1 or args[0].startswith("-"):
        raise SocinfError(f"report: expected one PATH, got {args!r}; " + USAGE)
    return Path(args[0]), (Path(out) if out else None), fmt


def report_command(args: list[str], console=None) -> list[Path]:
    if any(a in ("-h", "--help") for a in args):
        print(HELP, end="")
        return []
    from rich.console import Console

    from socinf.io import atomic_write_text
    from socinf.report import html_report
    from socinf.report.figures import set_format
    from socinf.report.frame import paper_caveat, runs_frame
    from socinf.report.runs import load_runs
    from socinf.report.sections import SECTIONS

    path, out, fmt = parse_args(args)
    set_format(fmt)
    console = console or Console()
    runs = load_runs(path)
    out_dir = out or path / "report"
    written: list[Path] = []
    for name in SECTIONS:
        section = importlib.import_module(name)
        if section.applies(runs):
            written += section.write(runs, out_dir, console)
    caveat = paper_caveat(runs_frame(runs))
    written.append(html_report.write(runs, out_dir, written, caveat))
    index = out_dir / "index.md"
    unreadable = sum(f.get("status") == "unreadable" for f in runs.failed)
    lines = [f"# socinf report for {path}", "", f"{len(runs.complete)} complete job(s), {len(runs.failed) - unreadable} "
             f"failed, {unreadable} unreadable (missing.md says why).", ""]
    if caveat:
        console.print(caveat)
        lines += [caveat, ""]
    lines += [f"- [{p.name}]({p.name})" for p in written]
    atomic_write_text(index, "\n".join(lines) + "\n")
    console.print(f"report written to {out_dir} ({len(written) + 1} files)")
    return written + [index]
