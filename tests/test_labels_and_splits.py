"""Issue 20 (Why 11, 12): a user's texts and labels, and split settings out of range. Fast tier: files this test
writes (a generated English corpus), read by the real loaders and split by the real ``prepare_data``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from generated_corpus import english_corpus, keyword_table


def _texts(tmp: Path, labels: list[str], suffix: str = ".jsonl", per_label: int = 40) -> Path:
    corpus = english_corpus(per_label).groupby("label").head(per_label).reset_index(drop=True)
    mapping = dict(zip(sorted(corpus.label.unique()), labels + labels[-1:] * 4))
    path = tmp / f"texts{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": mapping[l]}, ensure_ascii=False) + "\n"
                                for t, l in zip(corpus.text, corpus.label)), encoding="utf-8")
    else:
        corpus.assign(label=corpus.label.map(mapping))[["text", "label"]].to_csv(path, index=False)
    return path


def test_jsonl_is_split_on_newlines_only(tmp_path):
    """A raw U+2028 (or U+2029, U+0085, a form feed) inside a JSON string is valid JSON; str.splitlines cut the
    line there and the file was refused."""
    from socinf.data.text_files import read_labelled_texts

    path = _texts(tmp_path, ["a", "b"])
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, odd in enumerate(["\u2028", "\u2029", "\x85", "\x0c"]):
        record = json.loads(lines[i])
        record["text"] = f"before{odd}after {record['text']}"
        lines[i] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines).replace("\n", "\r\n", 3), encoding="utf-8")  # and a few CRLF endings
    rows = read_labelled_texts(path, "text", "label")
    assert [r[1].split(" ")[0] for r in rows[:4]] == ["before\u2028after", "before\u2029after", "before\x85after",
                                                      "before\x0cafter"]


@pytest.mark.parametrize("labels, classes", [(["²", "³"], ["²", "³"]), (["--1", "1"], ["--1", "1"]),
                                             (["٣", "7"], ["7", "٣"]), (["10", "2", "-1"], ["-1", "2", "10"])])
def test_labels_are_numbers_only_in_ascii_digits(labels, classes, tmp_path):
    """"²", "³" and "--1" passed str.isdigit (after lstrip("-")) and then int() raised: a traceback."""
    from socinf.data.loaders import load_text_corpus

    corpus = load_text_corpus(_texts(tmp_path, labels), "text", "label", "en")
    assert corpus.class_names == classes


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_one_number_spelled_two_ways_is_refused(suffix, tmp_path):
    """"1", "01" and "1.0" silently became three classes (text) or were merged without a word (csv)."""
    from socinf.data.loaders import load_csv_corpus, load_text_corpus
    from socinf.errors import DataError

    with pytest.raises(DataError, match=r"labels '01', '1', '1.0' are spellings of the same number"):
        load_text_corpus(_texts(tmp_path, ["1", "01", "1.0", "2"], suffix), "text", "label", "en")
    table = keyword_table(english_corpus(30)).assign(label=["1", "01", "1.0", "2"] * 30)
    table.to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(DataError, match=r"labels '01', '1', '1.0' are spellings of the same number"):
        load_csv_corpus(tmp_path / "table.csv", "label")


def test_csv_labels_keep_their_spelling_and_numeric_order(tmp_path):
    from socinf.data.loaders import load_csv_corpus

    table = keyword_table(english_corpus(30)).assign(label=["10", "2", "007", "2"] * 30)
    table.to_csv(tmp_path / "table.csv", index=False)
    corpus = load_csv_corpus(tmp_path / "table.csv", "label")
    assert corpus.class_names == ["2", "007", "10"]
    assert pd.Series(corpus.labels).value_counts().sort_index().tolist() == [60, 30, 30]


@pytest.mark.parametrize("setting, message", [
    ({"member_fraction": 0.999}, r"dataset.member_fraction=0.999: every one of the \d+ records trains the target"),
    ({"member_fraction": 0.001}, r"dataset.member_fraction=0.001: class 0 \(\d+ records\) gets no member"),
    ({"min_df": 1_000_000}, r"dataset.min_df=1000000: no keyword candidate occurs in that many"),
])
def test_split_settings_out_of_range_are_one_line(setting, message, tmp_path):
    """dataset.member_fraction=0.999 and dataset.min_df=1000000 were tracebacks (np.concatenate of nothing,
    a model fitted on zero features)."""
    from socinf.cache import StageCache
    from socinf.data.dataset_config import DatasetConfig, EvalConfig
    from socinf.data.prepare import prepare_data
    from socinf.errors import ConfigError

    path = _texts(tmp_path, ["a", "b"], ".csv", per_label=150)
    dataset = DatasetConfig(name="text", path=str(path), language="en", **setting)
    with pytest.raises(ConfigError, match=message):
        prepare_data(dataset, EvalConfig(size=20), 0, path, StageCache(None))


def test_a_tiny_attacker_fraction_is_one_line_naming_it(tmp_path):
    from socinf.cache import StageCache
    from socinf.data.dataset_config import DatasetConfig, EvalConfig
    from socinf.data.prepare import prepare_data
    from socinf.errors import DataError

    path = _texts(tmp_path, ["a", "b"], ".csv", per_label=150)
    dataset = DatasetConfig(name="text", path=str(path), language="en", attacker_fraction=0.0001)
    with pytest.raises(DataError, match=r"none left for the attacker split; dataset.attacker_fraction=0.0001 keeps"):
        prepare_data(dataset, EvalConfig(size=20), 0, path, StageCache(None))
