"""Issue 20 (Why 7): `socinf report` crashed on hostile or half-written files (a metrics.json that is a list,
{"complete": true} alone, "attack": null, a failed.json that is a list, a malformed overrides.yaml), counted
"complete": "no" as complete, and took 1.07 GB for a 100 MB metrics.json. One real run gives a real result; a
sweep dir of its copies, each spoiled in one way (the review's cases, then every value the report reads replaced
by each wrong type), is reported by one real `socinf report` process."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from socinf_runner import socinf

SMALL = ["dataset.per_class=150", "eval.size=60", "synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=3",
         "threads=1", "target=logistic"]
# the values the report reads (socinf.report.readable), each replaced by every wrong kind below
PATHS = ["protocol", "protocol.name", "dataset", "dataset.label", "dataset.splits", "dataset.splits.eval_members",
         "method", "method.name", "method.attack_model", "method.mimic", "method.mimic.trained", "attack", "attack.auc",
         "attack.tpr_at_1pct_fpr", "attack.diagnostics", "target", "target.name", "target.train_accuracy",
         "target.defense", "strongest", "strongest.by_auc", "strongest.by_auc.auc_ci95", "baselines", "collision",
         "collision.ceiling_accuracy", "config", "config.dataset", "config.dataset.name", "config.target",
         "config.target.params", "config.defense", "seed", "complete"]
WRONG = [None, [], "x", True, 1e308, {"a": 1}]


def _set(node: dict, path: str, value) -> dict:
    node = json.loads(json.dumps(node))
    *parents, last = path.split(".")
    inner = node
    for key in parents:
        inner = inner[key]
    inner[last] = value
    return node


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, shared_data_dir) -> Path:
    tmp = tmp_path_factory.mktemp("report-hostile")
    proc = socinf(["run", *SMALL, f"hydra.run.dir={tmp / 'run'}", f"data.root={tmp / 'data'}"], tmp, shared_data_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp / "run"


def _copy(real: Path, sweep: Path, name: str) -> Path:
    job = sweep / name
    shutil.copytree(real, job)
    return job


def _report(sweep: Path, tmp: Path) -> tuple[subprocess.CompletedProcess, float]:
    """`socinf report` in its own process; (the process, its peak RSS in MB)."""
    code = ("import sys; from socinf_cli.cli import main\ntry:\n    main(['report', sys.argv[1]])\nfinally:\n"
            "    print('peak-rss-kb', [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0],"
            " file=sys.stderr)")  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's)
    proc = subprocess.run([sys.executable, "-c", code, str(sweep)], cwd=tmp, capture_output=True, text=True,
                          timeout=600)
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("peak-rss-kb")]
    return proc, int(peak[-1].split()[1]) / 1024 if peak else float("nan")


def test_the_reviews_hostile_files(real_run, tmp_path):
    metrics = json.loads((real_run / "metrics.json").read_text())
    sweep = tmp_path / "sweep"
    spoiled = {"list": [1, 2], "complete-alone": {"complete": True}, "attack-null": {**metrics, "attack": None},
               "complete-no": {**metrics, "complete": "no"}}
    for name, value in spoiled.items():
        (_copy(real_run, sweep, name) / "metrics.json").write_text(json.dumps(value))
    failed = _copy(real_run, sweep, "failed-list")
    (failed / "metrics.json").unlink()
    (failed / "failed.json").write_text("[1, 2]")
    (_copy(real_run, sweep, "bad-overrides") / ".hydra" / "overrides.yaml").write_text("- a: [\n")
    with open(_copy(real_run, sweep, "huge") / "metrics.json", "w") as fh:
        fh.write('{"complete": true, "pad": "' + "x" * (100 * 1024 * 1024) + '"}')
    (_copy(real_run, sweep, "other-scores") / "membership_scores.csv").write_text("record_id,member,score\n1,1,0.5\n")
    _copy(real_run, sweep, "fine")
    proc, peak_mb = _report(sweep, tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert peak_mb < 600, f"the report took {peak_mb:.0f} MB for a 100 MB metrics.json"
    rows = {Path(r["run_dir"]).name: r for r in csv.DictReader(open(sweep / "report" / "runs.csv"))}
    assert {n: r["status"] for n, r in rows.items()} == {
        "list": "unreadable", "complete-alone": "unreadable", "attack-null": "unreadable", "complete-no": "unreadable",
        "failed-list": "failed", "bad-overrides": "complete", "huge": "unreadable", "other-scores": "unreadable",
        "fine": "complete"}
    missing = (sweep / "report" / "missing.md").read_text()
    for reason in ("expected an object, got a list", "dataset: missing", "attack: expected an object, got null",
                   "complete: expected true or false, got a string", "over 16 MB",
                   "membership_scores.csv is not the one its metrics.json was written with",
                   "failed.json: not a JSON object with an error"):
        assert reason in missing, reason


@pytest.mark.slow
def test_every_value_the_report_reads_replaced_by_every_wrong_kind(real_run, tmp_path):
    metrics = json.loads((real_run / "metrics.json").read_text())
    sweep = tmp_path / "sweep"
    for i, path in enumerate(PATHS):
        for j, value in enumerate(WRONG):
            try:
                spoiled = _set(metrics, path, value)
            except (KeyError, TypeError):  # a path this small run does not have (no baselines ran)
                continue
            (_copy(real_run, sweep, f"{i:02d}-{j}") / "metrics.json").write_text(json.dumps(spoiled))
    for name, text in {"config-list": "dataset: [1, 2]\n", "config-broken": "{{{\n", "config-scalar": "7\n"}.items():
        job = _copy(real_run, sweep, name)
        (job / "metrics.json").unlink()
        (job / ".hydra" / "config.yaml").write_text(text)
    proc, _ = _report(sweep, tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    rows = list(csv.DictReader(open(sweep / "report" / "runs.csv")))
    assert len(rows) == len(list(sweep.glob("*/.hydra/config.yaml")))  # every dir listed, none dropped
    for row in rows:
        if row["status"] == "complete":  # a spoiled value that still has a right type (seed=-1, auc=1e308)
            assert json.loads((Path(row["run_dir"]) / "metrics.json").read_text())["complete"] is True
