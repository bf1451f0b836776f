"""`socinf report` on tiny real sweeps (real `socinf run -m` subprocesses on real Tweet data)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["dataset=tweet", "target=logistic", "synthesis=population", "eval.size=100", "mimic.epochs=2",
        "mimic.depth=3", "method.n_models=2", "hydra.launcher.n_jobs=1"]
EVERY_FILE = ["table2.md", "table2.csv", "table2.tex", "table2_lowfpr.md", "table2_lowfpr.csv", "table2_lowfpr.tex",
              "compare_methods.md", "compare_methods.csv", "missing.md", "missing.csv", "index.md",
              "fig5_honest.png", "fig6_honest.png", "fig8_accuracy_honest.png", "fig9_precision_honest.png",
              "fig10_recall_honest.png", "roc_honest.png"]


def socinf(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOCINF_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def sweep(tmp_path: Path, data_dir: Path, name: str, *overrides: str) -> Path:
    out = tmp_path / name
    done = socinf("run", "-m", *TINY, *overrides, f"hydra.sweep.dir={out}", f"data.root={tmp_path / 'data'}",
                  cwd=tmp_path, data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def reported(tmp_path_factory, shared_data_dir):
    """One real sweep: SocInf and Shadow complete (eval.size=100); both fail with eval.size=100000."""
    tmp_path = tmp_path_factory.mktemp("report")
    out = sweep(tmp_path, shared_data_dir, "sweep", "method=socinf,shadow", "eval.size=100,100000")
    done = socinf("report", str(out), cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    return out, done


def test_report_on_a_two_run_sweep_writes_every_file(reported):
    out, done = reported
    report = out / "report"
    for name in EVERY_FILE:
        assert (report / name).stat().st_size > 0, name
    for name in (n for n in EVERY_FILE if n.endswith(".png")):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "Table II" in done.stdout and "Tweet(4)" in done.stdout
    rows = list(csv.DictReader((report / "table2.csv").open()))
    cell = [r for r in rows if r["dataset"] == "Tweet(4)" and r["target"] == "logistic" and r["metric"] == "accuracy"]
    assert cell[0]["n_seeds"] == "1" and cell[0]["paper"] == "0.6684"
    assert 0.0 <= float(cell[0]["mean"]) <= 1.0
    assert float(cell[0]["diff"]) == pytest.approx(float(cell[0]["mean"]) - 0.6684)
    methods = {r["method"] for r in csv.DictReader((report / "compare_methods.csv").open())
               if r["dataset"] == "Tweet(4)" and r["target"] == "logistic" and r["n_seeds"] == "1"}
    assert methods == {"socinf", "shadow", "confidence", "entropy", "modified_entropy", "loss", "gap"}
    table2_md = (report / "table2.md").read_text()
    assert "## Protocol: honest" in table2_md and "(paper 0.668" in table2_md
    missing = (report / "missing.md").read_text()  # the cells this sweep did not run are listed, not dropped
    assert "| missing Table II cell | honest | Weibo(5) | xgboost |" in missing
    assert "| missing Table II cell | honest | Tweet(4) | logistic |" not in missing


def test_report_lists_a_failed_run_as_missing(reported):
    out, done = reported
    rows = list(csv.DictReader((out / "report" / "missing.csv").open()))
    failed = sorted([r for r in rows if r["kind"] == "failed job"], key=lambda r: r["method"])
    assert [r["method"] for r in failed] == ["shadow", "socinf"]
    for row in failed:
        assert "eval.size=100000" in row["detail"], row  # the job's own error, with its run dir
        assert row["dataset"] == "Tweet(4)" and row["target"] == "logistic" and row["protocol"] == "honest"
    assert "2 failed job" in done.stdout
    index = (out / "report" / "index.md").read_text()
    assert "2 complete job(s), 2 failed." in index and "missing.md" in index


def test_experiment_sweeps_follow_the_seeds_list():
    from hydra import compose, initialize_config_dir

    from socinf_cli.compose import config_dir
    from socinf_cli.config import register_configs

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = compose("config", overrides=["experiment=compare_shadow", "seeds=[3,7]"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params.seed == "3,7" and params.method == "socinf,shadow"
    assert params["+experiment/cell"] == "tweet2,tweet4,weibo3,weibo5"


def test_report_rejects_a_path_without_runs(tmp_path, shared_data_dir):
    done = socinf("report", str(tmp_path), cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 2 and done.stderr.startswith("socinf: error: report: no Hydra job under")


def test_a_remote_jobs_own_server_run_is_not_counted_as_a_job(tmp_path):
    from socinf.report.runs import load_runs

    job = tmp_path / "0"
    for d in (job, job / "server"):  # target=remote starts `socinf serve` with its run dir inside the job
        (d / ".hydra").mkdir(parents=True)
        (d / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (job / "metrics.json").write_text('{"complete": true}')
    runs = load_runs(tmp_path)
    assert [r["run_dir"] for r in runs.complete] == [str(job)] and runs.failed == []


def test_attacker_knowledge_sweep_gets_its_own_table(tmp_path, shared_data_dir):
    """experiment=attacker_knowledge: one row per attacker_fraction, the attacker's record count scaling with it."""
    out = tmp_path / "knowledge"
    done = socinf("run", "-m", "experiment=attacker_knowledge", "dataset.attacker_fraction=0.25,1.0", "eval.size=100",
                  "synthesis.n_records=600", "synthesis.burn_in=50", "mimic.epochs=2", "mimic.depth=3",
                  "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={out}", f"data.root={tmp_path / 'data'}",
                  cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    done = socinf("report", str(out), cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out / "report" / "attacker_knowledge.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["attacker_fraction"]) for r in rows] == [0.25, 1.0]
    small, full = (float(r["attacker_records"]) for r in rows)
    assert abs(small - 0.25 * full) <= 4  # stratified per class (4 classes)
    assert all(0 <= float(r["auc"]) <= 1 for r in rows)
    assert "attacker knowledge" in done.stdout
