"""The fast tier (``make test-fast``): no corpora, no network. The whole pipeline on a labelled English
corpus generated here, and the command line's behaviour on a fresh machine."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from generated_corpus import english_corpus, keyword_table
from socinf_runner import socinf

ROOT = Path(__file__).resolve().parents[1]
@pytest.fixture(scope="module")
def english_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tweets.csv"
    keyword_table(english_corpus(300)).to_csv(path, index=False)
    return path


def test_pipeline_on_a_generated_english_corpus_data_target_socinf_metrics_report(tmp_path, english_csv):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    args = ["run", "dataset=csv", f"dataset.path={english_csv}", "target=xgboost", "eval.size=150",
            "synthesis.n_records=500", "synthesis.burn_in=50", "mimic.epochs=15", "threads=1"]
    proc = socinf(args, cwd=work, data_dir=None, env_extra={"SOCINF_DATA": str(home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in work.iterdir()) == ["outputs"]  # caches went to the data home
    assert (home / "cache" / "stages").is_dir()
    run_dir = next(work.glob("outputs/*/*"))
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] and m["dataset"]["label"] == "CSV(4)" and m["method"]["name"] == "socinf"
    assert 0 <= m["attack"]["auc"] <= 1 and m["target"]["test_accuracy"] > 0.5  # the words carry the label
    assert m["queries"]["per_stage"]["evaluation"]["sent"] == 300
    assert m["strongest"]["by_auc"]["method"] in {m["method"]["name"], *m["baselines"]}
    assert stat.S_IMODE((run_dir / "metrics.json").stat().st_mode) == 0o666 & ~_umask()
    report = socinf(["report", str(run_dir)], cwd=work, data_dir=None)
    assert report.returncode == 0, report.stderr[-2000:]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_version_data_help_and_a_closed_pipe(tmp_path):
    from socinf import __version__

    assert socinf(["--version"], cwd=tmp_path, data_dir=None).stdout.strip() == f"socinf {__version__}"
    helped = socinf(["data", "--help"], cwd=tmp_path, data_dir=None)
    assert helped.returncode == 0 and "socinf data fetch" in helped.stdout and not helped.stderr
    for args in (["--help"], ["run", "--help"]):
        piped = subprocess.run(f"{sys.executable} -m socinf_cli {' '.join(args)} | head -1", shell=True,
                               capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert len(piped.stdout.splitlines()) == 1 and "Traceback" not in piped.stderr, piped.stderr


def test_dry_run_prints_the_queries_and_touches_nothing(tmp_path):
    proc = socinf(["run", "dataset=tweet", "eval.size=200", "synthesis.n_records=900", "--dry-run"], cwd=tmp_path,
                  data_dir=None, env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    assert "up to 900" in proc.stdout and "400 (2·eval.size" in proc.stdout and "baselines" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no run dir, no data home, nothing downloaded
    bad = socinf(["run", "eval.size=0", "--dry-run"], cwd=tmp_path, data_dir=None)
    assert bad.returncode == 2 and bad.stderr.strip() == "socinf: error: eval.size=0: expected auto or an integer in [1, 100000000]"


def test_rejected_run_prints_one_line_and_leaves_no_run_dir(tmp_path):
    proc = socinf(["run", "dataset.per_class=0"], cwd=tmp_path, data_dir=None,
                  env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "socinf: error: dataset.per_class=0: expected an integer in [1, 100000000] or null"
    assert "error" not in proc.stdout and not (tmp_path / "outputs").exists()


def test_missing_corpus_without_network_is_one_line_and_info_exits_2(tmp_path):
    env = {"SOCINF_DATA": str(tmp_path / "home"), "SOCINF_DATA_URL": "http://127.0.0.1:9"}
    proc = socinf(["run", "dataset=clue", "dataset.num_classes=7"], cwd=tmp_path, data_dir=None, env_extra=env)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "cannot download valid.txt from http://127.0.0.1:9/clue-emotion/valid.txt" in proc.stderr
    assert not (tmp_path / "outputs").exists() and not list((tmp_path / "home" / "clue-emotion").iterdir())
    info = socinf(["data", "info", "clue"], cwd=tmp_path, data_dir=None, env_extra=env)
    assert info.returncode == 2 and "missing" in info.stdout
    assert info.stderr.strip() == "socinf: error: clue: missing or wrong files (see above); run 'socinf data fetch clue'"


def test_repeated_convergence_warnings_are_summarised_in_one_line(caplog):
    import logging

    from sklearn.neural_network import MLPClassifier

    from socinf.runtime import summarised_warnings

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 4)), rng.integers(0, 2, 60)
    log = logging.getLogger("socinf.test")
    with caplog.at_level(logging.INFO, logger="socinf.test"), summarised_warnings(log):
        for seed in range(3):
            MLPClassifier(max_iter=2, random_state=seed).fit(X, y)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("ConvergenceWarning (x3): Stochastic Optimizer"), lines


def test_sweep_check_composes_once_per_seedless_job_and_checks_every_seed():
    """Jobs that differ only in ``seed=N`` share one Hydra composition in the sweep's pre-check; each still gets
    its own config (its seed) and its own validation, the same as composing it alone."""
    from omegaconf import OmegaConf

    from socinf.errors import ConfigError
    from socinf_cli import sweep_check
    from socinf_cli.compose import compose

    calls = []

    def counted(overrides):
        calls.append(list(overrides))
        return compose(list(overrides))

    jobs = [[*cell, f"seed={seed}"] for cell in (["target=logistic"], ["target=xgboost", "defense=dp"])
            for seed in (0, 1, 2)] + [["target=logistic"]]
    shared = sweep_check._check_all(jobs, counted)
    alone = [(job, *sweep_check._check(job, compose)) for job in jobs]
    assert len(calls) == 3  # one per seedless job: logistic, xgboost+dp, and the job without a seed
    for (job, cfg, why), (_, cfg_alone, why_alone) in zip(shared, alone):
        assert OmegaConf.to_yaml(cfg) == OmegaConf.to_yaml(cfg_alone) and why == why_alone, job
    assert [why is None for _, _, why in shared] == [True] * 3 + [False] * 3 + [True]  # dp with xgboost cannot run
    for bad in ("seed=-1", "seed=4294967296"):  # out of range: composed as given, and stops the sweep as it did
        with pytest.raises(ConfigError, match=f"{bad}: expected an integer in"):
            sweep_check._check_all([["target=logistic", "seed=0"], ["target=logistic", bad]], compose)
