"""`socinf report` on tiny real sweeps (real `socinf run -m` subprocesses on real Tweet data)."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["dataset=tweet", "synthesis=population", "mimic.epochs=2", "mimic.depth=3", "method.n_models=2", "threads=1"]
SMALL_EVAL = "eval.size=100"  # not the paper's size: no paper section
PNG = b"\x89PNG\r\n\x1a\n"


def socinf(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOCINF_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def sweep(tmp_path: Path, data_dir: Path, name: str, *overrides: str, failures: int = 0) -> Path:
    out = tmp_path / name
    done = socinf("run", "-m", *TINY, *overrides, "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={out}",
                  f"data.root={tmp_path / 'data'}", cwd=tmp_path, data_dir=data_dir)
    if failures:  # jobs that fail by design: the sweep ends the others, then exits 2 saying how many failed
        assert done.returncode == 2 and f"{failures} of " in done.stderr, done.stderr[-2000:]
    else:
        assert done.returncode == 0, done.stderr[-2000:]
    return out


def report(path: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    done = socinf("report", str(path), *args, cwd=path.parent, data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


@pytest.fixture(scope="module")
def user_sweep(tmp_path_factory, shared_data_dir):
    """A user's own 4-job sweep: no Table II cell (SVM / NN attack models), no Shadow."""
    tmp_path = tmp_path_factory.mktemp("user")
    out = sweep(tmp_path, shared_data_dir, "sweep", SMALL_EVAL, "target=logistic,xgboost", "attack=svm,nn")
    return out, report(out, shared_data_dir)


@pytest.fixture(scope="module")
def seed_sweep(tmp_path_factory, shared_data_dir):
    """Table II's Tweet(4) / logistic cell at the paper's sizes over seeds 0 and 1, and a third job of the cell (seed 2) that fails when
    it runs: its copy of the corpora lacks the tweets. (A config that cannot work, seed=-1, now stops a sweep
    before any job starts: tests/test_first_hour.py.)"""
    tmp_path = tmp_path_factory.mktemp("seeds")
    out = sweep(tmp_path, shared_data_dir, "sweep", "target=logistic", "seed=0,1")
    (tmp_path / "no-tweets").mkdir()
    sweep(tmp_path, shared_data_dir, "sweep", "target=logistic", "seed=2", f"data.dir={tmp_path / 'no-tweets'}",
          "data.download_if_missing=false", "hydra.sweep.subdir=2", failures=1)  # job 2 of the same sweep dir
    return out, report(out, shared_data_dir)


def test_a_users_own_sweep_gets_runs_csv_and_no_missing_anywhere(user_sweep):
    out, done = user_sweep
    table = rows(out / "report" / "runs.csv")
    assert len(table) == 4
    assert {"target", "attack", "dataset", "method", "protocol", "seed", "status", "error", "auc",
            "tpr_at_1pct_fpr", "strongest_method", "strongest_auc", "loss_auc"} <= set(table[0])
    assert sorted((r["target"], r["attack"]) for r in table) == sorted(
        (t, a) for t in ("logistic", "xgboost") for a in ("svm", "nn"))
    for row in table:
        assert row["status"] == "complete" and row["dataset"] == "Tweet(4)" and row["protocol"] == "honest"
        assert row["attack_model"] == row["attack"] and row["error"] == ""
        assert float(row["strongest_auc"]) >= max(float(row["auc"]), float(row["loss_auc"]))
    assert "dataset.name" not in table[0] and "eval.size" not in table[0]  # not varying: no column
    # the terminal table groups by what varies
    assert "grouped by target, attack_model" in done.stdout
    assert sum(1 for line in done.stdout.splitlines() if re.search(r"(logistic|xgboost) +(svm|nn) +1/1 ", line)) == 4
    assert "missing" not in done.stdout.lower() and "Table II —" not in done.stdout
    report_dir = out / "report"
    assert rows(report_dir / "missing.csv") == []
    assert "Nothing missing: all 4 job(s) of this sweep completed." in (report_dir / "missing.md").read_text()
    for path in report_dir.iterdir():
        if path.suffix in (".md", ".csv", ".tex") and path.name not in ("index.md", "missing.md"):
            assert "missing" not in path.read_text().lower(), path.name
    paper = ("table2.md", "table2_lowfpr.md", "paper_decoded.md", "fig5_honest.png", "fig6_honest.png",
             "fig8_accuracy_honest.png")
    assert [name for name in paper if (report_dir / name).exists()] == []  # a user's own sweep: no paper section
    assert "No paper section" in done.stdout and "No paper section" in (report_dir / "index.md").read_text()
    methods = {(r["target"], r["method"]) for r in rows(report_dir / "compare_methods.csv")}
    assert {m for t, m in methods if m.startswith("socinf")} == {"socinf (svm)", "socinf (nn)"}
    assert {t for t, _ in methods} == {"logistic", "xgboost"}
    page = (report_dir / "report.html").read_text()
    assert page.count('<section id="job-') == 4 and "Table II —" not in page
    for i in range(4):  # the overview links every job's section, whose verdict comes first
        assert f'href="#job-{i}"' in page
        section = page.split(f'<section id="job-{i}">')[1]
        assert section.index('data-role="verdict"') < section.index("ROC of every attack")


