"""The library section of ``bench/probe_bad_inputs.py`` (issue 19): bad input at the Python door.

    PYTHONPATH=. .venv/bin/python bench/probe_library.py

Each case is a real call of ``socinf.audit`` or of an attack class's ``fit`` on a real slice of Tweet(4)
(200 keyword features, a LogisticRegression target), with one fault. The outcome is "one line" (a socinf
error whose message is a single line), "traceback" (any other exception) or "silent" (a result came back).
The first twelve are the review's cases (issue 19, Why 1); the rest are relatives.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = os.environ.get("SOCINF_DATA_DIR") or str(ROOT.parent / "shared" / "data")
SMALL = {"synthesis": {"n_records": 300, "burn_in": 20}, "mimic": {"epochs": 2}}


def _data():
    import socinf
    from sklearn.linear_model import LogisticRegression

    X, y = socinf.data.load_keywords("tweet", 4, per_class=300, data_dir=DATA)
    order = np.random.default_rng(0).permutation(len(y))
    members, nonmembers, population = (order[i::3] for i in range(3))
    model = LogisticRegression(max_iter=500).fit(X[members], y[members])
    return model, (X[members], y[members]), (X[nonmembers], y[nonmembers]), (X[population], y[population])


def _cases(model, members, nonmembers, population):
    import socinf
    from socinf.attacks import AttackContext, AttackerKnowledge, LiRA, RMIA, ShadowTraining, SocInf
    from socinf.targets import CountingTarget

    (X_in, y_in), (X_out, y_out), (X_pop, y_pop) = members, nonmembers, population
    proba = model.predict_proba

    def audit(black_box=model, m=members, n=nonmembers, p=population, **kw):
        return lambda: socinf.audit(black_box, m, n, p, **{**SMALL, "methods": ["socinf"], **kw})

    def fit(attack, candidates=False):
        knowledge = AttackerKnowledge(X_pop, y_pop, 4, X_pop.shape[1], target_size=len(y_in))
        target, ctx = CountingTarget(model, 4, X_pop.shape[1]), AttackContext(seed=0)
        kw = {"candidates": (X_out, y_out)} if candidates else {}
        return lambda: attack.fit(target, knowledge, ctx, **kw)

    return {
        "mimic={'epochs': -3}": audit(mimic={"epochs": -3}),
        "mimic={'holdout_fraction': 1.5}": audit(mimic={"holdout_fraction": 1.5}),
        "answers of shape (n, 1)": audit(lambda X: proba(X)[:, :1], n_classes=4),
        "answers holding NaN": audit(lambda X: np.where(np.arange(len(X))[:, None] == 5, np.nan, proba(X)), n_classes=4),
        "answers with n - 1 rows": audit(lambda X: proba(X)[:-1], n_classes=4),
        "6 columns for 4 labels": audit(lambda X: np.pad(proba(X), ((0, 0), (0, 2))), n_classes=4),
        "members 200 features, non-members 199": audit(n=(X_out[:, :-1], y_out)),
        "seed=-1": audit(seed=-1),
        "socinf, statistics synthesis, no population": audit(p=None, synthesis={"name": "statistics"}),
        "predict_proba returns logits": audit(lambda X: model.decision_function(X), n_classes=4),
        "members identical to the non-members": audit(n=members),
        "population identical to the members": audit(p=members),
        # relatives
        "SocInf(mimic epochs=0).fit": fit(SocInf(synthesis={"n_records": 300}, mimic={"epochs": 0})),
        "ShadowTraining(n_models=0).fit": fit(ShadowTraining(algorithm="logistic", n_models=0)),
        "LiRA(n_references=1).fit": fit(LiRA(algorithm="logistic", n_references=1), candidates=True),
        "RMIA(gamma=0).fit": fit(RMIA(algorithm="logistic", gamma=0), candidates=True),
        "LiRA(online='yes').fit": fit(LiRA(algorithm="logistic", online="yes"), candidates=True),
        "methods=[]": audit(methods=[]),
        "methods=['lira2']": audit(methods=["lira2"]),
        "synthesis={'name': 'bogus'}": audit(synthesis={"name": "bogus"}),
        "attack_model='forest'": audit(attack_model="forest"),
        "mimic={'epoch': 3} (a typo)": audit(mimic={"epoch": 3}),
        "threads=0": audit(threads=0),
        "non-members holding NaN": audit(n=(np.where(X_out > 0, np.nan, X_out), y_out)),
        "labels as a 2-D column": audit(m=(X_in, y_in[:, None])),
        "labels the model does not know": audit(n=(X_out, y_out + 10)),
        "model=None": audit(None),
        "answers as strings": audit(lambda X: proba(X).astype(str), n_classes=4),
        "negative probabilities": audit(lambda X: proba(X) - 0.5, n_classes=4),
        # the outsider's LiRA trains on the population alone (the owner's, socinf.audit's default, on every record)
        "lira with 1 population record of a class": audit(methods=["lira"], threat="attacker", p=(X_pop[y_pop != 3][:-1].tolist() +
                                                                            X_pop[y_pop == 3][:1].tolist(),
                                                                            np.r_[y_pop[y_pop != 3][:-1], 3])),
        "no members": audit(m=(X_in[:0], y_in[:0])),
        "n_classes=3 for labels 0..3": audit(lambda X: proba(X)[:, :3], n_classes=3),
    }


def classify(name: str, call, counts: dict) -> None:
    from socinf.errors import SocinfError

    try:
        call()
    except SocinfError as exc:
        text = str(exc)
        kind, shown = ("one line", text) if "\n" not in text else ("traceback", text.splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - what the probe counts
        kind, shown = "traceback", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        kind, shown = "silent", "returned a result"
    counts[kind] += 1
    print(f"  {kind:9s} {name:46s} {shown[:120]}")


def probe_library(counts: dict) -> None:
    print("library (socinf.audit and the attack classes, Tweet(4) slices, a LogisticRegression target)")
    for name, call in _cases(*_data()).items():
        classify(name, call, counts)


if __name__ == "__main__":
    totals = {"one line": 0, "traceback": 0, "silent": 0}
    probe_library(totals)
    print(f"\noutcomes: {totals}")
