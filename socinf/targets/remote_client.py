"""The HTTP client behind ``target=remote``: a black box reached only through its prediction API.

``predict_proba(X)`` answers from the persistent query cache first, sends the
rest in batches of ``target.batch_size`` over one keep-alive connection,
charges each batch to the persistent budget ledger (``QueryCache.charge``,
``target.max_queries`` across processes and reruns) *before* sending it,
retries connection errors, timeouts, 429 (honouring ``Retry-After``) and 5xx
with exponential backoff and jitter, and refuses any answer that is not a
well-formed probability matrix over the promised classes. ``v2_client.V2Target``
speaks the Open Inference Protocol on top of the same machinery.

Every predict request carries ``Idempotency-Key`` (a hash of its body). A
server that declares ``"idempotency": true`` in its schema (``socinf serve``)
answers a repeated key without billing it again, so a retry is not charged
again; against any other server each attempt is charged, since it may be
billed. Each request ends by ``target.deadline_s`` however slowly the server
sends (``socinf.targets.deadline``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import time
from typing import Callable

import httpx
import numpy as np

from socinf.errors import ConfigError, QueryBudgetExceeded, RemoteTargetError
from socinf.secrets import scrub
from socinf.settings import settings_from
from socinf.targets.base import check_answers
from socinf.sparse import to_format
from socinf.targets.codec import ANSWER_HEADER, FLOAT64, SPARSE, decode_float64_answer, encode_records
from socinf.targets.deadline import MAX_BYTES, AnswerTooLarge, DeadlineTransport
from socinf.targets.query_cache import QueryCache, normalise_url, record_keys
from socinf.targets.remote_http import (LOCAL_ERRORS, MAX_SCHEMA_BYTES, RETRY_STATUSES, answer_cap, error_detail,
                                        retry_after, schema_number, scrubbed)
from socinf.targets.remote_settings import RemoteSettings

logging.getLogger("httpx").setLevel(logging.WARNING)  # not one INFO line per request in the run log
WIRE_TOLERANCE = 1e-6  # float noise on a row sum sent as JSON
MAX_WAIT_S = 60.0  # one back-off or Retry-After wait is capped here
REFUSED_RETRIES, REFUSED_WAIT_S = 2, 0.25  # a refused connection: nobody listens, a long back-off helps nobody


def remote_settings(url, api_key, settings, fields: dict) -> RemoteSettings:
    """The checked ``RemoteSettings``: ``settings`` (an instance or mapping) with ``url``, ``api_key`` and any
    of its fields given as keywords on top."""
    base = dataclasses.asdict(settings_from(settings, RemoteSettings, "target"))
    given = {**fields, **{k: v for k, v in (("url", url), ("api_key", api_key)) if v is not None}}
    s = settings_from({**base, **given}, RemoteSettings, "target")
    if not s.url:
        raise ConfigError("target.url=null: a remote target needs the prediction API's http(s)://host:port")
    return s


class RemoteTarget:
    """The prediction API at ``url`` (a ``RemoteSettings``, or its fields as keywords: ``batch_size``,
    ``max_queries``, ...). ``cache`` stores answers (None: ``target.query_cache=false``); ``ledger`` (a
    ``QueryCache``, may be the same) books records sent under ``budget_key`` + the model id; without one, only
    this process counts."""

    SERVER = "`socinf serve`"  # what should be listening at ``url`` (the hint when nothing is)

    def __init__(self, url: str | None = None, api_key: str | None = None, *, settings=None,
                 cache: QueryCache | None = None, cache_endpoint: str | None = None, ledger: QueryCache | None = None,
                 budget_key: str | None = None, seed: int = 0, **fields):
        self.settings = s = remote_settings(url, api_key, settings, fields)
        self.url = s.url.rstrip("/")
        headers = self._auth_headers(s.api_key) if s.api_key else {}
        limits = httpx.Limits(max_keepalive_connections=1, keepalive_expiry=30)
        headers["Accept-Encoding"] = "identity"  # an answer's size is then its length on the wire (answer_cap)
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=s.timeout_s,
                                  transport=DeadlineTransport(s.deadline_s, limits=limits))
        self.batch_size, self.timeout_s, self.max_retries, self.backoff_s = s.batch_size, s.timeout_s, s.max_retries, s.backoff_s
        self.deadline_s = s.deadline_s
        self.max_queries, self.cache, self.ledger = s.max_queries, cache, ledger
        self.cache_endpoint = normalise_url(cache_endpoint or self.url)
        self.budget_scope = budget_key or self.cache_endpoint
        self.idempotent = False  # the server dedupes Idempotency-Key (from its schema)
        self.sparse_ok = False  # the server reads sparse instances (from its schema)
        self.float64_answers = False  # the server answers base64 float64 when asked (from its schema)
        self._jitter = random.Random(seed)
        self.records_sent = 0  # records answered to this process (CountingTarget books the rest of a call as cached)
        self.records_charged = 0  # records this process booked to the budget (retries to a non-deduping server too)
        self.requests = 0  # HTTP requests, retries included
        self.retries = 0
        self.schema: dict = {}
        self.spent_by_stage: Callable[[], str] | None = None  # for the budget message

    @staticmethod
    def _auth_headers(api_key: str) -> dict:
        return {"X-API-Key": api_key}

    # ------------------------------------------------------------------ connection and schema
    @scrubbed
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
        if schema.get("max_batch") is not None:
            max_batch = schema_number(schema["max_batch"], "max_batch", where, low=1)
            self.batch_size = min(self.batch_size, int(max_batch))
        self._row_sums = self._row_sum_bounds(schema, where)
        self.idempotent = schema.get("idempotency") is True
        encodings = schema.get("encodings")
        self.sparse_ok = isinstance(encodings, list) and SPARSE in encodings  # {"indices", "values"} instances
        answer_encodings = schema.get("answer_encodings")
        self.float64_answers = isinstance(answer_encodings, list) and FLOAT64 in answer_encodings
        return schema

    def _row_sum_bounds(self, schema: dict, where: str) -> tuple[float, float]:
        """What a row may sum to: the schema's interval, but never beyond what coarsening can explain.

        Rounding to ``round_digits`` decimals moves a row sum by at most K * 0.5 * 10**-digits; top-k only
        lowers it. A schema claiming more (``row_sum_max: 2``) is not believed: answers must stay in [0, 1]
        per entry and sum to at most 1 + that rounding slack."""
        output = schema.get("output") or {}
        if not isinstance(output, dict):
            raise RemoteTargetError(f"{where}: output={str(output)[:60]!r} in the schema; expected an object")
        low = schema_number(output.get("row_sum_min", 1.0), "output.row_sum_min", where)
        high = schema_number(output.get("row_sum_max", 1.0), "output.row_sum_max", where)
        digits = output.get("round_digits")
        slack = 0.0
        if digits is not None:
            slack = len(self.classes) * 0.5 * 10.0 ** -int(schema_number(digits, "output.round_digits", where, low=1))
        return min(low, 1.0) - WIRE_TOLERANCE, min(high, 1.0 + slack) + WIRE_TOLERANCE

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ the black box
    @scrubbed
    def predict_proba(self, X) -> np.ndarray:
        """Answers on records ``X`` (dense or sparse; a record is the same record in either format)."""
        X = to_format(X, None)
        keys = record_keys(X)
        first_row = {}
        for i, key in enumerate(keys):  # a record repeated within a call is paid for once
            first_row.setdefault(key, i)
        unique = list(first_row)
        answers = self.cache.get_many(self.cache_endpoint, self.model_id, unique) if self.cache is not None else {}
        missing = [k for k in unique if k not in answers]
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            probs = self._predict_batch(X[[first_row[k] for k in batch]])
            self.records_sent += len(batch)
            answers.update(zip(batch, probs))
            if self.cache is not None:
                self.cache.put_many(self.cache_endpoint, self.model_id, batch, probs)
        return np.stack([answers[k] for k in keys])

    @property
    def scope(self) -> str:
        return f"{self.budget_scope}|{getattr(self, 'model_id', '')}"

    def spent_total(self) -> int:
        """Records charged to this target's budget scope, by every process and run (this one's alone without
        a ledger)."""
        return self.ledger.spent(self.scope) if self.ledger is not None else self.records_charged

    def _charge(self, n: int) -> None:
        """Book ``n`` records before they are sent; refuse (sending nothing) if the budget would pass."""
        if self.ledger is not None:
            booked, before = self.ledger.charge(self.scope, n, self.max_queries)
        else:
            before = self.records_charged
            booked = self.max_queries is None or before + n <= self.max_queries
        if booked:
            self.records_charged += n
            return
        mine = self.spent_by_stage() if self.spent_by_stage else f"{self.records_sent} in all"
        kept = ("answers already paid for are cached, so a rerun with a larger budget pays only for the rest"
                if self.cache is not None else "target.query_cache=false: answers were not kept, a rerun pays again")
        raise QueryBudgetExceeded(
            f"target.max_queries={self.max_queries}: the next batch of {n} records to {self.url} would bring the "
            f"records sent to this target to {before + n} (charged before, all runs and attempts: {before}; this "
            f"run's spent so far: {mine}). "
            f"Nothing over the budget was sent; {kept}")

    def _predict_batch(self, rows) -> np.ndarray:
        body = encode_records(rows, self.sparse_ok)
        key = hashlib.sha256(body).hexdigest()[:32]
        n = rows.shape[0]
        response = self._request("POST", "/v1/predict", body, charge=n, idempotency_key=key,
                                 max_bytes=answer_cap(n, len(self.classes)),
                                 headers={ANSWER_HEADER: FLOAT64} if self.float64_answers else None)
        return self._checked_probabilities(response, n)

    def _checked_probabilities(self, response: httpx.Response, n: int) -> np.ndarray:
        where = f"POST {self.url}/v1/predict"
        payload = self._json(response, where)
        numbers = "probabilities_float64" if self.float64_answers else "probabilities"
        if not isinstance(payload, dict) or not {numbers, "classes", "model_id"} <= payload.keys():
            raise RemoteTargetError(f"{where}: expected a JSON object with probabilities, classes and model_id; "
                                    f"got {str(payload)[:80]!r}")
        if payload["classes"] != self.classes:
            raise RemoteTargetError(f"{where}: answered for classes {payload['classes']}; the schema promised "
                                    f"{self.classes} (unknown or reordered classes)")
        if str(payload["model_id"]) != self.model_id:
            raise RemoteTargetError(f"{where}: model_id changed from {self.model_id} to {payload['model_id']} "
                                    "mid-run (the service swapped its model); answers of two models would mix")
        if self.float64_answers:
            try:
                return self._checked_matrix(decode_float64_answer(payload), n, where)
            except ValueError as exc:
                raise RemoteTargetError(f"{where}: {exc}") from None
        try:
            probs = np.asarray(payload["probabilities"])
        except (ValueError, TypeError):
            probs = None
        if probs is None or probs.dtype.kind not in "fiu":  # strings, booleans, nulls, ragged rows
            raise RemoteTargetError(f"{where}: probabilities are not a numeric matrix (JSON numbers)")
        return self._checked_matrix(probs.astype(np.float64), n, where)

    @staticmethod
    def _json(response: httpx.Response, where: str):
        try:
            return response.json()
        except ValueError:
            raise RemoteTargetError(f"{where}: the response is not valid JSON: {response.text[:80]!r}") from None

    def _checked_matrix(self, probs: np.ndarray, n: int, where: str) -> np.ndarray:
        """``probs`` if it is an ``n`` x classes matrix of probabilities whose rows sum as the schema promised."""
        return check_answers(probs, n, len(self.classes), self._row_sums, where, RemoteTargetError, tolerance=0.0)

    @property
    def row_sums(self) -> tuple[float, float]:
        """What an answered row may sum to (after ``connect``): 1, or the interval an output defense allows."""
        return self._row_sums

    # ------------------------------------------------------------------ HTTP with retries
    def _request(self, method: str, path: str, body: bytes | None = None, charge: int = 0,
                 idempotency_key: str | None = None, max_bytes: int = MAX_SCHEMA_BYTES,
                 headers: dict | None = None) -> httpx.Response:
        """``charge`` records are booked before the first attempt, and before each retry unless the server
        dedupes ``idempotency_key`` (a lost answer stays charged: the server may have billed it)."""
        where = f"{method} {self.url}{path}"
        headers = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        problem, refused = "", 0
        for attempt in range(self.max_retries + 1):
            wait = pause = None
            if charge and (attempt == 0 or not self.idempotent):
                self._charge(charge)
            self.requests += 1
            try:
                response = self._http.request(method, path, content=body, headers=headers or None,
                                              extensions={MAX_BYTES: max_bytes})
            except AnswerTooLarge as exc:  # a server answering this much would again: not retried
                raise RemoteTargetError(f"{where}: the answer is {exc}; expected at most {max_bytes} bytes for "
                                        "this request (rows x classes); refused unread") from None
            except LOCAL_ERRORS as exc:  # made here, not by the network: another attempt fails the same way
                raise RemoteTargetError(f"{where}: the request could not be made ({type(exc).__name__}: "
                                        f"{scrub(str(exc), self.settings.api_key)})") from None
            except httpx.TimeoutException:
                problem = (f"no answer within target.timeout_s={self.timeout_s:g} per read or "
                           f"target.deadline_s={self.deadline_s} in all")
            except httpx.ConnectError as exc:  # refused (or no such host): at most two quick retries
                refused += 1
                if refused > REFUSED_RETRIES or attempt == self.max_retries:
                    raise RemoteTargetError(f"no server at {self.url}: is {self.SERVER} running? ({where}: "
                                            f"{exc or type(exc).__name__}, {refused} attempts)") from None
                problem, pause = f"connection failed ({type(exc).__name__}: {exc})", REFUSED_WAIT_S
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {scrub(str(exc), self.settings.api_key)})"
            else:
                status = response.status_code
                if status == 200:
                    return response
                if status in (401, 403):
                    raise RemoteTargetError(f"{where}: HTTP {status}, the API key was refused; export "
                                            "SOCINF_API_KEY=<the server's key>")
                problem = f"HTTP {status}: {scrub(error_detail(response), self.settings.api_key)}"
                if status not in RETRY_STATUSES:
                    raise RemoteTargetError(f"{where}: {problem}")
                wait = retry_after(response)
            if attempt < self.max_retries:
                self.retries += 1
                time.sleep(pause if pause is not None else self._delay(attempt, wait))
        raise RemoteTargetError(f"{where}: gave up after {self.max_retries + 1} attempts "
                                f"(target.max_retries={self.max_retries}); last problem: {problem}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential back-off with jitter; never sooner than the server's Retry-After."""
        base = self.backoff_s * 2 ** attempt
        delay = base / 2 + self._jitter.uniform(0, base / 2)
        return min(MAX_WAIT_S, max(delay, retry_after or 0.0))