def test_roc_grid_has_a_panel_per_cell(user_sweep):
    import matplotlib.image

    out, _ = user_sweep
    grid = out / "report" / "roc_grid_honest.png"
    assert grid.read_bytes()[:8] == PNG
    height, width = matplotlib.image.imread(grid).shape[:2]
    assert width > 1.6 * height  # one row (Tweet(4)) of two panels (logistic, xgboost)


def test_a_failed_job_is_exactly_what_is_missing(seed_sweep):
    out, done = seed_sweep
    missing = rows(out / "report" / "missing.csv")
    assert len(missing) == 1
    assert missing[0]["seed"] == "2" and "tweet: missing file" in missing[0]["detail"]
    assert missing[0]["dataset"] == "Tweet(4)" and missing[0]["target"] == "logistic"
    table = rows(out / "report" / "runs.csv")
    assert [(r["seed"], r["status"]) for r in table] == [("0", "complete"), ("1", "complete"), ("2", "failed")]
    assert "tweet: missing file" in table[2]["error"]
    assert "1 failed job(s) of 3" in done.stdout


def test_table2_with_two_seeds_reports_mean_std_and_the_paper_separately(seed_sweep):
    out, done = seed_sweep
    report_dir = out / "report"
    cells = rows(report_dir / "table2.csv")
    assert {(r["dataset"], r["target"]) for r in cells} == {("Tweet(4)", "logistic")}  # only what the sweep ran
    acc = next(r for r in cells if r["metric"] == "accuracy")
    runs = [r for r in rows(report_dir / "runs.csv") if r["status"] == "complete"]
    assert acc["n_seeds"] == "2" and acc["jobs"] == "3" and acc["paper"] == "0.6684"
    assert float(acc["mean"]) == pytest.approx(sum(float(r["accuracy"]) for r in runs) / 2)
    assert float(acc["diff"]) == pytest.approx(float(acc["mean"]) - 0.6684)
    assert float(acc["paper_member_share"]) == pytest.approx(0.642, abs=1e-3)
    assert float(acc["ours_member_share"]) == 0.5
    md = (report_dir / "table2.md").read_text()
    assert "mean ± std over 2 seeds per cell" in md and "## Ours, protocol honest" in md
    assert f"{float(acc['mean']):.3f} ± {float(acc['std']):.3f}" in md
    assert "| Tweet(4) | 0.668 | 0.773 | 0.684 |" in md  # the paper's values: a table of their own
    assert "(paper" not in md and "Δ" not in md
    assert "Table II" in done.stdout and "AUC" in done.stdout and "TPR@1%FPR" in done.stdout
    assert "protocol honest" in done.stdout
    decoded = (report_dir / "paper_decoded.md").read_text()
    assert "| Tweet(4) / logistic | 0.668 | 0.773 | 0.684 | 0.642 | 0.359 | 0.662 |" in decoded


