"""experiment=sota: every attack on the same targets, composed from cells x methods; a real one-cell sweep
and its report (every method of the cell in the comparison and in the cell's ROC panel)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from socinf_runner import FAST, socinf

CONF = Path(__file__).resolve().parents[1] / "conf" / "experiment"
CELLS = sorted(p.stem for p in (CONF / "sota_cell").glob("*.yaml"))
METHODS = sorted(p.stem for p in (CONF / "sota_method").glob("*.yaml"))


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    from socinf_cli.conf_tree import config_dir
    from socinf_cli.config import register_configs

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        return compose("config", overrides=overrides, return_hydra_config=True)


def test_the_sweep_spans_table2_cells_and_overfitting_levels_times_every_method():
    assert len(CELLS) == 14 and len(METHODS) == 9
    params = _compose(["experiment=sota", "seeds=[0,1]"]).hydra.sweeper.params
    assert params["+experiment/sota_cell"] == "glob(*)" and params.seed == "0,1"
    assert sorted(params["+experiment/sota_method"].split(",")) == METHODS


@pytest.mark.parametrize("cell, dataset, classes, target, depth", [
    ("tweet2_logistic", "tweet", 2, "logistic", None), ("weibo5_xgboost", "weibo", 5, "xgboost", 6),
    ("overfit_xgboost_5", "tweet", 4, "xgboost", 12), ("overfit_xgboost_0", "tweet", 4, "xgboost", 1)])
def test_cells_compose_the_dataset_and_target_they_name(cell, dataset, classes, target, depth):
    cfg = _compose(["experiment=sota", f"+experiment/sota_cell={cell}", "+experiment/sota_method=socinf"])
    assert (cfg.dataset.name, cfg.dataset.num_classes, cfg.target.name) == (dataset, classes, target)
    assert cfg.target.params.get("max_depth") == depth
    if cell.startswith("overfit"):  # the overfitting experiment's own slice
        assert (cfg.dataset.per_class, cfg.dataset.n_keywords, cfg.eval.size) == (400, 2000, 300)


@pytest.mark.parametrize("method, name, extra", [
    ("socinf_gan_paper", "socinf", {"mimic.fidelity_weight": 0.0}), ("lira_online", "lira", {"method.online": True}),
    ("rmia_synthetic", "rmia", {"method.reference_data": "synthetic"}), ("shadow", "shadow", {}),
    ("rmia_online", "rmia", {"method.online": True})])
def test_methods_compose_the_attack_they_name(method, name, extra):
    cfg = _compose(["experiment=sota", "+experiment/sota_cell=tweet4_xgboost", f"+experiment/sota_method={method}"])
    assert cfg.method.name == name
    for key, value in extra.items():
        group, field = key.split(".")
        assert cfg[group][field] == value


@pytest.mark.slow
def test_a_one_cell_sota_sweep_reports_every_method(tmp_path, shared_data_dir):
    sweep = tmp_path / "sota"
    small = ["method.n_references=4", "method.n_models=2", "mimic.epochs=20", "method.n_population=300"]
    proc = socinf(["run", "-m", "experiment=sota", "seeds=[0]", "+experiment/sota_cell=tweet2_logistic",
                   *FAST, *small, f"hydra.sweep.dir={sweep}", f"data.root={tmp_path / 'data'}"],
                  tmp_path, shared_data_dir, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = socinf(["report", str(sweep)], tmp_path, shared_data_dir)
    assert report.returncode == 0, report.stderr[-2000:]
    rows = list(csv.DictReader((sweep / "report" / "runs.csv").open()))
    assert len(rows) == 9 and all(r["status"] == "complete" for r in rows)
    assert {r["method"] for r in rows} == {"socinf", "shadow", "lira", "rmia"}
    compare = (sweep / "report" / "compare_methods.md").read_text()
    for method in ("lira", "rmia", "shadow", "loss"):
        assert method in compare
    assert list((sweep / "report").glob("roc_grid_*.png"))
