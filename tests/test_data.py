"""Data layer: pinned files, checksums, download, parsing, dedup, sampling."""
from __future__ import annotations

import csv
import functools
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socinf.data import fetch as fetch_mod
from socinf.data.fetch import check_folder, fetch, resolve_corpus_dir
from socinf.data.loaders import SUPPORTED_CLASSES, load_corpus, load_csv_corpus
from socinf.data.registry import REGISTRY
from socinf.errors import DataError, SocinfError
from socinf_runner import FAST, socinf

TWEET2 = {"anger": "negative", "fear": "negative", "sadness": "negative", "joy": "positive"}
WEIBO3 = {"angry": "negative", "sad": "negative", "fear": "negative", "happy": "positive", "neutral": "neutral"}
WEIBO5 = {k: k for k in ("angry", "fear", "happy", "sad", "surprise")}


# ------------------------------------------------------------ independent reference counts (pandas)

def _raw_emoint(folder: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, sep="\t", header=None, names=["id", "text", "label", "score"], dtype=str,
                          quoting=csv.QUOTE_NONE, keep_default_na=False)
              for p in sorted(folder.glob("*-ratings-0to1.*.txt"))]
    return pd.concat(frames)[["text", "label"]]


@functools.lru_cache(maxsize=2)  # weibo(3) and weibo(5) share the raw frame
def _raw_weibo(folder: Path) -> pd.DataFrame:
    xls = pd.read_excel(folder / "usual_train.xlsx", engine="xlrd", na_filter=False)
    xls = xls.rename(columns={"文本": "text", "情绪标签": "label"}).replace({"label": {"neural": "neutral"}})
    jsons = [pd.read_json(p).rename(columns={"content": "text"}) for p in sorted(folder.glob("*.txt"))]
    return pd.concat([xls[["text", "label"]]] + [j[["text", "label"]] for j in jsons])


def _expected_counts(raw: pd.DataFrame, mapping: dict) -> dict:
    df = raw.assign(label=raw["label"].map(mapping), text=raw["text"].astype(str).str.strip())
    df = df[df["label"].notna() & (df["text"] != "")]
    consistent = df.groupby("text")["label"].agg(["nunique", "first"])
    return consistent[consistent["nunique"] == 1]["first"].value_counts().to_dict()


@pytest.mark.filterwarnings("ignore:The xlrd engine is deprecated")
@pytest.mark.parametrize("name,k,mapping", [
    ("tweet", 4, {e: e for e in TWEET2}), ("tweet", 2, TWEET2), ("weibo", 3, WEIBO3), ("weibo", 5, WEIBO5)])
def test_counts_match_raw_minus_dedup(shared_data_dir, name, k, mapping):
    folder = shared_data_dir / REGISTRY[name].folder
    raw = _raw_emoint(folder) if name == "tweet" else _raw_weibo(folder)
    corpus = load_corpus(name, k, folder, per_class=None, seed=0)
    assert corpus.counts() == {c: _expected_counts(raw, mapping).get(c, 0) for c in corpus.class_names}
    d = corpus.dedup
    assert d["raw"] == len(raw)
    assert len(corpus) + d["duplicates_removed"] + d["conflicting_dropped"] + d["empty_dropped"] \
        + d["label_dropped"] == d["raw"]
    assert len(set(corpus.texts)) == len(corpus)


def test_tweet_official_split_and_clue(shared_data_dir):
    tweet = load_corpus("tweet", 4, shared_data_dir / "emoint", None, 0)
    assert tweet.language == "en" and set(tweet.official) == {"train", "dev", "test"}
    clue = load_corpus("clue", 7, shared_data_dir / "clue-emotion", None, 0)
    assert len(clue.class_names) == 7 and clue.language == "zh" and clue.official is None
    assert clue.dedup["raw"] == 7933


def test_weibo_domain_filters_files(shared_data_dir):
    folder = shared_data_dir / "weibo-smp2020-ewect"
    usual = load_corpus("weibo", 3, folder, None, 0, domain="usual")
    virus = load_corpus("weibo", 3, folder, None, 0, domain="virus")
    assert usual.dedup["raw"] == 27768 + 2000 + 5000 and virus.dedup["raw"] == 8606 + 2000 + 3000
    with pytest.raises(SocinfError, match="dataset.domain=usual"):
        load_corpus("tweet", 4, shared_data_dir / "emoint", None, 0, domain="usual")


