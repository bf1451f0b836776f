"""The report's sections: the extension point of ``socinf report``.

A section is a module with two functions:

    applies(runs: SweepRuns) -> bool                      # does this sweep hold anything for it?
    write(runs: SweepRuns, out_dir: Path, console) -> list[Path]   # files written (atomically)

``runs`` is ``socinf.report.runs.load_runs(PATH)``; ``out_dir`` is ``PATH/report``; ``console`` a
rich Console for anything printed. To add a section (defenses, overfitting, ...), write such a
module and append its dotted name to ``SECTIONS``; it runs in this order, after the ones before it.
``socinf.report.frame.runs_frame(runs)`` gives one row per job with its cell keys and metrics.
"""
from __future__ import annotations

SECTIONS: list[str] = [
    "socinf.report.jobs",  # runs.csv (one row per job, any sweep); prints the sweep's compact table
    "socinf.report.table2",  # table2.{md,csv,tex}, table2_lowfpr.*, paper_decoded.{md,tex}; prints Table II
    "socinf.report.ecdf",  # fig5_<protocol>.png, fig6_<protocol>.png
    "socinf.report.compare",  # compare_methods.{md,tex,csv}, fig8/9/10_<metric>_<protocol>.png (Shadow ran)
    "socinf.report.roc",  # roc_grid_<protocol>.{png,md}
    "socinf.report.overfitting",  # fig7_<dataset>_<target>_<protocol>.png, overfitting.{md,csv}
    "socinf.report.defenses",  # defenses.{md,csv}, defenses_<dataset>.png (experiment=defenses)
    "socinf.report.dp_audit",  # dp_audit.{md,csv}, dp_audit_epsilon.png, dp_audit_utility.png (experiment=dp_audit)
    "socinf.report.knowledge",  # attacker_knowledge.{md,csv} (experiment=attacker_knowledge)
    "socinf.report.missing",  # missing.{md,csv}: the jobs of this sweep that did not complete; keep last
]
# After them, socinf report writes report.html (socinf.report.html_report): the audits and these sections' files.
