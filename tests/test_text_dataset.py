"""``dataset=text``: a user's own labelled texts, featurised exactly as the paper's corpora.

The acceptance check writes the deduplicated EmoInt tweets to a CSV, audits it as ``dataset=text`` and as
``dataset=tweet`` with the same seed, and requires the same numbers. Bad files end in one line naming the
file, the line or column, and what is expected.
"""
from __future__ import annotations

import csv
import json

import pytest

from socinf.cache import StageCache
from socinf.data.loaders import load_corpus, load_text_corpus
from socinf.errors import ConfigError, DataError
from socinf_cli.compose import compose
from socinf_cli.paths import prepare
from socinf_cli.validate import validate
from socinf_runner import run_audit, socinf

SMALL = ["target=logistic", "mimic.epochs=20", "attack=knn"]


def write_corpus_csv(path, corpus) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label"])
        for i, (text, label) in enumerate(zip(corpus.texts, corpus.labels)):
            writer.writerow([i, text, corpus.class_names[label]])


@pytest.fixture(scope="module")
def tweets(shared_data_dir):
    return load_corpus("tweet", 4, shared_data_dir / "emoint", None, 0)


def test_own_texts_audit_equals_the_tweet_audit_on_the_same_texts(tmp_path, shared_data_dir, tweets):
    path = tmp_path / "emoint.csv"
    write_corpus_csv(path, tweets)
    proc_t, tweet = run_audit(tmp_path, shared_data_dir, ["dataset=tweet", *SMALL, "seed=3"], name="tweet")
    assert tweet is not None, proc_t.stderr[-2000:]
    proc_x, text = run_audit(tmp_path, shared_data_dir, ["dataset=text", f"dataset.path={path}", "dataset.language=en",
                                                         *SMALL, "seed=3"], name="text")
    assert text is not None, proc_x.stderr[-2000:]
    assert text["dataset"]["label"] == "Text(4)" and tweet["dataset"]["label"] == "Tweet(4)"
    for section in ("attack", "baselines", "target"):
        assert text[section] == tweet[section], section
    assert text["dataset"]["keywords"] == tweet["dataset"]["keywords"]
    assert text["dataset"]["splits"] == tweet["dataset"]["splits"]
    assert text["dataset"]["per_class"] == tweet["dataset"]["per_class"]


def test_duplicates_collapse_and_conflicting_labels_drop_in_every_format(tmp_path):
    rows = [("I am so happy today", "joy"), ("I am so happy today", "joy"), ("what a scary night", "fear"),
            ("torn between two", "joy"), ("torn between two", "fear"), ("  padded text ", "fear")]
    (tmp_path / "t.csv").write_text("text,label\n" + "".join(f'"{t}",{l}\n' for t, l in rows), encoding="utf-8")
    (tmp_path / "t.tsv").write_text("label\ttext\n" + "".join(f"{l}\t{t}\n" for t, l in rows), encoding="utf-8")
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows))
    for name in ("t.csv", "t.tsv", "t.jsonl"):
        c = load_text_corpus(tmp_path / name, language="en")
        assert c.texts == ["I am so happy today", "padded text", "what a scary night"], name
        assert c.class_names == ["fear", "joy"] and c.labels.tolist() == [1, 0, 0], name
        assert c.dedup["duplicates_removed"] == 1 and c.dedup["conflicting_dropped"] == 2, name


def test_integer_labels_in_numeric_order_and_other_columns(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"body": f"post {i}", "y": i % 3 * 5}) + "\n" for i in range(9)))
    c = load_text_corpus(path, text_column="body", label_column="y", language="en")
    assert c.class_names == ["0", "5", "10"]
    assert c.counts() == {"0": 3, "5": 3, "10": 3}


