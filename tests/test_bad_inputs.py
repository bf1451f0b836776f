"""Issue #11 defect 5: every bad input is one line naming the key and what is expected, before any work."""
from __future__ import annotations

import pytest

from socinf.data.loaders import load_csv_corpus
from socinf.errors import ConfigError, DataError
from socinf_cli.compose import compose
from socinf_cli.validate import validate
from socinf_runner import socinf


@pytest.mark.parametrize("overrides, message", [
    (["target=xgboost", "target.params.max_depth=-4"], "target.params.max_depth=-4: XGBoost refuses it"),
    (["target=xgboost", "target.params.learning_rate=-1"], "target.params.learning_rate=-1: XGBoost refuses it"),
    (["attack=svm", "attack.params.C=-1"], "attack.params.C=-1: must be a float in the range (0.0, inf]"),
    (["attack=knn", "attack.params.n_neighbors=0"], "attack.params.n_neighbors=0: must be an int"),
    (["attack=nn", "attack.params.max_iter=0"], "attack.params.max_iter=0: must be an int"),
    (["target=logistic", "target.params.C=-1"], "target.params.C=-1: must be a float"),
    (["target=logistic", "+target.params.bogus=1"], "target.params.bogus: unknown hyper-parameter"),
    (["target=mlp", "target.params.hidden_layer_sizes=[-3]"], "target.params.hidden_layer_sizes=[-3]: must be > 0"),
    (["target=remote", "target.model=xgboost", "method=shadow"], None),  # conf/target/xgboost.yaml is fine
    (["mimic.width=50000"], "mimic.width=50000: expected an integer in [1, 4096]"),
    (["mimic.depth=100"], "mimic.depth=100: expected an integer in [1, 64]"),
    (["mimic.lr_g=0"], "mimic.lr_g=0: expected a number in (0, 10]"),
    (["mimic.lr_d=nan"], "mimic.lr_d=nan: expected a number in (0, 10]"),
    (["target.max_retries=1000"], "target.max_retries=1000: expected an integer in [0, 100]"),
    (["serve.header_timeout_s=0"], "serve.header_timeout_s=0: expected a number in (0, 3600]"),
    (["defense=round", "defense.digits=99"], "defense.digits=99: expected an integer in [1, 15] or null"),
    (["dataset.keywords_per_class=[10,0,10,10]"], "dataset.keywords_per_class[1]=0"),
])
def test_bad_numbers_and_hyper_parameters_are_one_config_error(overrides, message):
    if message is None:
        validate(compose(overrides))
        return
    with pytest.raises(ConfigError) as err:  # a key's own range at the door (compose), the rest by validate
        validate(compose(overrides))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_bad_hyper_parameter_stops_the_cli_before_any_work(tmp_path, shared_data_dir):
    proc = socinf(["run", "target.params.max_depth=-4", f"hydra.run.dir={tmp_path / 'run'}",
                   f"data.root={tmp_path / 'data'}"], tmp_path, shared_data_dir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("socinf: error: target.params.max_depth=-4")
    assert not (tmp_path / "data" / "cache" / "stages").exists()  # refused before the data was prepared


@pytest.mark.parametrize("text, message", [
    ("a,b,y\n1,2,x\n0,1,x\n1,1,x\n", "has one class ('x')"),
    ("a,b,y\n1,inf,x\n0,1,z\n1,1,x\n", "feature column 'b' holds inf in row 2"),
    ("a,b,y\n1,-inf,x\n0,1,z\n", "feature column 'b' holds -inf in row 2"),
    ("a,b,y\n", "no records"),
    ("", "not a readable CSV"),
])
def test_csv_edge_cases_are_one_data_error(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        load_csv_corpus(path, "y")
    assert message in str(err.value) and "\n" not in str(err.value)