def test_unsupported_num_classes(shared_data_dir):
    with pytest.raises(SocinfError, match=r"dataset.num_classes=7: tweet offers 2 or 4"):
        load_corpus("tweet", 7, shared_data_dir / "emoint", None, 0)
    assert SUPPORTED_CLASSES == {"tweet": (2, 4), "weibo": (3, 5), "clue": (7,)}


# ------------------------------------------------------------ dedup on a hand-made corpus

def _tiny_emoint(folder: Path, rows: dict[str, list[str]]) -> Path:
    """Write all 12 EmoInt files; ``rows`` maps file name -> tweets (emotion taken from the name)."""
    folder.mkdir(parents=True, exist_ok=True)
    for pinned in REGISTRY["tweet"].files:
        emotion = pinned.name.split("-")[0]
        lines = [f"{i}\t{t}\t{emotion}\t0.5\n" for i, t in enumerate(rows.get(pinned.name, []))]
        (folder / pinned.name).write_text("".join(lines), encoding="utf-8")
    return folder


def test_dedup_collapses_duplicates_and_drops_conflicts(tmp_path):
    folder = _tiny_emoint(tmp_path / "emoint", {
        "anger-ratings-0to1.test.gold.txt": ["dup", "clash", "angry-fear"],
        "anger-ratings-0to1.train.txt": ["dup ", "   ", "only anger"],
        "joy-ratings-0to1.dev.gold.txt": ["clash", "happy"],
        "fear-ratings-0to1.train.txt": ["angry-fear"],
    })
    c4 = load_corpus("tweet", 4, folder, None, 0)
    assert sorted(c4.texts) == ["dup", "happy", "only anger"]
    assert c4.dedup == {"raw": 9, "duplicates_removed": 1, "conflicting_dropped": 4, "empty_dropped": 1,
                        "label_dropped": 0}
    assert c4.official[c4.texts.index("dup")] == "train"  # earliest split wins
    # At 2 classes anger and fear are both negative: no conflict any more.
    c2 = load_corpus("tweet", 2, folder, None, 0)
    assert "angry-fear" in c2.texts and c2.dedup["conflicting_dropped"] == 2


def test_emoint_header_line_is_skipped(tmp_path):
    folder = _tiny_emoint(tmp_path / "emoint", {"joy-ratings-0to1.train.txt": ["yay"]})
    path = folder / "joy-ratings-0to1.train.txt"
    path.write_text("ID\tTweet\tAffect Dimension\tIntensity Score\n" + path.read_text())
    assert load_corpus("tweet", 4, folder, None, 0).texts == ["yay"]


# ------------------------------------------------------------ per_class sampling

def test_per_class_is_capped_and_deterministic(shared_data_dir):
    folder = shared_data_dir / "emoint"
    a = load_corpus("tweet", 4, folder, per_class=100, seed=3)
    b = load_corpus("tweet", 4, folder, per_class=100, seed=3)
    c = load_corpus("tweet", 4, folder, per_class=100, seed=4)
    assert a.counts() == {e: 100 for e in a.class_names}
    assert a.texts == b.texts and np.array_equal(a.labels, b.labels)
    assert a.texts != c.texts


# ------------------------------------------------------------ checksums

def _copy_corpus(shared: Path, corpus: str, data_dir: Path) -> Path:
    dst = data_dir / REGISTRY[corpus].folder
    dst.mkdir(parents=True)
    for pinned in REGISTRY[corpus].files:
        shutil.copyfile(shared / REGISTRY[corpus].folder / pinned.name, dst / pinned.name)
    return dst


