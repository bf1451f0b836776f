"""``target=remote``: audit a model reachable only through a prediction API (the paper's BigML column).

With ``target.url`` set, the client talks to a running `socinf serve` (or any
API speaking its protocol), or with ``target.protocol=v2`` to a model behind the
Open Inference Protocol (MLServer serving what `socinf export` wrote), and reads
the membership truth from ``target.server_dir``, the serving run's directory. With it unset, the run
starts its own server (``remote_server.spawned_server``). Either way the
attack sees only ``CountingTarget.predict_proba``; the evaluator gets the
members from the split the server wrote, never through the API.
"""
from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from omegaconf import OmegaConf

from socinf.cache import content_key
from socinf.data.splits import Splits
from socinf.errors import ConfigError, RemoteTargetError
from socinf.serve.model import REPORT_FILE, SPLIT_FILE, split_key
from socinf.io import plain
from socinf.targets.base import CountingTarget, OpenedTarget
from socinf.settings import fields_of
from socinf.sparse import is_sparse
from socinf.targets.remote_client import RemoteTarget
from socinf.targets.remote_settings import RemoteSettings

SPAWNED_ENDPOINT = "socinf-serve:spawned"  # a spawned server's port changes every run; its model_id does not


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(f"target.server_dir={path.parent}: no readable {path.name}; expected the run dir of "
                          f"`socinf serve` (it writes {what} there)") from None


def _differences(saved: dict, cfg) -> str:
    theirs = {**{f"dataset.{k}": v for k, v in (saved.get("dataset") or {}).items()}, "seed": saved.get("seed")}
    mine = {**{f"dataset.{k}": v for k, v in OmegaConf.to_container(cfg.dataset, resolve=True).items()}, "seed": cfg.seed}
    diff = [f"{k}: server {theirs.get(k)!r}, run {mine.get(k)!r}" for k in mine if theirs.get(k) != mine.get(k)]
    return "; ".join(diff) or "same config, different split"


def server_splits(server_dir: Path, cfg, prepared) -> tuple[Splits, dict]:
    """The server's membership truth, checked against this run's own data preparation."""
    saved = _read_json(server_dir / SPLIT_FILE, "the membership split")
    if saved.get("split_key") != split_key(plain(cfg.dataset), cfg.seed):
        raise ConfigError(f"target.server_dir={server_dir}: the server's data differs from this run's "
                          f"({_differences(saved, cfg)}); start the server and the run with the same dataset.* and seed")
    members, heldout, attacker = (np.asarray(saved[k], dtype=int) for k in ("members", "heldout", "attacker"))
    mine = prepared.splits
    if not (np.array_equal(members, mine.members) and np.array_equal(heldout, mine.heldout)):
        raise ConfigError(f"target.server_dir={server_dir}: its member split differs from this run's although the "
                          "dataset config matches (corpus files changed?); restart the server")
    splits = Splits(members, heldout, attacker, mine.eval_members, mine.eval_nonmembers)
    return splits, saved


def _check_schema(schema: dict, prepared, url: str) -> None:
    names = [f.get("name") if isinstance(f, dict) else f for f in schema["features"]]
    if schema["classes"] != list(prepared.class_names):
        raise RemoteTargetError(f"GET {url}/v1/schema: classes {schema['classes']}; this run's dataset has "
                                f"{list(prepared.class_names)}")
    if names != list(prepared.feature_names):
        raise RemoteTargetError(f"GET {url}/v1/schema: {len(names)} input features that differ from this run's "
                                f"{len(prepared.feature_names)} keyword features; serve and audit the same dataset config")


def query_stats(client: RemoteTarget, cache_path: Path | None) -> dict:
    """What ``metrics.json["queries"]`` adds for a remote target: the budget left and the HTTP traffic."""
    budget, spent = client.max_queries, client.spent_total()
    return {"budget": budget, "budget_left": None if budget is None else budget - spent,
            "budget_spent": spent, "budget_scope": client.budget_scope,
            "http_requests": client.requests, "retries": client.retries, "endpoint": client.url,
            "model_id": client.model_id, "query_cache": str(cache_path) if cache_path else None}


