"""Issue 19: settings and their constraints beside the code, each default written once, one method table, one
result for both front doors. Fast tier: no corpora."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from generated_corpus import english_corpus, keyword_table
from socinf.errors import ConfigError
from socinf_cli.compose import compose
from socinf_cli.config import SocinfConfig
from socinf_cli.validate import validate

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = ("dataset", "target", "synthesis", "mimic", "attack", "method", "defense")


def _group_type(group: str):
    return SocinfConfig.groups[group]


def _repeated_defaults(node: dict, defaults, prefix: str = "") -> list[str]:
    """Keys of ``node`` whose value equals the schema's default (``params`` mappings are the estimator's own)."""
    found = []
    for key, value in node.items():
        if key in ("defaults", "hydra", "name", "params") or key.startswith("_"):
            continue
        default = OmegaConf.select(defaults, f"{prefix}{key}", throw_on_missing=False, default="<absent>")
        if isinstance(value, dict) and OmegaConf.is_config(default):
            found += _repeated_defaults(value, defaults, f"{prefix}{key}.")
        elif (OmegaConf.to_container(default) if OmegaConf.is_config(default) else default) == value:
            found.append(f"{prefix}{key}={value!r}")
    return found


def test_no_yaml_key_repeats_its_dataclass_default():
    repeated = []
    for group in GROUPS:
        defaults = OmegaConf.structured(_group_type(group))
        for path in sorted((CONF / group).glob("*.yaml")):
            repeated += [f"conf/{group}/{path.name}: {k}" for k in
                         _repeated_defaults(yaml.safe_load(path.read_text()) or {}, defaults)]
    top = yaml.safe_load((CONF / "config.yaml").read_text())
    repeated += [f"conf/config.yaml: {k}" for k in _repeated_defaults(top, OmegaConf.structured(SocinfConfig))]
    assert repeated == []


def test_the_default_test_finds_a_repeated_default():
    assert _repeated_defaults({"epochs": 60, "width": 51}, OmegaConf.structured(_group_type("mimic"))) == ["epochs=60"]


def test_every_setting_of_every_group_has_a_constraint():
    for cls in SocinfConfig.groups.values():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert fields == set(cls.constraints), cls.__name__
    assert {f.name for f in dataclasses.fields(SocinfConfig)} - set(SocinfConfig.groups) == set(SocinfConfig.constraints)


@pytest.fixture(scope="module")
def data():
    table = keyword_table(english_corpus(120, seed=3), n_words=40)
    X, y = table.drop(columns="label").to_numpy(dtype=float), table["label"].astype("category").cat.codes.to_numpy()
    order = np.random.default_rng(0).permutation(len(y))
    parts = np.array_split(order, 3)
    return [(X[p], y[p]) for p in parts]


def _audit_error(**kwargs) -> str:
    import socinf
    from sklearn.linear_model import LogisticRegression

    (X_in, y_in), out, pop = kwargs.pop("data")
    model = kwargs.pop("model", None) or LogisticRegression(max_iter=300).fit(X_in, y_in)
    with pytest.raises(ConfigError) as err:
        socinf.audit(model, (X_in, y_in), kwargs.pop("nonmembers", out), kwargs.pop("population", pop), **kwargs)
    return str(err.value)


@pytest.mark.parametrize("key, value, audit_kwargs", [
    ("mimic.epochs", -3, {"mimic": {"epochs": -3}, "methods": ["socinf"]}),
    ("mimic.holdout_fraction", 1.5, {"mimic": {"holdout_fraction": 1.5}, "methods": ["socinf"]}),
    ("synthesis.n_records", 0, {"synthesis": {"n_records": 0}, "methods": ["socinf"]}),
    ("seed", -1, {"seed": -1}),
])
def test_both_front_doors_print_the_same_line(data, key, value, audit_kwargs):
    with pytest.raises(ConfigError) as cli:
        validate(compose([f"{key}={value}"]))
    assert _audit_error(data=data, **audit_kwargs) == str(cli.value)
    assert str(cli.value).startswith(f"{key}={value}: expected ") and "\n" not in str(cli.value)


def test_the_method_table_is_the_one_list_of_methods():
    from socinf.api import audit
    from socinf.methods import ATTACK_METHODS, METHOD_NAMES, METHODS

    assert set(METHODS) == set(METHOD_NAMES) == {"thresholds", *ATTACK_METHODS}
    assert OmegaConf.structured(SocinfConfig).method.name in ATTACK_METHODS
    assert SocinfConfig.groups["method"].constraints["name"][0].values == ATTACK_METHODS
    assert audit.__kwdefaults__["n_shadow"] == SocinfConfig.groups["method"]().n_models  # one default, two doors


def _logistic(data):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=300).fit(*data[0])


@pytest.mark.parametrize("name, answer, needle", [
    ("logits", lambda m: lambda X: m.decision_function(X), "predict_proba must return probabilities"),
    ("one column", lambda m: lambda X: m.predict_proba(X)[:, :1], "answers have 1 columns"),
    ("NaN", lambda m: lambda X: np.where(np.arange(len(X))[:, None] == 3, np.nan, m.predict_proba(X)), "NaN"),
    ("a row short", lambda m: lambda X: m.predict_proba(X)[:-1], "for the"),
    ("6 columns for 4 labels", lambda m: lambda X: np.pad(m.predict_proba(X), ((0, 0), (0, 2))), "6 columns"),
])
def test_every_wrong_answer_is_one_line_at_the_black_box(data, name, answer, needle):
    import socinf
    from socinf.errors import TargetAnswerError

    model = _logistic(data)
    (X_in, y_in), out, pop = data
    with pytest.raises(TargetAnswerError) as err:
        socinf.audit(answer(model), (X_in, y_in), out, pop, methods=["socinf"], n_classes=4,
                     mimic={"epochs": 1}, synthesis={"n_records": 100, "burn_in": 5})
    assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_bad_records_and_knowledge_are_one_line_before_any_query(data):
    (X_in, y_in), (X_out, y_out), pop = data
    calls = []

    def model(X):
        calls.append(len(X))
        return np.full((len(X), 4), 0.25)

    cases = [
        ({"nonmembers": (X_out[:, :-1], y_out)}, f"nonmembers: {X_in.shape[1] - 1} features per record, but members"),
        ({"methods": ["socinf"], "synthesis": {"name": "statistics"}, "population": None}, "socinf needs population"),
        ({"nonmembers": (X_in, y_in), "methods": ["socinf"]}, "members and nonmembers are the same"),
        ({"population": (X_in[::-1], y_in[::-1]), "methods": ["socinf"]}, "population is the same"),
        ({"methods": ["thresholds"]}, "algorithm=None: shadow, reference and threshold attacks"),
        ({"methods": ["lira2"]}, "methods=['lira2']: expected"),
        ({"methods": ["socinf"], "mimic": {"epoch": 3}}, "mimic.epoch: unknown setting"),
        ({"methods": ["shadow"], "n_shadow": 0, "algorithm": "logistic"}, "method.n_models=0: expected"),
        ({"methods": ["lira"], "lira": {"n_references": 1}, "algorithm": "logistic"}, "method.n_references=1"),
        ({"nonmembers": (np.where(X_out > 0, np.nan, X_out), y_out)}, "nonmembers: X holds NaN"),
        ({"methods": ["socinf"], "attack_model": "forest"}, "attack='forest': expected one of"),
        ({"methods": ["socinf"], "threads": 0}, "threads=0: expected an integer"),
    ]
    for kwargs, needle in cases:
        message = _audit_error(data=data, model=model, **kwargs)
        assert needle in message and "\n" not in message, (kwargs, message)
    assert calls == []  # every refusal came before the first query


def test_duplicates_between_the_sets_are_counted_and_the_result_is_metrics_json(data, tmp_path):
    import socinf

    (X_in, y_in), (X_out, y_out), pop = data
    X_out, y_out = np.vstack([X_out, X_in[:7]]), np.r_[y_out, y_in[:7]]  # 7 members also passed as non-members
    result = socinf.audit(_logistic(data), (X_in, y_in), (X_out, y_out), pop, methods=["thresholds"], seed=0)
    duplicates = result.to_dict()["evaluation"]["duplicates"]
    assert duplicates["nonmembers_in_members"] >= 7 and duplicates["members_in_nonmembers"] >= 7
    body = result.to_dict()
    assert {"complete", "verdict", "method", "attack", "attacks", "reports", "baselines", "strongest", "evaluation",
            "target", "queries", "timings_s", "threat"} == set(body)
    assert body["threat"] == "owner"  # socinf.audit's default: its caller holds the members and non-members
    assert body["method"] is None and set(body["baselines"]) >= {"loss", "gap"}  # thresholds only: no primary
    assert body["target"]["train_accuracy"] >= body["target"]["test_accuracy"] - 0.2
