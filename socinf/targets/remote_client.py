"""The HTTP client behind ``target=remote``: a black box reached only through its prediction API.

``predict_proba(X)`` answers from the persistent query cache first, sends the
rest in batches of ``target.batch_size`` over one keep-alive connection,
checks the ``target.max_queries`` budget *before* each batch, retries
connection errors, timeouts, 429 (honouring ``Retry-After``) and 5xx with
exponential backoff and jitter, and refuses any answer that is not a
well-formed probability matrix over the promised classes. ``v2_client.V2Target``
speaks the Open Inference Protocol on top of the same machinery.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Callable

import httpx
import numpy as np

from socinf.errors import QueryBudgetExceeded, RemoteTargetError
from socinf.targets.codec import encode_instances
from socinf.targets.query_cache import QueryCache, record_keys

logging.getLogger("httpx").setLevel(logging.WARNING)  # not one INFO line per request in the run log
SUM_TOLERANCE = 1e-6  # float noise on a row sum
MAX_WAIT_S = 60.0  # one back-off or Retry-After wait is capped here
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: fall back to our own back-off
        return None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:200]


class RemoteTarget:
    def __init__(self, url: str, api_key: str | None = None, *, batch_size: int = 256, timeout_s: float = 30.0,
                 max_retries: int = 6, backoff_s: float = 0.2, max_queries: int | None = None, cache: QueryCache | None = None,
                 cache_endpoint: str | None = None, seed: int = 0):
        self.url = url.rstrip("/")
        headers = self._auth_headers(api_key) if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s,
                                  limits=httpx.Limits(max_keepalive_connections=1, keepalive_expiry=30))
        self.batch_size, self.timeout_s, self.max_retries, self.backoff_s = batch_size, timeout_s, max_retries, backoff_s
        self.max_queries, self.cache = max_queries, cache
        self.cache_endpoint = cache_endpoint or self.url
        self._jitter = random.Random(seed)
        self.records_sent = 0  # records paid for (CountingTarget books the rest of a call as cached)
        self.requests = 0  # HTTP requests, retries included
        self.retries = 0
        self.schema: dict = {}
        self.spent_by_stage: Callable[[], str] | None = None  # for the budget message

    @staticmethod
    def _auth_headers(api_key: str) -> dict:
        return {"X-API-Key": api_key}

    # ------------------------------------------------------------------ connection and schema
    def connect(self) -> dict:
        """``GET /v1/schema``: the input format, the classes and the model id (the attacker's only knowledge)."""
        response = self._request("GET", "/v1/schema")
        where = f"GET {self.url}/v1/schema"
        try:
            schema = response.json()
            self.model_id, self.classes = str(schema["model_id"]), list(schema["classes"])
            n_features = len(schema["features"])
        except (ValueError, KeyError, TypeError):
            raise RemoteTargetError(f"{where}: expected a JSON schema with model_id, features and classes; "
                                    f"got {response.text[:120]!r}") from None
        self.schema, self.n_features = schema, n_features
        self.owner_model_id = self.model_id  # the id `socinf serve` wrote to its membership_split.json
        self.batch_size = min(self.batch_size, int(schema.get("max_batch") or self.batch_size))
        output = schema.get("output") or {}  # a coarsening API (top-k, rounding) publishes how far rows may drift
        self._row_sums = (float(output.get("row_sum_min", 1.0)) - SUM_TOLERANCE,
                          float(output.get("row_sum_max", 1.0)) + SUM_TOLERANCE)
        return schema

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ the black box
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        keys = record_keys(X)
        first_row = {}
        for i, key in enumerate(keys):  # a record repeated within a call is paid for once
            first_row.setdefault(key, i)
        unique = list(first_row)
        answers = self.cache.get_many(self.cache_endpoint, self.model_id, unique) if self.cache is not None else {}
        missing = [k for k in unique if k not in answers]
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            self._check_budget(len(batch))
            probs = self._predict_batch(X[[first_row[k] for k in batch]])
            self.records_sent += len(batch)
            answers.update(zip(batch, probs))
            if self.cache is not None:
                self.cache.put_many(self.cache_endpoint, self.model_id, batch, probs)
        return np.stack([answers[k] for k in keys])

    def _check_budget(self, n: int) -> None:
        if self.max_queries is not None and self.records_sent + n > self.max_queries:
            spent = self.spent_by_stage() if self.spent_by_stage else f"{self.records_sent} in all"
            raise QueryBudgetExceeded(
                f"target.max_queries={self.max_queries}: the next batch of {n} records to {self.url} would bring "
                f"the records sent to {self.records_sent + n}; spent so far: {spent}. Nothing over the budget was "
                f"sent; answers already paid for are cached, so a rerun with a larger budget pays only for the rest")

    def _predict_batch(self, rows: np.ndarray) -> np.ndarray:
        response = self._request("POST", "/v1/predict", encode_instances(rows))
        return self._checked_probabilities(response, len(rows))

    def _checked_probabilities(self, response: httpx.Response, n: int) -> np.ndarray:
        where = f"POST {self.url}/v1/predict"
        payload = self._json(response, where)
        if not isinstance(payload, dict) or not {"probabilities", "classes", "model_id"} <= payload.keys():
            raise RemoteTargetError(f"{where}: expected a JSON object with probabilities, classes and model_id; "
                                    f"got {str(payload)[:80]!r}")
        if payload["classes"] != self.classes:
            raise RemoteTargetError(f"{where}: answered for classes {payload['classes']}; the schema promised "
                                    f"{self.classes} (unknown or reordered classes)")
        if str(payload["model_id"]) != self.model_id:
            raise RemoteTargetError(f"{where}: model_id changed from {self.model_id} to {payload['model_id']} "
                                    "mid-run (the service swapped its model); answers of two models would mix")
        try:
            probs = np.asarray(payload["probabilities"], dtype=np.float64)
        except (ValueError, TypeError):
            raise RemoteTargetError(f"{where}: probabilities are not a numeric matrix") from None
        return self._checked_matrix(probs, n, where)

    @staticmethod
    def _json(response: httpx.Response, where: str):
        try:
            return response.json()
        except ValueError:
            raise RemoteTargetError(f"{where}: the response is not valid JSON: {response.text[:80]!r}") from None

    def _checked_matrix(self, probs: np.ndarray, n: int, where: str) -> np.ndarray:
        """``probs`` if it is an ``n`` x classes matrix of probabilities whose rows sum as promised."""
        expected = (n, len(self.classes))
        if probs.shape != expected:
            raise RemoteTargetError(f"{where}: probabilities have shape {list(probs.shape)}; expected "
                                    f"{list(expected)} ({n} records x {len(self.classes)} classes)")
        low, high = self._row_sums
        if not np.isfinite(probs).all() or (probs < 0).any() or (probs > high).any():
            raise RemoteTargetError(f"{where}: probabilities must be finite numbers in [0, 1]")
        sums = probs.sum(axis=1)
        off = (sums < low) | (sums > high)
        if off.any():
            i = int(np.argmax(off))
            raise RemoteTargetError(f"{where}: the probabilities of record {i} sum to {sums[i]:.6g}, not 1 "
                                    f"(accepted: {low:.6g} to {high:.6g})")
        return probs

    # ------------------------------------------------------------------ HTTP with retries
    def _request(self, method: str, path: str, body: bytes | None = None) -> httpx.Response:
        where = f"{method} {self.url}{path}"
        headers = {"Content-Type": "application/json"} if body is not None else None
        problem = ""
        for attempt in range(self.max_retries + 1):
            wait = None
            self.requests += 1
            try:
                response = self._http.request(method, path, content=body, headers=headers)
            except httpx.TimeoutException:
                problem = f"no answer within target.timeout_s={self.timeout_s:g}"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if status == 200:
                    return response
                if status in (401, 403):
                    raise RemoteTargetError(f"{where}: HTTP {status}, the API key was refused; set target.api_key "
                                            "(or SOCINF_API_KEY) to the server's key")
                if status not in RETRY_STATUSES:
                    raise RemoteTargetError(f"{where}: HTTP {status}: {_detail(response)}")
                problem, wait = f"HTTP {status}: {_detail(response)}", _retry_after(response)
            if attempt < self.max_retries:
                self.retries += 1
                time.sleep(self._delay(attempt, wait))
        raise RemoteTargetError(f"{where}: gave up after {self.max_retries + 1} attempts "
                                f"(target.max_retries={self.max_retries}); last problem: {problem}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential back-off with jitter; never sooner than the server's Retry-After."""
        base = self.backoff_s * 2 ** attempt
        delay = base / 2 + self._jitter.uniform(0, base / 2)
        return min(MAX_WAIT_S, max(delay, retry_after or 0.0))
