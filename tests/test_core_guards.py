"""The core cannot break silently (fast tier): SocInf's orientation flip is applied where its check finds the
ranking inverted, and what a figure draws is the scores it says it draws (the ROC's curve data, the SVG's
paths, the histogram's bars, the ROC grid's curves), not merely that a file exists."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score, roc_curve

from generated_corpus import english_corpus, keyword_table


@pytest.fixture(scope="module")
def keywords():
    table = keyword_table(english_corpus(250, seed=5), 60)
    X = table.drop(columns="label").to_numpy(np.float32)
    y = table.label.astype("category").cat.codes.to_numpy()
    order = np.random.default_rng(1).permutation(len(X))
    return X[order], y[order]


def _socinf_fit(keywords, orient: bool):
    from socinf.attacks.base import AttackContext, AttackerKnowledge
    from socinf.attacks.socinf import SocInf
    from socinf.targets.base import CountingTarget

    X, y = keywords
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X[:300], y[:300])
    attack = SocInf(synthesis={"name": "statistics", "n_records": 400, "burn_in": 20},
                    mimic={"epochs": 3, "orient": orient}, attack_model="nn")
    attack.fit(CountingTarget(model, 4, X.shape[1]), AttackerKnowledge(X[600:], y[600:], 4, X.shape[1]),
               AttackContext(seed=0))
    return attack, model.predict_proba(X[:600]), y[:600]


def test_socinf_turns_its_score_around_where_its_check_finds_the_ranking_inverted(keywords, monkeypatch):
    """Every orientation counts as inverted below a threshold above any AUC: the fit must flip, and its
    scores must be the attack model's turned around; without mimic.orient they are the attack model's own."""
    from socinf.attacks import diagnostics

    monkeypatch.setattr(diagnostics, "MIN_ORIENTATION_AUC", 1.01)
    flipped, probs, labels = _socinf_fit(keywords, orient=True)
    assert flipped.flipped_ and not flipped.diagnostics_["orientation"]["ok"]
    raw = flipped.attack_model_.score(probs)
    assert np.allclose(flipped.score(probs, labels), 1.0 - raw) and raw.std() > 0
    kept, _, _ = _socinf_fit(keywords, orient=False)
    assert not kept.flipped_ and np.allclose(kept.score(probs, labels), kept.attack_model_.score(probs))


def test_a_socinf_fit_flips_exactly_when_its_orientation_is_below_chance(keywords):
    attack, probs, labels = _socinf_fit(keywords, orient=True)
    inverted = attack.diagnostics_["orientation"]["value"] < 0.5
    raw = attack.attack_model_.score(probs)
    assert attack.flipped_ == inverted
    assert np.allclose(attack.score(probs, labels), 1.0 - raw if inverted else raw)


def _scores():
    rng = np.random.default_rng(3)
    membership = np.r_[np.ones(300, int), np.zeros(300, int)]
    return membership, {"strong": rng.normal(membership * 1.5, 1), "weak": rng.normal(membership * 0.3, 1),
                        "flat": rng.normal(0, 1, 600)}


def test_the_roc_figure_draws_each_attacks_own_roc():
    from socinf.report.run_figures import roc_figure

    membership, scores = _scores()
    fig = roc_figure({n: (membership, s) for n, s in scores.items()}, "t")
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines() if line.get_gid()}
    assert set(lines) == {f"roc:{n}" for n in scores}
    for name, values in scores.items():
        fpr, tpr, _ = roc_curve(membership, values)
        floor = 0.5 / 300
        assert np.allclose(lines[f"roc:{name}"].get_xdata(), np.maximum(fpr, floor))
        assert np.allclose(lines[f"roc:{name}"].get_ydata(), np.maximum(tpr, floor))
        assert f"{name} ({roc_auc_score(membership, values):.3f})" in [t.get_text() for t in fig.axes[0].get_legend().texts]


def test_a_panel_draws_at_most_eight_curves_the_strongest_first():
    from socinf.report.run_figures import MAX_CURVES, roc_figure

    rng = np.random.default_rng(0)
    membership = np.r_[np.ones(200, int), np.zeros(200, int)]
    curves = {f"a{i}": (membership, rng.normal(membership * i / 10, 1)) for i in range(12)}
    fig = roc_figure(curves, "many")
    drawn = [line.get_gid()[4:] for line in fig.axes[0].get_lines() if line.get_gid()]
    aucs = {n: roc_auc_score(m, s) for n, (m, s) in curves.items()}
    assert len(drawn) == MAX_CURVES == 8 and set(drawn) == set(sorted(aucs, key=aucs.get)[-8:])
    assert fig.axes[0].get_legend().get_bbox_to_anchor().x0 > fig.axes[0].get_window_extent().x1 - 1  # outside


def _svg_of(html_text: str, gid_prefix: str):
    """Every embedded SVG image's elements whose id starts with ``gid_prefix``, by id."""
    found = {}
    for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html_text):
        root = ET.fromstring(base64.b64decode(data))
        for element in root.iter():
            gid = element.get("id", "")
            if gid.startswith(gid_prefix):
                found.setdefault(gid, []).append(element)
    return found


