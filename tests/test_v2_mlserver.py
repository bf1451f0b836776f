"""``target.protocol=v2`` against a real MLServer on 127.0.0.1, serving what ``socinf export`` wrote.

MLServer cannot share socinf's virtualenv (it pins older FastAPI / Starlette), so it runs from its own venv,
``.venv-mlserver``, which ``make install`` creates; without it these tests fail, they do not skip.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from socinf.cache import StageCache
from socinf_cli.paths import prepare
from socinf.errors import QueryBudgetExceeded, RemoteTargetError
from socinf.targets.query_cache import QueryCache
from socinf.targets.v2_client import V2Target, encode_tensor
from socinf_cli.compose import compose
from socinf_cli.serve import build_served_model
from socinf_runner import FAST, KEY, run_audit, socinf, start_server

DATA = ["dataset=tweet", "dataset.per_class=300", "eval.size=150", "threads=1"]
MODELS = ("logistic", "xgboost")
AUDIT = FAST + ["mimic.epochs=20", "attack=knn", "target.model=logistic", "seed=1"]


def mlserver_bin() -> Path:
    candidates = [Path(os.environ["SOCINF_MLSERVER_VENV"])] if os.environ.get("SOCINF_MLSERVER_VENV") else []
    candidates += [Path(__file__).resolve().parents[1] / ".venv-mlserver", Path(sys.prefix).parent / ".venv-mlserver"]
    for venv in candidates:
        if (venv / "bin" / "mlserver").exists():
            return venv / "bin" / "mlserver"
    pytest.fail(f"no MLServer venv (looked in {', '.join(map(str, candidates))}); `make install` creates .venv-mlserver",
                pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("v2")


@pytest.fixture(scope="module")
def exported(root, shared_data_dir):
    """A model repository: the logistic and the XGBoost target of the same data, as `socinf export` writes them."""
    binary = mlserver_bin()
    for model in MODELS:
        proc = socinf(["export", str(root / "models" / f"tweet-{model}"), *DATA, f"serve.model={model}", "seed=1",
                       f"data.root={root / 'export-data'}"], cwd=root, data_dir=shared_data_dir)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return binary, root / "models"


@pytest.fixture(scope="module")
def mlserver(exported):
    binary, models = exported
    port = free_port()
    (models / "settings.json").write_text(json.dumps({"host": "127.0.0.1", "http_port": port, "grpc_port": free_port(),
                                                      "metrics_endpoint": None, "parallel_workers": 0}))
    with open(models.parent / "mlserver.log", "wb") as log:
        process = subprocess.Popen([str(binary), "start", str(models)], stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
    while True:
        assert process.poll() is None, (models.parent / "mlserver.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "MLServer did not become ready"
        try:
            if all(httpx.get(f"{url}/v2/models/tweet-{m}/ready", timeout=2).status_code == 200 for m in MODELS):
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    yield url, models / "tweet-logistic"
    process.terminate()
    process.wait(30)


def test_export_writes_what_mlserver_loads(exported):
    _, models = exported
    for model, (runtime, file) in {"logistic": ("mlserver_sklearn.SKLearnModel", "model.joblib"),
                                   "xgboost": ("mlserver_xgboost.XGBoostModel", "model.json")}.items():
        out = models / f"tweet-{model}"
        settings = json.loads((out / "model-settings.json").read_text())
        split = json.loads((out / "membership_split.json").read_text())
        assert settings["implementation"] == runtime and settings["name"] == out.name
        assert settings["parameters"] == {"uri": f"./{file}", "version": split["model_id"]}
        assert (out / file).is_file() and (out / "target_report.json").is_file()


@pytest.mark.parametrize("model", MODELS)
def test_mlserver_answers_what_the_local_model_answers(mlserver, root, shared_data_dir, model):
    url, _ = mlserver
    cfg = compose(DATA + [f"serve.model={model}", "seed=1", f"data.dir={shared_data_dir}",
                          f"data.root={root / 'export-data'}"])
    served = build_served_model(cfg, root / f"local-{model}")  # the model `socinf serve` would serve for this config
    prepared = prepare(cfg, StageCache(None), root / "export-data")[0]
    s = prepared.splits
    X = prepared.X[np.concatenate([s.eval_members, s.eval_nonmembers])]
    client = V2Target(url, f"tweet-{model}", prepared.class_names, batch_size=64)
    client.connect()
    assert client.owner_model_id == served.model_id and client.n_features == X.shape[1]
    remote = client.predict_proba(X)
    unique = len({r.tobytes() for r in (X.toarray() if hasattr(X, "toarray") else X)})  # a record repeated in one call is sent once
    assert client.records_sent == unique and client.requests == 1 + -(-unique // 64)  # metadata, then batches
    np.testing.assert_array_equal(remote, served.predict(X))
    client.close()


def test_v2_audit_equals_the_audit_against_socinf_serve(mlserver, root, shared_data_dir):
    url, out = mlserver
    started = time.perf_counter()
    proc, v2 = run_audit(root, shared_data_dir, AUDIT + [
        "target=remote", "target.protocol=v2", f"target.url={url}", f"target.model_name={out.name}",
        f"target.server_dir={out}"], name="audit-v2")
    v2_wall = time.perf_counter() - started
    assert v2 is not None, proc.stderr[-2000:]
    server = start_server(root / "serve", DATA + ["serve.model=logistic", "seed=1", f"data.root={root / 'serve-data'}"],
                          shared_data_dir)
    try:
        started = time.perf_counter()
        proc, v1 = run_audit(root, shared_data_dir, AUDIT + [
            "target=remote", f"target.url={server.url}", f"target.server_dir={server.dir}"],
            name="audit-serve", env_extra={"SOCINF_API_KEY": KEY})  # keys only from the environment
        v1_wall = time.perf_counter() - started
    finally:
        server.stop()
    assert v1 is not None, proc.stderr[-2000:]
    print(f"\nv2 (MLServer): {v2_wall:.1f} s, socinf serve: {v1_wall:.1f} s")
    for section in ("attack", "baselines", "strongest"):
        assert v2[section] == v1[section], section
    for key in ("train_accuracy", "test_accuracy", "overfitting_gap", "model_id"):
        assert v2["target"][key] == v1["target"][key], key
    assert v2["queries"]["sent"] == v1["queries"]["sent"] > 0
    assert v2["queries"]["model_id"].startswith(f"{out.name}@{v1['target']['model_id']}#")


def test_v2_faults_name_what_is_wrong(mlserver, root, shared_data_dir):
    url, out = mlserver
    with pytest.raises(RemoteTargetError, match=r"GET .*/v2/models/nope: HTTP 404"):
        V2Target(url, "nope", ["a", "b"], max_retries=0).connect()
    client = V2Target(url, out.name, ["anger", "fear", "joy"], max_retries=0)  # one class short
    client.connect()
    with pytest.raises(RemoteTargetError, match=r"answers have 4 columns, but the labels name 3 classes"):
        client.predict_proba(np.eye(2, client.n_features))
    X = np.eye(12, client.n_features)
    with QueryCache(root / "queries.sqlite") as cache:  # budget and cache: RemoteTarget's, shared
        client = V2Target(url, out.name, ["anger", "fear", "joy", "sadness"], max_queries=10, cache=cache,
                          batch_size=5)
        client.connect()
        first = client.predict_proba(X[:10])
        with pytest.raises(QueryBudgetExceeded, match="target.max_queries=10: the next batch of 2 records"):
            client.predict_proba(X)
        np.testing.assert_array_equal(client.predict_proba(X[:10]), first)  # from the cache: free
        assert client.records_sent == 10 and cache.count(model_id=client.model_id) == 10
    other = root / "other-model"  # the same split, but the truth of another model
    other.mkdir()
    split = json.loads((out / "membership_split.json").read_text())
    (other / "membership_split.json").write_text(json.dumps({**split, "model_id": "0123456789abcdef"}))
    proc, _ = run_audit(root, shared_data_dir, AUDIT + [
        "target=remote", "target.protocol=v2", f"target.url={url}", f"target.model_name={out.name}",
        f"target.server_dir={other}"], name="wrong-dir")
    assert proc.returncode == 2, proc.stderr[-800:]
    assert f"belongs to model 0123456789abcdef, but {url} serves model {split['model_id']}" in proc.stderr


def proba(data, shape=(1, 4), datatype="FP64", name="predict_proba", **extra) -> dict:
    return {"outputs": [{"name": name, "shape": list(shape), "datatype": datatype, "data": data}], **extra}


@pytest.mark.parametrize("payload,message", [
    (proba([1], (1,), "INT64", name="predict"), r"no 'predict_proba' output tensor \(got \['predict'\]\)"),
    (proba([1, 0, 0, 0], datatype="INT64"), "predict_proba has datatype 'INT64'; expected one of FP16, FP32, FP64"),
    (proba([0.5, 0.5, 0, 0], model_version="v-other"), "the service swapped its model mid-run"),
    (proba([0.5, 0.5, 0]), r"data do not form a numeric tensor of shape \[1, 4\]"),
    (proba([0.5, 0.4, 0, 0]), r"rows sum to 0.9, not 1 \(record 0\)"),
    ([1, 2], "no 'predict_proba' output tensor"),
])
def test_malformed_v2_answers_are_refused(mlserver, payload, message):
    url, out = mlserver
    client = V2Target(url, out.name, ["anger", "fear", "joy", "sadness"])
    client.connect()  # the real metadata; the answers below are what a faulty server might send
    with pytest.raises(RemoteTargetError, match=message):
        client._checked_outputs(httpx.Response(200, json=payload), 1)


def test_encode_tensor_is_the_json_a_v2_server_expects():
    rows = np.array([[0, 1, 1], [1, 0, 0]], dtype=np.float32)
    body = json.loads(encode_tensor(rows, "x", "FP32"))
    assert body == {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [0, 1, 1, 1, 0, 0]}],
                    "outputs": [{"name": "predict_proba"}]}
    body = json.loads(encode_tensor(np.array([[0.5, 2.25]]), "x", "FP64"))
    assert body["inputs"][0]["data"] == [0.5, 2.25]


def test_export_refuses_output_defenses_and_v2_needs_its_keys(tmp_path, shared_data_dir):
    proc = socinf(["export", str(tmp_path / "m"), "defense=round", "defense.digits=2"], cwd=tmp_path,
                  data_dir=shared_data_dir)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "defense=round" in lines[0] and "none or regularize" in lines[0]
    proc = socinf(["run", "target=remote", "target.protocol=v2", "target.url=http://127.0.0.1:9"], cwd=tmp_path,
                  data_dir=shared_data_dir)
    assert proc.returncode == 2 and "target.model_name=null: target.protocol=v2 needs" in proc.stderr, proc.stderr