def _spent_by_stage(counting: CountingTarget, client: RemoteTarget) -> str:
    sent = dict(counting.ledger.sent)
    in_flight = client.records_sent - sum(sent.values())  # the call being answered is booked when it returns
    if in_flight:
        sent[counting.current_stage] = sent.get(counting.current_stage, 0) + in_flight
    return ", ".join(f"{stage}={n}" for stage, n in sent.items() if n) or "none"


def _client(t, url: str, api_key, prepared, db, endpoint: str, scope: str, seed: int) -> RemoteTarget:
    """The HTTP client for ``target.protocol``: socinf's own API, or the Open Inference Protocol (v2). ``db``
    keeps the budget ledger always and the answers when ``target.query_cache`` is on."""
    settings = fields_of(t, RemoteSettings, "target")
    common = dict(settings=settings, cache=db if t.query_cache else None, ledger=db, budget_key=scope, seed=seed)
    if t.protocol == "v2":
        from socinf.targets.v2_client import V2Target

        return V2Target(url, t.model_name, prepared.class_names, api_key,
                        cache_endpoint=f"{endpoint}/v2/models/{t.model_name}", **common)
    return RemoteTarget(url, api_key, cache_endpoint=endpoint, **common)


def _check_inputs(protocol: str, client: RemoteTarget, schema: dict, prepared) -> None:
    if protocol == "socinf":
        _check_schema(schema, prepared, client.url)
    elif client.n_features not in (None, prepared.X.shape[1]):
        raise RemoteTargetError(f"GET {client.url}{client.path}: the model takes {client.n_features} input features; "
                                f"this run's dataset has {prepared.X.shape[1]}; serve and audit the same dataset config")


@contextmanager
def open_remote_target(cfg, prepared, key: str) -> Iterator:
    from socinf_cli.paths import data_root, original_cwd, run_dir
    from socinf.targets.query_cache import QueryCache, normalise_url
    from socinf_cli.remote_server import spawned_server

    t = cfg.target
    with ExitStack() as stack:
        if t.url:
            if not t.server_dir:
                raise ConfigError("target.server_dir=null: with target.url set, give the `socinf serve` run dir "
                                  "(it holds membership_split.json) so the evaluator knows the true membership")
            server_dir = original_cwd() / Path(t.server_dir).expanduser()  # an absolute path stays as it is
            url, api_key, endpoint = t.url, t.api_key, t.url.rstrip("/")
        else:
            spawned = stack.enter_context(spawned_server(cfg))
            url, api_key, server_dir, endpoint = spawned.url, spawned.api_key, spawned.server_dir, SPAWNED_ENDPOINT
        splits, saved = server_splits(server_dir, cfg, prepared)
        db_path = data_root(cfg) / "cache" / "queries.sqlite"  # answers (target.query_cache) and the budget ledger
        db = stack.enter_context(QueryCache(db_path))
        cache_path = db_path if t.query_cache else None
        endpoint = normalise_url(endpoint)
        scope = endpoint if t.budget_scope == "target" else f"run:{run_dir()}|{endpoint}"
        client = _client(t, url, api_key, prepared, db, endpoint, scope, cfg.seed)
        stack.callback(client.close)
        schema = client.connect()
        _check_inputs(t.protocol, client, schema, prepared)
        if saved.get("model_id") != client.owner_model_id:
            raise ConfigError(f"target.server_dir={server_dir} belongs to model {saved.get('model_id')}, but {url} "
                              f"serves model {client.owner_model_id}; point target.server_dir at that server's run dir "
                              f"({'the dir `socinf export` wrote' if t.protocol == 'v2' else 'its `socinf serve` run dir'})")
        served = _read_json(server_dir / REPORT_FILE, "the target's accuracy report")
        report = {**served, "name": "remote", "served_model": served.get("name"), "endpoint": client.url,
                  "server_dir": str(server_dir)}
        counting = CountingTarget(client, prepared.n_classes, prepared.X.shape[1], row_sums=client.row_sums,
                                  sparse=is_sparse(prepared.X))
        client.spent_by_stage = lambda: _spent_by_stage(counting, client)
        yield OpenedTarget(counting, content_key(key, client.model_id), report, splits,
                           lambda: query_stats(client, cache_path))
