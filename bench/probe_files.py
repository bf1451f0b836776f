"""Section 6 of ``bench/probe_bad_inputs.py`` (issue 20, Why 7 and 11): hostile and half-written files under
`socinf report` (its peak memory on a 100 MB metrics.json too), and a user's texts and labels under `socinf run`."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from probe_common import ROOT, SMALL, TALLY, classify, env, socinf


def numeric_table(path: Path, rows: int = 240, seed: int = 0) -> Path:
    """A CSV corpus of real-valued features (``dataset=csv``)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(label=(X[:, 0] > 0).astype(int)).to_csv(path, index=False)
    return path


REVIEWED = {"list", "complete alone", "attack null", "complete 'no'", "failed.json a list", "malformed overrides.yaml",
            "100 MB metrics.json"}  # the review's cases; the rest are relatives


def _spoil(sweep: Path, real: Path) -> dict[str, str]:
    """Copies of a real run dir, each spoiled one way: name -> what the report must say about it."""
    metrics = json.loads((real / "metrics.json").read_text())
    cases = {"list": ([1, 2], "unreadable"), "complete alone": ({"complete": True}, "unreadable"),
             "attack null": ({**metrics, "attack": None}, "unreadable"),
             "complete 'no'": ({**metrics, "complete": "no"}, "unreadable"),
             "seed a string": ({**metrics, "seed": "abc"}, "unreadable"),
             "config.dataset a list": ({**metrics, "config": {**metrics["config"], "dataset": [1]}}, "unreadable")}
    expected = {}
    for name, (value, status) in cases.items():
        shutil.copytree(real, sweep / name)
        (sweep / name / "metrics.json").write_text(json.dumps(value))
        expected[name] = status
    extra = {"failed.json a list": ("failed.json", "[1, 2]", "failed"),
             "failed.json of 20 MB": ("failed.json", json.dumps({"error": "x" * 20_000_000}), "failed"),
             "malformed overrides.yaml": (".hydra/overrides.yaml", "- a: [\n", "complete"),
             "membership_scores.csv of another run": ("membership_scores.csv", "record_id,member,score\n1,1,.5\n",
                                                      "unreadable"),
             "config.yaml a list": (".hydra/config.yaml", "- 1\n", "failed"),
             "a 200 MB run.log": ("run.log", None, "failed")}
    for name, (file, text, status) in extra.items():
        shutil.copytree(real, sweep / name)
        if status == "failed":
            (sweep / name / "metrics.json").unlink()
        if text is None:
            with open(sweep / name / file, "wb") as fh:
                fh.write((b"INFO line\n" * 1024) * 20_000 + b"[ERROR] the real reason, at the end\n")
        else:
            (sweep / name / file).write_text(text)
        expected[name] = status
    shutil.copytree(real, sweep / "100 MB metrics.json")
    with open(sweep / "100 MB metrics.json" / "metrics.json", "w") as fh:
        fh.write('{"complete": true, "pad": "' + "x" * (100 * 1024 * 1024) + '"}')
    expected["100 MB metrics.json"] = "unreadable"
    return expected


def probe_report(tmp: Path) -> float:
    """Case 7: one `socinf report` over every spoiled copy; returns its peak RSS in MB."""
    real = tmp / "report-real"
    socinf(["run", *SMALL, "target=logistic", f"hydra.run.dir={real}", f"data.root={tmp / 'data'}"], tmp)
    sweep = tmp / "report-sweep"
    expected = _spoil(sweep, real)
    code = ("import sys; from socinf_cli.cli import main\ntry:\n    main(['report', sys.argv[1]])\nfinally:\n"
            "    print('peak', [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0],"
            " file=sys.stderr)")  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's)
    proc = subprocess.run([sys.executable, "-c", code, str(sweep)], cwd=tmp, env=env(), capture_output=True, text=True)
    peak = int([ln for ln in proc.stderr.splitlines() if ln.startswith("peak")][-1].split()[1]) / 1024
    if "Traceback" in proc.stderr or proc.returncode != 0:
        TALLY.record("traceback", "case 7: socinf report over hostile files", proc.stderr.strip().splitlines()[-1])
        return peak
    rows = pd.read_csv(sweep / "report" / "runs.csv")
    status = {Path(d).name: s for d, s in zip(rows.run_dir, rows.status)}
    for name, want in expected.items():
        got = status.get(name)
        detail = rows.error[[Path(d).name == name for d in rows.run_dir]].fillna("").astype(str).tolist()
        TALLY.record("one line" if got == want and want != "complete" else "ok" if got == want else "silent",
                     f"{'case 7' if name in REVIEWED else 'relative'}: {name}",
                     f"{got}: {(detail or [''])[0][-90:]}")
    TALLY.record("ok" if peak < 600 else "silent", "case 7: peak memory of that report", f"{peak:.0f} MB")
    return peak


def _texts(path: Path, labels: list[str], odd: str | None = None) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from generated_corpus import english_corpus

    corpus = english_corpus(120)
    mapping = dict(zip(sorted(corpus.label.unique()), labels + labels[-1:] * 4))
    lines = [json.dumps({"text": (odd + t) if odd and i == 0 else t, "label": mapping[lab]}, ensure_ascii=False)
             for i, (t, lab) in enumerate(zip(corpus.text, corpus.label))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def probe_texts(tmp: Path) -> None:
    """Case 11 and relatives: each file read by a real `socinf run dataset=text`."""
    cases = {"case 11: a raw U+2028 inside a JSON string": (["a", "b", "c", "d"], "say\u2028", "ok"),
             "case 11: labels '²', '³'": (["²", "³"], None, "ok"), "case 11: label '--1'": (["--1", "1"], None, "ok"),
             "case 11: labels '1', '01', '1.0'": (["1", "01", "1.0", "2"], None, "one line"),
             "relative: labels '١' and '1'": (["١", "1"], None, "ok"),
             "relative: a raw U+0085 inside a JSON string": (["a", "b"], "say\x85", "ok")}
    for i, (name, (labels, odd, expect)) in enumerate(cases.items()):
        path = _texts(tmp / f"texts{i}.jsonl", labels, odd)
        classify(name, socinf(["run", *SMALL, "dataset=text", f"dataset.path={path}", "dataset.language=en",
                               "target=logistic", "eval.size=20", f"hydra.run.dir={tmp / f'text{i}'}",
                               f"data.root={tmp / 'data'}"], tmp), expect=expect)
    table = numeric_table(tmp / "labels.csv")
    frame = pd.read_csv(table)
    frame["label"] = np.where(frame.label == 1, "1", np.where(np.arange(len(frame)) % 2, "1.0", "0"))
    frame.to_csv(tmp / "labels.csv", index=False)
    classify("relative: csv labels '1' and '1.0'", socinf(["run", *SMALL, "dataset=csv", f"dataset.path={tmp / 'labels.csv'}",
                                                           "target=logistic", "eval.size=20", f"hydra.run.dir={tmp / 'csvl'}",
                                                           f"data.root={tmp / 'data'}"], tmp))


def probe_files(tmp: Path) -> float:
    print("6. files: hostile report inputs, texts and labels")
    peak = probe_report(tmp)
    probe_texts(tmp)
    return peak
