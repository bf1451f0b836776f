"""``target.protocol=v2``: a model behind the Open Inference Protocol (KServe v2 REST), as MLServer, KServe and
Triton speak it.

Everything a paid API needs (batching, the ``target.max_queries`` budget, the SQLite query cache, retries with
back-off, checks of every answer) is ``RemoteTarget``'s; this subclass only speaks the wire format:
``GET /v2/models/{name}`` for the metadata and ``POST /v2/models/{name}/infer`` with one typed tensor in and the
``predict_proba`` tensor out (the output MLServer's scikit-learn and XGBoost runtimes return when a request asks
for it). v2 metadata names no classes: they are the run's dataset classes, in the order the owner trained on
(``target.server_dir`` holds that split).
"""
from __future__ import annotations

import hashlib
import json

import httpx
import numpy as np

from socinf.errors import ConfigError, RemoteTargetError
from socinf.sparse import dense
from socinf.targets.codec import json_numbers
from socinf.targets.remote_client import WIRE_TOLERANCE, RemoteTarget, answer_cap, scrubbed

OUTPUT = "predict_proba"
FLOAT_TYPES = ("FP16", "FP32", "FP64")


def encode_tensor(rows: np.ndarray, name: str, datatype: str) -> bytes:
    """The infer request body: ``rows`` as one row-major tensor (sparse rows densified: a v2 tensor is dense),
    asking for the ``predict_proba`` output."""
    rows = dense(rows)
    n, d = rows.shape
    data = json_numbers(rows.ravel())  # keyword indicators: "0,1,0,..." written directly
    head = json.dumps({"name": name, "shape": [n, d], "datatype": datatype}, separators=(",", ":"))[:-1]
    return f'{{"inputs":[{head},"data":[{data}]}}],"outputs":[{{"name":"{OUTPUT}"}}]}}'.encode()


class V2Target(RemoteTarget):
    """``predict_proba`` through ``/v2/models/{model_name}``; ``classes`` are given, not read from the server."""

    SERVER = "the model server (MLServer, KServe, Triton)"

    def __init__(self, url: str | None = None, model_name: str | None = None, classes: list[str] = (),
                 api_key: str | None = None, **kwargs):
        super().__init__(url, api_key, **kwargs)
        model_name = model_name or self.settings.model_name
        if not model_name:
            raise ConfigError("target.model_name=null: target.protocol=v2 needs the model's name on the server")
        self.model_name, self.classes = model_name, list(classes)
        self.path = f"/v2/models/{model_name}"

    @staticmethod
    def _auth_headers(api_key: str) -> dict:
        return {"Authorization": f"Bearer {api_key}"}  # KServe / Triton behind a gateway

    @scrubbed
    def connect(self) -> dict:
        """Model metadata: name, versions, the input tensor; ``model_id`` = name, version and a metadata hash."""
        where = f"GET {self.url}{self.path}"
        metadata = self._json(self._request("GET", self.path), where)
        if not isinstance(metadata, dict) or metadata.get("name") != self.model_name:
            raise RemoteTargetError(f"{where}: expected the v2 metadata of model {self.model_name!r}; "
                                    f"got {str(metadata)[:120]!r}")
        try:
            versions = [str(v) for v in metadata.get("versions") or []]
            first = (metadata.get("inputs") or [{}])[0]
            self.input_name = str(first.get("name") or "input-0")
            self.input_type = str(first.get("datatype") or "FP32")
            shape = [int(s) for s in first.get("shape") or []]
        except (AttributeError, TypeError, ValueError):
            raise RemoteTargetError(f"{where}: the metadata's versions / inputs are not v2 metadata tensors: "
                                    f"{str(metadata)[:160]!r}") from None
        self.n_features = shape[-1] if shape and shape[-1] > 0 else None  # -1: any width
        digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()[:16]
        self.version = versions[0] if len(versions) == 1 else None
        self.model_id = f"{self.model_name}@{self.version or ','.join(versions)}#{digest}"
        self.owner_model_id = self.version  # `socinf export` writes socinf's model id as the version
        self._row_sums = (1.0 - WIRE_TOLERANCE, 1.0 + WIRE_TOLERANCE)
        self.schema = metadata
        return metadata

    def _predict_batch(self, rows: np.ndarray) -> np.ndarray:
        body = encode_tensor(rows, self.input_name, self.input_type)
        key = hashlib.sha256(body).hexdigest()[:32]  # charged before it is sent, as every paid batch
        n = rows.shape[0]
        response = self._request("POST", f"{self.path}/infer", body, charge=n, idempotency_key=key,
                                 max_bytes=answer_cap(n, len(self.classes)))
        return self._checked_outputs(response, n)

    def _checked_outputs(self, response: httpx.Response, n: int) -> np.ndarray:
        where = f"POST {self.url}{self.path}/infer"
        payload = self._json(response, where)
        outputs = payload.get("outputs") if isinstance(payload, dict) else None
        tensor = next((o for o in outputs or [] if isinstance(o, dict) and o.get("name") == OUTPUT), None)
        if tensor is None:
            names = [o.get("name") for o in outputs or [] if isinstance(o, dict)]
            raise RemoteTargetError(f"{where}: no {OUTPUT!r} output tensor (got {names or str(payload)[:80]!r}); "
                                    "the model must answer class probabilities (MLServer: a scikit-learn or "
                                    "XGBoost classifier)")
        if payload.get("model_name", self.model_name) != self.model_name or \
                (self.version is not None and payload.get("model_version", self.version) != self.version):
            raise RemoteTargetError(f"{where}: answered as model {payload.get('model_name')} version "
                                    f"{payload.get('model_version')}; the metadata promised {self.model_name} "
                                    f"version {self.version} (the service swapped its model mid-run)")
        if tensor.get("datatype") not in FLOAT_TYPES:
            raise RemoteTargetError(f"{where}: {OUTPUT} has datatype {tensor.get('datatype')!r}; expected one of "
                                    f"{', '.join(FLOAT_TYPES)}")
        try:
            probs = np.asarray(tensor["data"], dtype=np.float64).reshape([int(s) for s in tensor["shape"]])
        except (KeyError, ValueError, TypeError):
            raise RemoteTargetError(f"{where}: {OUTPUT} data do not form a numeric tensor of shape "
                                    f"{tensor.get('shape')}") from None
        return self._checked_matrix(probs, n, where)