def _check_latex(text: str) -> None:
    """Structure without a compiler: balanced braces, booktabs rules, one header row per level."""
    assert text.count("{") == text.count("}")
    tabulars = re.findall(r"\\begin\{tabular\}\{(lr*)\}\n(.*?)\\end\{tabular\}", text, re.S)
    assert tabulars
    for spec, body in tabulars:
        columns, lines = len(spec), body.strip().splitlines()
        assert lines[0] == r"\toprule" and lines[-1] == r"\bottomrule" and lines.count(r"\midrule") == 1
        groups, rules, subs = lines[1 : lines.index(r"\midrule")]  # two header rows, cmidrules between
        spans = [int(n) for n in re.findall(r"\\multicolumn\{(\d+)\}", groups)]
        assert sum(spans) == columns - 1 and len(groups.split(" & ")) == len(spans) + 1
        assert rules.count(r"\cmidrule") == len(spans) and not rules.endswith(r"\\")
        for row in [groups, subs, *lines[lines.index(r"\midrule") + 1 : -1]]:
            assert row.endswith(r"\\"), row
        for row in [subs, *lines[lines.index(r"\midrule") + 1 : -1]]:
            assert len(row.split(" & ")) == columns, row
        assert "±" not in body and "%" not in body.replace(r"\%", "")


def test_latex_tables_are_booktabs_with_grouped_headers(seed_sweep, user_sweep):
    out, _ = seed_sweep
    for name in ("table2.tex", "table2_lowfpr.tex", "compare_methods.tex", "paper_decoded.tex"):
        _check_latex((out / "report" / name).read_text())
    text = (out / "report" / "table2.tex").read_text()
    assert r"\multicolumn{3}{c}{logistic}" in text and "data & acc & prec & rec" in text
    assert "data & & " not in text and r"$\pm$" in text
    methods = (user_sweep[0] / "report" / "compare_methods.tex").read_text()
    _check_latex(methods)
    assert r"\multicolumn{3}{c}{socinf (svm)}" in methods and "cell & AUC & TPR@1\\% & TPR@0.1\\%" in methods


def test_vector_figures_with_format_pdf(seed_sweep, shared_data_dir):
    out, _ = seed_sweep
    report(out, shared_data_dir, "--format", "pdf", "--out", str(out / "pdf"))
    figures = sorted(p.name for p in (out / "pdf").iterdir() if p.suffix in (".pdf", ".png"))
    assert figures == ["fig5_honest.pdf", "roc_grid_honest.pdf"]
    assert all((out / "pdf" / f).read_bytes()[:5] == b"%PDF-" for f in figures)
    bad = socinf("report", str(out), "--format", "svg", cwd=out.parent, data_dir=shared_data_dir)
    assert bad.returncode == 2 and bad.stderr.startswith("socinf: error: report: --format 'svg'")


