"""``socinf report PATH [--out DIR]``: tables and figures for a run dir or a multirun dir.

Every section of ``sections.SECTIONS`` that applies to the sweep writes its files into
``PATH/report/`` (or ``--out DIR``); ``index.md`` lists them. Failed jobs and empty cells are
listed in ``missing.md``. Table II is also printed in the terminal.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from rich.console import Console

from socinf.errors import SocinfError
from socinf.io import atomic_write_text
from socinf.report.runs import load_runs
from socinf.report.sections import SECTIONS

USAGE = "usage: socinf report PATH [--out DIR]   (PATH: a run dir outputs/DATE/TIME or a multirun dir)"


def parse_args(args: list[str]) -> tuple[Path, Path | None]:
    args = list(args)
    out = None
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args):
            raise SocinfError("report: --out needs a directory; " + USAGE)
        out = Path(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1 or args[0].startswith("-"):
        raise SocinfError(f"report: expected one PATH, got {args!r}; " + USAGE)
    return Path(args[0]), out


def report_command(args: list[str], console: Console | None = None) -> list[Path]:
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return []
    path, out = parse_args(args)
    console = console or Console()
    runs = load_runs(path)
    out_dir = out or path / "report"
    console.print(f"{len(runs.complete)} complete job(s), {len(runs.failed)} failed under {path}")
    written: list[Path] = []
    for name in SECTIONS:
        section = importlib.import_module(name)
        if section.applies(runs):
            written += section.write(runs, out_dir, console)
    index = out_dir / "index.md"
    lines = [f"# socinf report for {path}", "", f"{len(runs.complete)} complete job(s), {len(runs.failed)} failed.", ""]
    lines += [f"- [{p.name}]({p.name})" for p in written]
    atomic_write_text(index, "\n".join(lines) + "\n")
    console.print(f"report written to {out_dir} ({len(written) + 1} files)")
    return written + [index]
