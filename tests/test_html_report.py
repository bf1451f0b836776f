"""The auditor's deliverable from Python and from ``socinf report``: a result saved, loaded back and reported,
and one self-contained ``report.html`` opened from disk in a real headless browser (Debian's chromium)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import browser


@pytest.fixture(scope="module")
def audited():
    import socinf

    rng = np.random.default_rng(2)
    X = rng.normal(size=(1400, 12))
    y = (X[:, :3] + rng.normal(scale=1.5, size=(1400, 3))).argmax(1)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X[:400], y[:400])
    return socinf.audit(model, (X[:300], y[:300]), (X[400:700], y[400:700]), (X[700:], y[700:]),
                        methods=["thresholds"], seed=0)


@pytest.fixture(scope="module")
def reported(audited, tmp_path_factory):
    """The audit saved as socinf run writes it, then `socinf report` on that directory."""
    from rich.console import Console

    from socinf_cli.report_cli import report_command

    saved = audited.save(tmp_path_factory.mktemp("audit") / "mine")
    report_command([str(saved)], console=Console(file=open("/dev/null", "w")))
    return saved


def test_save_writes_what_socinf_run_writes_and_load_reads_it_back(audited, reported):
    from socinf import AuditResult

    assert {"metrics.json", "membership_scores.csv", "exposure.csv"} <= {p.name for p in reported.iterdir()}
    metrics = json.loads((reported / "metrics.json").read_text())
    assert metrics["complete"] is True and metrics["verdict"]["sentence"] == audited.verdict["sentence"]
    assert set(metrics["verdict"]) >= {"leak_detected", "p_value", "severity", "sentence", "epsilon_lower_bound",
                                       "blind_baseline_auc", "warnings"}
    again = AuditResult.load(reported)
    assert again.verdict == json.loads(json.dumps(audited.verdict))
    for name, values in audited.scores.items():
        assert np.allclose(again.scores[name], values), name
    exposure = pd.read_csv(reported / "exposure.csv")
    strongest = audited.run.strongest["by_tpr_at_1pct_fpr"]["method"]
    members = audited.scores[strongest][audited.membership == 1]
    assert len(exposure) == 300 and np.allclose(exposure.score, np.sort(members)[::-1])
    assert exposure.nonmember_percentile.is_monotonic_decreasing and "text" not in exposure


def test_repr_is_short_and_summary_names_both_winners(audited, tmp_path):
    text = repr(audited)
    assert "\n" not in text and len(text) < 300 and "severity=" in text and "array" not in text
    summary = audited.summary()
    assert summary.splitlines()[0].startswith("VERDICT: LEAK DETECTED")
    assert "strongest by AUC:" in summary and "strongest by TPR at 1% FPR:" in summary and "blind baseline" in summary
    path = tmp_path / "roc.png"
    audited.plot_roc(path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_saved_audit_is_a_run_dir_for_socinf_report(reported):
    report = reported / "report"
    html = (report / "report.html").read_text()
    assert "No paper section" in html and not (report / "table2.md").exists()
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not [u for u in __import__("re").findall(r'(?:src|href)="([^"#]+)"', html) if not u.startswith("data:")]
    verdict = json.loads((reported / "metrics.json").read_text())["verdict"]
    first = __import__("html").escape(verdict["sentence"][:60])  # the owner's sentence holds an apostrophe
    assert html.index(first) < html.index("ROC of every attack")  # the verdict first


@pytest.mark.parametrize("width", [375, 1280])
def test_report_html_in_a_real_browser(reported, width):
    """From disk: nothing requested beyond the file, no console error, every image decoded, the verdict
    sentence visible and not wider than the window."""
    missing = browser.available()
    assert missing is None, missing
    page = (reported / "report" / "report.html").resolve()
    sentence = json.loads((reported / "metrics.json").read_text())["verdict"]["sentence"]
    with browser.chromium(width=max(width, 800)) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 800})
        driver.get(page.as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        made = browser.requests_made(driver, document=page.as_uri())
        assert page.as_uri() in made  # the log does see the page's requests
        assert [u for u in made if u != page.as_uri() and not u.startswith("data:")] == []
        assert browser.console_errors(driver) == []
        assert driver.execute_script("return window.innerWidth") == width
        images = driver.find_elements("tag name", "img")
        assert len(images) >= 2
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i) > 0
                   for i in images)
        verdict = driver.find_element("css selector", "[data-role=verdict]")
        assert verdict.is_displayed() and sentence in verdict.text.replace("\n", " ")
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, "
                                    "arguments[0].scrollWidth, arguments[0].clientWidth]", verdict)
        assert box[0] >= 0 and box[1] <= width and box[2] <= box[3], box
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