def test_a_single_run_dir_is_a_one_row_sweep(tmp_path, shared_data_dir):
    run = tmp_path / "run"
    done = socinf("run", *TINY, SMALL_EVAL, "target=logistic", f"hydra.run.dir={run}", f"data.root={tmp_path / 'data'}",
                  cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.lstrip().startswith("VERDICT: ")  # the verdict is what a run prints first
    done = report(run, shared_data_dir)
    table = rows(run / "report" / "runs.csv")
    assert len(table) == 1 and table[0]["job"] == "." and table[0]["status"] == "complete"
    assert rows(run / "report" / "missing.csv") == [] and "missing" not in done.stdout.lower()
    assert not (run / "report" / "table2.md").exists() and "No paper section" in done.stdout  # 100 members
    page = (run / "report" / "report.html").read_text()
    verdict = json.loads((run / "metrics.json").read_text())["verdict"]
    assert page.index(verdict["sentence"][:50]) < page.index("ROC of every attack") and "<section" not in page


def test_decoding_the_papers_table_reproduces_its_triples():
    from socinf.report.decode import decode, decoded_paper, encode
    from socinf.report.frame import paper_table2

    paper = paper_table2().pivot_table(index=["dataset", "target"], columns="metric", values="value")
    assert len(paper) == 12
    for _, triple in paper.iterrows():
        implied = decode(triple.accuracy, triple.precision, triple.recall)
        assert 0 < implied["member_share"] < 1 and 0 <= implied["fpr"] <= 1
        again = encode(implied["member_share"], implied["tpr"], implied["fpr"])
        for metric in ("accuracy", "precision", "recall"):
            assert again[metric] == pytest.approx(triple[metric], abs=1e-9)
        balanced = (implied["tpr"] + 1 - implied["fpr"]) / 2
        assert implied["balanced_accuracy"] == pytest.approx(balanced)
    assert decode(0.6, 0.6, 0.6)["member_share"] == pytest.approx(0.5)  # a balanced set decodes as one
    shares = decoded_paper().set_index(["dataset", "target"]).paper_member_share
    assert shares[("Tweet(2)", "logistic")] > 0.74 and shares[("Tweet(4)", "xgboost")] > 0.7


def test_experiment_sweeps_follow_the_seeds_list():
    from hydra import compose, initialize_config_dir

    from socinf_cli.conf_tree import config_dir
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
    (job / "metrics.json").write_text('{"complete": true}')  # unreadable since issue 20 (no protocol, ...)
    runs = load_runs(tmp_path)
    assert [r["run_dir"] for r in runs.complete + runs.failed] == [str(job)]


def test_attacker_knowledge_sweep_gets_its_own_table(tmp_path, shared_data_dir):
    """experiment=attacker_knowledge: per attack one row per attacker_fraction, the attacker's records scaling."""
    out = tmp_path / "knowledge"
    done = socinf("run", "-m", "experiment=attacker_knowledge", "dataset.attacker_fraction=0.25,1.0",
                  "+experiment/sota_method=socinf,lira", "method.n_references=4", "eval.size=100",
                  "synthesis.n_records=600", "synthesis.burn_in=50", "mimic.epochs=2", "mimic.depth=3",
                  "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={out}", f"data.root={tmp_path / 'data'}",
                  cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    done = socinf("report", str(out), cwd=tmp_path, data_dir=shared_data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out / "report" / "attacker_knowledge.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["method"], float(r["attacker_fraction"])) for r in rows) == [
        ("lira", 0.25), ("lira", 1.0), ("socinf", 0.25), ("socinf", 1.0)]
    for method in ("lira", "socinf"):
        small, full = (float(r["attacker_records"]) for r in rows if r["method"] == method)
        assert abs(small - 0.25 * full) <= 4  # stratified per class (4 classes)
    assert all(0 <= float(r["auc"]) <= 1 for r in rows)
    assert "attacker knowledge, lira" in done.stdout and "attacker knowledge, socinf" in done.stdout


def test_jobs_that_attack_different_targets_or_differ_in_method_settings_are_never_pooled():
    """A cell's jobs that differ in the target's hyper-parameters are separate rows; a method's variants
    (mimic=gan_paper beside the default) separate columns; only seeds are averaged."""
    from socinf.report.frame import runs_frame, socinf_paper_runs
    from socinf.report.runs import SweepRuns

    def job(i, depth, mimic, seed):
        metrics = {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "auc": 0.5 + depth / 100, "tpr_at_1pct_fpr": 0.0}
        config = {"dataset": {"name": "tweet", "num_classes": 4, "per_class": 400},
                  "target": {"name": "xgboost", "params": {"max_depth": depth}}, "method": {"name": "socinf"},
                  "attack": {"name": "xgboost"}, "mimic": {"name": mimic}, "synthesis": {"name": "statistics"},
                  "eval": {"nonmembers": "heldout", "size": 300}, "defense": {"name": "none"}, "seed": seed}
        return {"complete": True, "config": config, "seed": seed, "run_dir": f"/sweep/{i}", "overrides": [],
                "protocol": {"name": "honest"}, "dataset": {"label": "Tweet(4)"}, "attack": metrics,
                "target": {"name": "xgboost"}, "method": {"name": "socinf"}, "baselines": {}}

    runs = SweepRuns("/sweep", complete=[job(i, depth, mimic, seed) for i, (depth, mimic, seed) in enumerate(
        (d, m, s) for d in (1, 12) for m in ("gan", "gan_paper") for s in (0, 1))])
    frame = runs_frame(runs)
    assert set(frame.dataset) == {"Tweet(4) [max_depth=1]", "Tweet(4) [max_depth=12]"}
    assert set(frame.method_label) == {"socinf (gan)", "socinf (gan_paper)"}
    rows = frame.groupby(["dataset", "method_label"]).size()
    assert dict(rows) == {(f"Tweet(4) [max_depth={d}]", f"socinf ({m})"): 2 for d in (1, 12) for m in ("gan", "gan_paper")}
    assert socinf_paper_runs(frame).empty  # 400 records per class and other targets: not the paper's cells


def test_the_overfitting_section_keeps_socinf_variants_apart_and_draws_one_seed_as_points(tmp_path):
    """At 300x12 the section printed SocInf 0.450, the mean of the default mimic's 0.743 and gan_paper's 0.157,
    and Fig. 7 drew error bars between the two methods. Each variant is its own table and figure now, and one
    seed is a point with no error bar."""
    from rich.console import Console

    from socinf.report import overfitting
    from socinf.report.figures import plt
    from socinf.report.runs import SweepRuns

    def job(i, depth, mimic, accuracy):
        metrics = {"accuracy": accuracy, "precision": accuracy, "recall": accuracy, "auc": accuracy}
        config = {"target": {"params": {"max_depth": depth}}, "mimic": {"name": mimic}, "synthesis": {"name": "statistics"},
                  "defense": {"name": "none"}}
        return {"complete": True, "config": config, "seed": 0, "run_dir": f"/sweep/{i}", "protocol": {"name": "honest"},
                "dataset": {"label": "Tweet(4)"}, "attack": metrics, "method": {"name": "socinf", "attack_model": "nn"},
                "target": {"name": "xgboost", "train_accuracy": 1.0, "test_accuracy": 1.0 - depth / 40,
                           "overfitting_gap": depth / 40}, "baselines": {}}
    runs = SweepRuns("/sweep", complete=[job(0, 2, "gan", 0.6), job(1, 12, "gan", 0.743), job(2, 2, "gan_paper", 0.3),
                                         job(3, 12, "gan_paper", 0.157)])
    drawn = []
    original = plt.Figure.savefig
    plt.Figure.savefig = lambda fig, *a, **k: (drawn.append(fig), original(fig, *a, **k))[1]
    try:
        paths = overfitting.write(runs, tmp_path, Console(file=open("/dev/null", "w")))
    finally:
        plt.Figure.savefig = original
    table = __import__("pandas").read_csv(tmp_path / "overfitting.csv")
    deep = table[table.level == "max_depth=12"].set_index("variant").accuracy
    assert deep.to_dict() == pytest.approx({"synthesis=statistics mimic=gan": 0.743,
                                           "synthesis=statistics mimic=gan_paper": 0.157})
    assert sorted(p.name for p in paths if p.suffix == ".png") == [
        "fig7_tweet4_xgboost_honest_synthesisstatisticsmimicgan.png",
        "fig7_tweet4_xgboost_honest_synthesisstatisticsmimicganpaper.png"]
    for fig in drawn:
        ax = fig.axes[0]
        assert not ax.containers  # no error bars with one seed
        accuracy = next(line for line in ax.get_lines() if line.get_label().startswith("accuracy"))
        assert accuracy.get_label() == "accuracy (one seed)" and len(accuracy.get_ydata()) == 2
