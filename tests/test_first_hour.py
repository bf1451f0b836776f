"""Issue 21, a newcomer's first hour: Hydra's mistakes in one line, each command's own help, a small file of
one's own texts that just runs, a run that shows the way on, sweeps previewed and checked before they start, a
missing server named at once. Real `socinf` subprocesses and real sockets; no corpora (the fast tier)."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from generated_corpus import english_corpus, keyword_table
from socinf_runner import socinf, socinf_many

SMALL = ["synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=5", "threads=1"]

# The six commands of the issue: before, each printed 10+ lines of Hydra (a search-path dump) and exited 1.
HYDRA_MISTAKES = [
    ("dataset=twitter", "dataset=twitter: no such option; did you mean tweet?"),
    ("target=xgb", "target=xgb: no such option; did you mean xgboost?"),
    ("dataset.num_clases=4", "dataset.num_clases: no such key in dataset; did you mean dataset.num_classes?"),
    ("foo=bar", "foo: no such key or config group"),
    ("eval.size=1.5", "eval.size=1.5: expected auto or an integer in [1, 100000000]"),
    ("seed=abc", "seed='abc': expected an integer in [0, 4294967295]"),
]
# What Hydra let pass, or answered with advice that would add the typo.
PLUS_MISTAKES = [
    ("+foo=bar", "foo: no such key or config group"),
    ("+dataset.num_clases=4", "did you mean dataset.num_classes?"),
    ("+dataset.num_classes=4", "+dataset.num_classes: dataset.num_classes is a key of socinf's config already; set "
                               "it without the +: dataset.num_classes=4"),
    ("experiment=nope", "experiment=nope: no such option; expected one of attack_models"),
]


def _nothing_written(folder: Path) -> None:
    assert [p.name for p in folder.iterdir()] == [], "a rejected command left files behind"


def test_hydra_mistakes_are_one_line_and_exit_2(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    mistakes = HYDRA_MISTAKES + PLUS_MISTAKES
    done = socinf_many([["run", arg] for arg, _ in mistakes], work, env_extra={"SOCINF_DATA": str(work / "home")})
    for (arg, expected), proc in zip(mistakes, done):
        assert proc.returncode == 2, (arg, proc.returncode, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("socinf: error: "), (arg, proc.stderr)
        assert expected in proc.stderr, (arg, proc.stderr)
        assert "+dataset.num_clases" not in proc.stderr and proc.stdout == "", (arg, proc.stderr, proc.stdout)
    _nothing_written(work)


def test_plus_stays_free_in_a_free_form_mapping_and_a_misspelt_parameter_gets_its_neighbour(tmp_path):
    added, misspelt = socinf_many([["run", "+target.params.gamma=2", "--cfg", "job"],
                                   ["run", "target.params.max_dept=3", "--cfg", "job"]], tmp_path)
    assert added.returncode == 0 and "gamma: 2" in added.stdout, added.stderr
    assert misspelt.returncode == 2 and misspelt.stderr == (
        "socinf: error: target.params.max_dept: target.params has no key max_dept; did you mean "
        "target.params.max_depth?\n")


COMMAND_HELP = {"run": "socinf run: does this classifier leak its training data", "serve": "socinf serve: train",
                "report": "usage: socinf report PATH", "data": "usage: socinf data fetch",
                "export": "usage: socinf export DIR"}


def test_each_command_answers_help_with_its_own_text_and_does_no_work(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    commands = [[name, flag] for name in COMMAND_HELP for flag in ("--help", "-h")]
    commands.append(["export", "models/tweet", "--help"])  # before: trained a model into a dir named --help
    for args, proc in zip(commands, socinf_many(commands, work, env_extra={"SOCINF_DATA": str(home)})):
        assert proc.returncode == 0 and proc.stderr == "", (args, proc.stderr)
        assert proc.stdout.startswith(COMMAND_HELP[args[0]]), (args, proc.stdout[:200])
        for other, text in COMMAND_HELP.items():
            assert other == args[0] or not proc.stdout.startswith(text)
    _nothing_written(work)
    assert not home.exists()


def test_report_and_run_help_say_what_they_write_and_list_groups_not_the_config(tmp_path):
    report, run = socinf_many([["report", "--help"], ["run", "--help"]], tmp_path)
    assert "PATH/report/" in report.stdout and "runs.csv" in report.stdout and "missing.md" in report.stdout
    assert "n_keywords" not in run.stdout and "defense " in run.stdout  # groups, each described; no config dump
    assert len(run.stdout.splitlines()) < 60


def test_every_config_group_has_its_one_line_description():
    from socinf_cli.conf_tree import config_dir
    from socinf_cli.help import GROUPS

    groups = {str(p.parent.relative_to(config_dir())) for p in config_dir().rglob("*.yaml")} - {"."}
    assert {g for g in groups if not g.startswith("hydra")} == set(GROUPS)


@pytest.fixture(scope="module")
def three_hundred_texts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("texts") / "posts.csv"
    english_corpus(75, seed=2)[["text", "label"]].to_csv(path, index=False)  # 4 emotions x 75 = 300 texts
    return path


def test_300_texts_run_with_no_size_given_and_the_run_shows_the_way_on(tmp_path, three_hundred_texts):
    run_dir = tmp_path / "run"
    proc = socinf(["run", "dataset=text", f"dataset.path={three_hundred_texts}", "target=logistic", *SMALL,
                   f"hydra.run.dir={run_dir}"], cwd=tmp_path, data_dir=None,
                  env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]  # before: eval.size=1000: at most ... (the default failed)
    splits = json.loads((run_dir / "metrics.json").read_text())["dataset"]["splits"]
    n = splits["eval_members"]
    assert n == splits["eval_nonmembers"] == min(splits["members"], splits["heldout"]) < 1000
    assert (f"eval.size=auto: {n} members and {n} non-members (the most that {splits['members']} members and "
            f"{splits['heldout']} heldout non-members allow, at most 1000)") in proc.stdout
    assert "protocol honest (synthesis=statistics" in proc.stdout.replace("\n", " ")  # the table's title
    assert proc.stdout.strip().splitlines()[-1] == f"report: socinf report {run_dir}"
    log = (run_dir / "run.log").read_text()
    assert "STRONGEST by AUC" in log and "TPR @ 1% FPR" in log and "protocol honest" in log  # the full table


def test_an_explicit_size_stays_strict(tmp_path, three_hundred_texts):
    proc = socinf(["run", "dataset=text", f"dataset.path={three_hundred_texts}", "eval.size=500", *SMALL,
                   f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, data_dir=None,
                  env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 2 and "eval.size=500: at most" in proc.stderr and "eval.size=auto" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_sweep_dry_run_lists_the_jobs_and_their_queries_and_starts_nothing(tmp_path):
    from socinf.attacks.synthesis import SynthesisConfig
    from socinf.data.dataset_config import AUTO_SIZE_MAX

    proc = socinf(["run", "-m", "dataset=tweet", "target=logistic,xgboost", "--dry-run"], cwd=tmp_path, data_dir=None,
                  env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    per_job = SynthesisConfig().n_records + 2 * AUTO_SIZE_MAX  # synthesis, then members and non-members
    rows = [line for line in proc.stdout.splitlines() if "target=" in line and "up to" in line]
    assert len(rows) == 2 and "target=logistic" in rows[0] and "target=xgboost" in rows[1], proc.stdout
    assert all(f"up to {per_job:,}" in row for row in rows), proc.stdout
    assert f"total: up to {2 * per_job:,} target queries in 2 jobs" in proc.stdout
    _nothing_written(tmp_path)


@pytest.fixture(scope="module")
def keyword_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("table") / "keywords.csv"
    keyword_table(english_corpus(150, seed=3)).to_csv(path, index=False)
    return path


def test_a_sweep_with_one_impossible_job_fails_before_any_job_starts(tmp_path, keyword_csv):
    sweep = tmp_path / "sweep"
    proc = socinf(["run", "-m", "dataset=csv", f"dataset.path={keyword_csv}", "target=logistic,xgboost", "defense=dp",
                   *SMALL, f"hydra.sweep.dir={sweep}"], cwd=tmp_path, data_dir=None,
                  env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith("socinf: error: sweep job 1 of 2 cannot run (target=xgboost): "
                                  "defense=dp with target=xgboost"), proc.stderr
    assert "no job was started" in proc.stderr and "resume" not in proc.stderr
    assert not sweep.exists()  # before: job 0 ran, then job 1 failed, and resume=true failed again


def test_a_sweep_may_leave_its_impossible_jobs_out_and_counts_the_rest(tmp_path, keyword_csv):
    sweep = tmp_path / "sweep"
    proc = socinf(["run", "-m", "dataset=csv", f"dataset.path={keyword_csv}", "target=logistic,xgboost", "defense=dp",
                   "hydra.sweeper.skip_impossible=true", "synthesis=population", *SMALL, f"hydra.sweep.dir={sweep}"],
                  cwd=tmp_path, data_dir=None, env_extra={"SOCINF_DATA": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "not launched, cannot run: job 1 of 2: defense=dp with target=xgboost" in proc.stdout
    done = [line for line in proc.stdout.splitlines() if line.startswith("done ")]
    assert len(done) == 1 and done[0].startswith("done    [1/1] target=logistic:"), proc.stdout
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0"]  # job 1 made no dir


def _closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_port_fails_within_3_s_asking_whether_the_server_runs():
    from socinf.errors import RemoteTargetError
    from socinf.targets.remote_client import RemoteTarget

    url = f"http://127.0.0.1:{_closed_port()}"
    target = RemoteTarget(url)  # the default retries (6) stay for timeouts
    started = time.monotonic()
    with pytest.raises(RemoteTargetError) as err:
        target.connect()
    elapsed = time.monotonic() - started
    assert elapsed <= 3.0, elapsed  # before: ~12 s of back-off, then "gave up after 7 attempts"
    assert str(err.value).startswith(f"no server at {url}: is `socinf serve` running?"), err.value
    assert target.requests == 3  # the attempt and two quick retries


def test_read_timeouts_keep_the_configured_retries():
    from socinf.errors import RemoteTargetError
    from socinf.targets.remote_client import RemoteTarget

    with socket.socket() as silent:  # listens (the kernel completes the handshake) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        target = RemoteTarget(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.2, max_retries=3,
                              backoff_s=0.01)
        with pytest.raises(RemoteTargetError, match=r"gave up after 4 attempts .* no answer within"):
            target.connect()
    assert target.requests == 4
