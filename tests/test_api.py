"""`import socinf`: the README's notebook example runs as written, and the library's objects behave like
scikit-learn's (constructors store, fit learns, NotFittedError before fit)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_example() -> str:
    section = README.read_text().split("## Audit your own model from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_notebook_example_audits_a_fully_grown_forest(shared_data_dir, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setenv("SOCINF_DATA_DIR", str(shared_data_dir))
    code = readme_python_example()
    assert len(code.strip().splitlines()) <= 15
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.strongest["auc"] > 0.8, result.summary()  # a fully grown forest leaks
    lo, hi = result.strongest["auc_ci95"]
    assert lo <= result.strongest["auc"] <= hi
    frame = result.to_frame()
    assert {"shadow", "loss", "confidence", "gap"} <= set(frame.method)
    assert frame.auc.iloc[0] == result.strongest["auc"]
    assert result.metrics["queries"]["per_stage"]["evaluation"]["sent"] == len(namespace["X_in"]) + len(namespace["X_out"])


def test_a_plain_function_is_a_black_box_and_population_free_audit_runs_socinf(shared_data_dir, monkeypatch):
    import socinf
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("SOCINF_DATA_DIR", str(shared_data_dir))
    X, y = socinf.data.load_keywords("tweet", num_classes=2, per_class=300)
    model = LogisticRegression(max_iter=500).fit(X[::2], y[::2])
    result = socinf.audit(model.predict_proba, members=(X[::2][:150], y[::2][:150]),
                          nonmembers=(X[1::2][:150], y[1::2][:150]), seed=0,
                          synthesis={"name": "format", "n_records": 300},
                          mimic=socinf.attacks.MimicConfig(epochs=5))
    assert list(result.metrics["attacks"]) == ["socinf"] and result.metrics["method"]["name"] == "socinf"
    assert 0.0 <= result.metrics["attack"]["auc"] <= 1.0
    assert result.metrics["queries"]["per_stage"]["synthesis"]["sent"] >= 300  # data-free: it asked the target


def test_bad_audit_input_is_one_clear_error():
    import socinf
    from socinf.errors import ConfigError

    X, y = np.zeros((4, 3)), np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError, match="population="):  # an outsider's thresholds come from its population
        socinf.audit(lambda X: np.full((len(X), 2), 0.5), (X, y), (X, y), methods=["thresholds"], threat="attacker")
    with pytest.raises(ConfigError, match="rmia needs population="):  # the owner's RMIA compares with records z
        socinf.audit(lambda X: np.full((len(X), 2), 0.5), (X, y), (X, y), methods=["rmia"])
    with pytest.raises(ConfigError, match="threat='outsider': expected one of attacker, owner"):
        socinf.audit(lambda X: X, (X, y), (X, y), threat="outsider")
    with pytest.raises(ConfigError, match=r"methods=\['lira2'\]"):
        socinf.audit(lambda X: X, (X, y), (X, y), methods=["lira2"])
    with pytest.raises(ConfigError, match="members: expected"):
        socinf.audit(lambda X: X, X, (X, y))


def test_attacks_store_their_arguments_and_refuse_to_score_before_fit():
    from sklearn.exceptions import NotFittedError

    from socinf.attacks import MimicConfig, ShadowTraining, SocInf

    attack = SocInf(synthesis={"name": "format"}, mimic=MimicConfig(epochs=3), attack_model="knn")
    assert attack.mimic.epochs == 3 and attack.attack_model == "knn" and attack.synthesis == {"name": "format"}
    with pytest.raises(NotFittedError, match="SocInf is not fitted"):
        attack.score(np.eye(2), np.array([0, 1]))
    with pytest.raises(NotFittedError, match="ShadowTraining is not fitted"):
        ShadowTraining(algorithm="logistic", n_models=2).score(np.eye(2), np.array([0, 1]))


def test_lira_and_rmia_from_python_find_a_fully_grown_forest(shared_data_dir, monkeypatch):
    import socinf
    from sklearn.ensemble import RandomForestClassifier

    monkeypatch.setenv("SOCINF_DATA_DIR", str(shared_data_dir))
    X, y = socinf.data.load_keywords("tweet", 4, per_class=300, n_keywords=1000)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    members, nonmembers, pop = order[:300], order[300:600], order[600:]
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X[members], y[members])
    result = socinf.audit(model, (X[members], y[members]), (X[nonmembers], y[nonmembers]), (X[pop], y[pop]),
                          methods=["lira", "rmia"], seed=0)
    assert set(result.metrics["attacks"]) == {"lira", "rmia"}
    assert result.metrics["attacks"]["lira"]["auc"] > 0.75 and result.metrics["attacks"]["rmia"]["auc"] > 0.75
    assert result.metrics["reports"]["lira"]["lira"]["reference_size"] <= 300  # never larger than the target's