def test_every_load_hashes_every_file(shared_data_dir, tmp_path, monkeypatch):
    hashed = []
    real = fetch_mod.sha256_file
    monkeypatch.setattr(fetch_mod, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    for _ in range(2):
        assert resolve_corpus_dir("tweet", str(shared_data_dir), tmp_path) == shared_data_dir / "emoint"
    assert len(hashed) == 24 and not (tmp_path / "cache").exists()  # no sidecar of "already verified" files


def test_same_size_edit_with_old_times_fails_the_run(shared_data_dir, tmp_path):
    """Issue 11: an edit keeping size and mtime passed as "SHA-256 OK" (the sidecar trusted size+mtime)."""
    data_dir, root = tmp_path / "d", tmp_path / "root"
    folder = _copy_corpus(shared_data_dir, "clue", data_dir)
    resolve_corpus_dir("clue", str(data_dir), root)  # a first load (the old code remembered the file here)
    path = folder / "test.txt"
    st, body = path.stat(), bytearray(path.read_bytes())
    body[100] = ord("x") if body[100] != ord("x") else ord("y")
    path.write_bytes(bytes(body))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    proc = socinf(["run", "dataset=clue", "dataset.num_classes=7", "target=logistic", f"data.root={root}",
                   f"hydra.run.dir={tmp_path / 'run'}", *FAST], cwd=tmp_path, data_dir=data_dir)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("socinf: error:") == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"{path} has SHA-256 {fetch_mod.sha256_file(path)}" in proc.stderr
    assert not (tmp_path / "run").exists()  # rejected before any work: no run dir left behind


def test_changed_file_is_rehashed(shared_data_dir, tmp_path):
    data_dir, root = tmp_path / "d", tmp_path / "root"
    folder = _copy_corpus(shared_data_dir, "clue", data_dir)
    resolve_corpus_dir("clue", str(data_dir), root)
    (folder / "test.txt").write_bytes((folder / "test.txt").read_bytes()[:-1])
    with pytest.raises(DataError, match="test.txt"):
        resolve_corpus_dir("clue", str(data_dir), root)


def test_wrong_checksum_names_file_and_hashes(shared_data_dir, tmp_path):
    data_dir = tmp_path / "d"
    folder = _copy_corpus(shared_data_dir, "tweet", data_dir)
    bad = REGISTRY["tweet"].file("joy-ratings-0to1.dev.gold.txt")
    with open(folder / bad.name, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(DataError) as err:
        resolve_corpus_dir("tweet", str(data_dir), tmp_path / "root", download=True)  # never into a local copy
    msg = str(err.value)
    assert bad.name in msg and bad.sha256 in msg and fetch_mod.sha256_file(folder / bad.name) in msg
    assert "SOCINF_DATA_DIR" in msg and str(tmp_path / "root") in msg and "\n" not in msg
    assert [r.status for r in check_folder("tweet", folder)].count("bad") == 1


def test_missing_file_raises(shared_data_dir, tmp_path):
    data_dir = tmp_path / "d"
    folder = _copy_corpus(shared_data_dir, "clue", data_dir)
    (folder / "valid.txt").unlink()
    with pytest.raises(DataError, match=r"missing file .*valid\.txt.*SOCINF_DATA_DIR"):
        resolve_corpus_dir("clue", str(data_dir), tmp_path / "root")
    with pytest.raises(DataError, match=r"missing file .*root/clue-emotion/valid\.txt.*socinf data fetch clue"):
        resolve_corpus_dir("clue", None, tmp_path / "root")  # the data home, download off
    assert check_folder("clue", folder)[0].status == "missing"


# ------------------------------------------------------------ download from a local HTTP server

def test_fetch_downloads_and_verifies(shared_data_dir, tmp_path, serve):
    url, hits = serve(shared_data_dir)
    home = tmp_path / "home"
    dest = resolve_corpus_dir("tweet", None, home, download=True, url_base=url)
    assert dest == home / "emoint" and len(hits) == 12  # the layout of a local copy: one folder serves both
    assert sorted(p.name for p in dest.iterdir()) == sorted(f.name for f in REGISTRY["tweet"].files)
    assert resolve_corpus_dir("tweet", str(home), tmp_path / "other") == dest  # the home as SOCINF_DATA_DIR
    assert fetch("tweet", home, url_base=url, progress=False) == dest
    assert len(hits) == 12  # second run: everything present and valid, nothing downloaded


def test_fetch_corrupted_file_leaves_nothing(shared_data_dir, tmp_path, serve):
    mirror = tmp_path / "mirror"
    folder = _copy_corpus(shared_data_dir, "clue", mirror)
    with open(folder / "test.txt", "ab") as fh:
        fh.write(b"tampered")
    url, _ = serve(mirror)
    with pytest.raises(DataError) as err:
        fetch("clue", tmp_path / "root", url_base=url, progress=False)
    msg = str(err.value)
    assert "test.txt" in msg and f"{url}/clue-emotion/test.txt" in msg
    assert REGISTRY["clue"].file("test.txt").sha256 in msg and "SOCINF_DATA_DIR" in msg
    assert sorted(p.name for p in (tmp_path / "root" / "clue-emotion").iterdir()) == ["valid.txt"]


def test_fetch_http_error_and_no_server(tmp_path, serve, monkeypatch):
    monkeypatch.setattr(fetch_mod, "_RETRIES", 0)  # the message is under test here, not pooch's waits
    url, _ = serve(tmp_path / "empty_mirror_that_does_not_exist")
    with pytest.raises(DataError, match=r"cannot download valid\.txt from .*404"):
        fetch("clue", tmp_path / "root", url_base=url, progress=False)
    with pytest.raises(DataError, match="cannot download"):
        fetch("clue", tmp_path / "root", url_base="http://127.0.0.1:9", progress=False)
    assert list((tmp_path / "root" / "clue-emotion").iterdir()) == []


def test_pinned_urls_are_commit_pinned():
    for spec in REGISTRY.values():
        for f in spec.files:
            assert f.url.startswith("https://raw.githubusercontent.com/") and len(f.sha256) == 64
    assert REGISTRY["tweet"].file("fear-ratings-0to1.test.gold.txt").url.endswith(
        "/6fe072605324e8a90edf64294ee9774c0d8669ab/codalab/test_data/fear-gold.txt")
    assert len(REGISTRY["tweet"].files) == 12 and len(REGISTRY["weibo"].files) == 6


# ------------------------------------------------------------ tabular CSV corpora

def test_csv_corpus(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,flag,y\n1,2.5,True,yes\n0,1.0,False,no\n3,0.0,True,yes\n")
    c = load_csv_corpus(path, "y")
    assert c.features.dtype == np.float32 and c.features.shape == (3, 3)
    assert c.feature_names == ["a", "b", "flag"] and c.class_names == ["no", "yes"]
    assert c.texts == ["0", "1", "2"] and c.language == "tabular" and list(c.labels) == [1, 0, 1]
    with pytest.raises(DataError, match="'label'"):
        load_csv_corpus(path, "label")
    path.write_text("a,city,y\n1,Paris,0\n")
    with pytest.raises(DataError, match="'city' is not numeric"):
        load_csv_corpus(path, "y")
    with pytest.raises(DataError, match="no such CSV"):
        load_csv_corpus(tmp_path / "nope.csv", "y")


def test_library_prepare_data_takes_plain_settings_and_matches_the_cli(shared_data_dir, tmp_path):
    """`socinf.data.prepare` needs no Hydra: its own dataclasses give the same key, features and splits as
    `socinf run`'s composed config for the same settings."""
    from socinf.cache import StageCache
    from socinf.data.dataset_config import DatasetConfig, EvalConfig
    from socinf.data.prepare import corpus_source, prepare_data
    from socinf_cli.compose import compose
    from socinf_cli.paths import prepare

    dataset, evaluation = DatasetConfig("tweet", num_classes=4, n_keywords=200), EvalConfig(size=300)
    source = corpus_source(dataset, tmp_path / "home", data_dir=str(shared_data_dir), download=False)
    plain_data, plain_key, _ = prepare_data(dataset, evaluation, 3, source, StageCache(None))
    cfg = compose(["dataset=tweet", "dataset.num_classes=4", "dataset.n_keywords=200", "eval.size=300", "seed=3",
                   f"data.dir={shared_data_dir}", f"data.root={tmp_path / 'home'}"])
    cli_data, cli_key, _ = prepare(cfg, StageCache(None))
    assert plain_key == cli_key and plain_data.feature_names == cli_data.feature_names
    assert type(plain_data.X) is type(cli_data.X) and plain_data.X.shape == cli_data.X.shape
    assert (plain_data.X != cli_data.X).nnz == 0  # keyword records are CSR (dataset.features=auto)
    assert all(np.array_equal(part, getattr(cli_data.splits, name)) for name, part in vars(plain_data.splits).items())
    assert plain_data.label == "Tweet(4)" and len(plain_data.splits.eval_members) == 300
    other, other_key, _ = prepare_data(dataset, EvalConfig(size=200), 3, source, StageCache(None))
    assert other_key != plain_key and len(other.splits.eval_members) == 200