BAD_FILES = [
    ("a.csv", b"body,label\nhello,joy\n", "no text column 'text' (columns: body, label); set dataset.text_column"),
    ("a.csv", b"text,y\nhello,joy\n", "no label column 'label' (columns: text, y); set dataset.label_column"),
    ("a.csv", b"text,label\nhello,joy\n ,fear\n", "line 3: text column 'text' is empty"),
    ("a.csv", b"text,label\nhello,joy\nbye,\n", "line 3: label column 'label' is empty"),
    ("a.csv", b"text,label\nhello,joy,extra\n", "line 2: 3 fields; the header has 2"),
    ("a.csv", b"text,label\nhello,joy\nbye,fear\n", "2 distinct labelled records after deduplication, too few"),
    ("a.csv", b"text,label\nhello,joy\nbye,joy\n", "has 1 class(es) (joy) after deduplication"),
    ("a.csv", b"text,label\n1,joy\n2,fear\n", "holds no letters in any row"),
    ("a.csv", b"text,label\nhello,joy\ncaf\xe9,fear\n", "line 3: the byte at offset 24 (b'\\xe9') is not UTF-8"),
    ("a.csv", b"", "the file is empty"),
    ("a.jsonl", b'{"text": "hi", "label": "joy"}\n{"text": 5, "label": "fear"}\n',
     "line 2: text column 'text' holds 5 (int); expected a string"),
    ("a.jsonl", b'{"text": "hi", "label": "joy"}\n{"text": "x", "label": null}\n', "line 2: label column 'label' holds None"),
    ("a.jsonl", b'{"text": "hi", "label": "joy"}\n[1, 2]\n', "line 2: list, expected a JSON object per line"),
    ("a.jsonl", b'{"text": "hi", "label": "joy"}\n{"text": "hi"\n', "line 2: not a JSON object"),
    ("a.xlsx", b"", "expected a .csv, .tsv or .jsonl file"),
]


def prepare_file(path, tmp_path, *extra):
    cfg = compose(["dataset=text", f"dataset.path={path}", "eval.size=1", f"data.root={tmp_path / 'd'}", *extra])
    validate(cfg)
    return prepare(cfg, StageCache(None))[0]


@pytest.mark.parametrize("name,content,message", BAD_FILES)
def test_bad_files_fail_naming_file_line_and_expectation(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        prepare_file(path, tmp_path)
    line = str(info.value)
    assert "\n" not in line and message in line and name in line, line


@pytest.mark.parametrize("index", [2, 5])  # a bad row; too few records for the splits
def test_the_command_prints_one_line_and_exits_2(tmp_path, shared_data_dir, index):
    name, content, message = BAD_FILES[index]
    path = tmp_path / name
    path.write_bytes(content)
    proc = socinf(["run", "dataset=text", f"dataset.path={path}", "eval.size=1", f"data.root={tmp_path / 'd'}",
                   f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socinf: error: ") and message in lines[0], proc.stderr


def test_a_small_valid_file_prepares_keyword_features(tmp_path):
    path = tmp_path / "t.tsv"
    words = {"joy": "happy glad smile", "fear": "scared afraid dark"}
    rows = [f"{label}\t{words[label]} post number {i}\n" for i in range(40) for label in words]
    path.write_text("label\ttext\n" + "".join(rows))
    prepared = prepare_file(path, tmp_path, "dataset.n_keywords=6")
    assert prepared.label == "Text(2)" and prepared.class_names == ["fear", "joy"]
    assert sorted(prepared.feature_names) == sorted(" ".join(words.values()).split())  # chosen per class on members
    assert prepared.corpus_info["features"]["format"] == "sparse"  # keyword features are CSR (dataset.features=auto)
    assert set(prepared.X.toarray().ravel().tolist()) == {0, 1} and prepared.X.shape == (80, 6)


def test_text_config_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhello,joy\n")
    for override, message in (("dataset.language=fr", "dataset.language='fr': expected one of en, zh"),
                              ("dataset.path=null", "dataset=text needs dataset.path=")):
        with pytest.raises(ConfigError, match=message):
            validate(compose(["dataset=text", f"dataset.path={path}", override]))
    with pytest.raises(DataError, match="no such file"):
        load_text_corpus(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="2 classes \\(fear, joy\\), but dataset.num_classes=3"):
        path.write_text("text,label\n" + "".join(f"post {i},{'joy' if i % 2 else 'fear'}\n" for i in range(20)))
        prepare_file(path, tmp_path, "dataset.num_classes=3")


def test_data_info_shows_the_file_as_the_audit_reads_it(tmp_path, shared_data_dir):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhappy day,joy\nhappy day,joy\ndark night,fear\nsame text,fear\nsame text,joy\n")
    proc = socinf(["data", "info", "dataset=text", f"dataset.path={path}"], cwd=tmp_path, data_dir=shared_data_dir)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in proc.stdout.splitlines()
            if line.count("│") == 3}
    assert rows["fear"] == "1" and rows["joy"] == "1" and rows["raw"] == "5"
    assert rows["duplicates_removed"] == "1" and rows["conflicting_dropped"] == "2"