def _path_points(group) -> np.ndarray:
    path = next(e for e in group.iter() if e.tag.endswith("path"))
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path.get("d"))]
    return np.array(numbers).reshape(-1, 2)


def test_the_html_report_embeds_the_roc_and_histogram_of_the_right_scores(tmp_path):
    """The SVG's ROC path of each attack has the attack's ROC points on log axes (an affine image of log10 FPR /
    log10 TPR); the histogram's bars are the strongest attack's member scores."""
    import socinf

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1400, 12))
    y = (X[:, :3] + rng.normal(scale=1.5, size=(1400, 3))).argmax(1)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X[:400], y[:400])
    result = socinf.audit(model, (X[:300], y[:300]), (X[400:700], y[400:700]), (X[700:], y[700:]),
                          methods=["thresholds"])
    text = result.to_html(tmp_path / "report.html").read_text()
    rocs = _svg_of(text, "roc:")
    assert set(rocs) == {f"roc:{n}" for n in result.scores}
    for name, values in result.scores.items():
        fpr, tpr, _ = roc_curve(result.membership, values)
        points = _path_points(rocs[f"roc:{name}"][0])
        assert len(points) == len(fpr), name
        for column, rate in ((0, np.maximum(fpr, 0.5 / 300)), (1, np.maximum(tpr, 0.5 / 300))):
            fit = np.polyfit(np.log10(rate), points[:, column], 1)
            assert np.abs(np.polyval(fit, np.log10(rate)) - points[:, column]).max() < 0.05, name
    strongest = result.verdict["auc"]["method"]
    bars = _svg_of(text, "hist:members")["hist:members"]
    heights = np.array([np.ptp(_path_points(bar)[:, 1]) for bar in bars])
    values = result.scores[strongest][result.membership == 1]
    expected, _ = np.histogram(values, bins=np.histogram_bin_edges(result.scores[strongest], bins=30))
    assert np.allclose(heights / heights.max(), expected / expected.max(), atol=0.01)


def test_the_roc_grid_draws_each_jobs_method_once_and_the_threshold_attacks_once(tmp_path):
    """Two jobs on one target (one socinf, one lira) share the target's answers: the grid's panel holds each
    method and each threshold attack once, with the scores each job saved."""
    import pandas as pd

    from socinf.report.roc import cell_curves
    from socinf.rundir import SCORES_FILE

    membership, scores = _scores()
    jobs, rows = {}, []
    for i, method in enumerate(("socinf", "lira")):
        run_dir = tmp_path / str(i)
        run_dir.mkdir()
        own = scores["strong"] + i  # each job's method scores differently; the threshold attacks alike
        pd.DataFrame({"record_id": np.arange(600), "member": membership, "score": own, "decision": 0,
                      "score_loss": scores["weak"], "score_gap": scores["flat"]}).to_csv(run_dir / SCORES_FILE, index=False)
        jobs[str(run_dir)] = {"method": {"name": method}, "attack": {}, "baselines": {"loss": {}, "gap": {}}}
        rows.append({"run_dir": str(run_dir), "status": "complete", "method": method, "method_label": method})
    curves = cell_curves(pd.DataFrame(rows), jobs)
    assert sorted(curves) == ["gap", "lira", "loss", "socinf"]
    assert np.allclose(curves["socinf"][1], scores["strong"]) and np.allclose(curves["lira"][1], scores["strong"] + 1)
    assert np.allclose(curves["loss"][1], scores["weak"]) and np.allclose(curves["gap"][1], scores["flat"])


def test_one_seed_per_cell_is_drawn_as_points(tmp_path):
    from socinf.report.figures import ecdf_panels, plt

    drawn = []
    original = plt.Figure.savefig

    def keep(fig, *args, **kwargs):
        drawn.append(fig)
        return original(fig, *args, **kwargs)
    plt.Figure.savefig = keep
    try:
        ecdf_panels({"xgboost": {m: np.array([0.52, 0.55]) for m in ("accuracy", "precision", "recall")}}, "t",
                    tmp_path / "fig5.png", points=True)
    finally:
        plt.Figure.savefig = original
    line = drawn[0].axes[0].get_lines()[0]
    assert line.get_linestyle() == "None" and line.get_marker() == "o"
    assert list(line.get_xdata()) == [0.52, 0.55] and list(line.get_ydata()) == [0.5, 1.0]
