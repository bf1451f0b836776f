"""``target.*`` of a model behind a prediction API: where it is, how to ask it, and what a query may cost.

``RemoteTarget`` (``remote_client.py``) takes these settings; the Hydra schema's ``target`` node reuses the
dataclass, so each default is written here once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from socinf.errors import ConfigError
from socinf.secrets import API_KEY
from socinf.settings import BOOLEAN, TEXT, Interval, Options

PROTOCOLS = ("socinf", "v2")  # socinf serve's own API | the Open Inference Protocol (v2_client)
BUDGET_SCOPES = ("target", "run")  # max_queries: the endpoint + model across runs | one run dir


@dataclass
class RemoteSettings:
    url: Optional[str] = None  # http(s)://host:port of the prediction API
    protocol: str = "socinf"  # socinf (`socinf serve`) | v2 (Open Inference Protocol: MLServer, KServe, Triton)
    model_name: Optional[str] = None  # v2: the model's name on the server (/v2/models/{model_name})
    api_key: Optional[str] = None  # read from SOCINF_API_KEY (never give it on the command line)
    batch_size: int = 256  # records per request
    timeout_s: float = 30.0  # per read (connect, each chunk of the answer)
    deadline_s: Optional[float] = 120.0  # per request attempt, in all: a server dribbling bytes cannot stall a run
    max_queries: Optional[int] = None  # budget of records sent (cache hits are free), charged before each batch
    # target: max_queries is the total of every run using this data.root on this endpoint + model id; run: per run dir
    budget_scope: str = "target"
    max_retries: int = 6  # connection errors, timeouts, 429 and 5xx, with exponential back-off and jitter
    backoff_s: float = 0.2
    query_cache: bool = True  # <data.root>/cache/queries.sqlite: a record is paid for once

    constraints: ClassVar[dict] = {
        "url": [None, TEXT], "protocol": [Options(PROTOCOLS)], "model_name": [None, TEXT], "api_key": [None, API_KEY],
        "batch_size": [Interval(int, 1, 1_000_000)], "timeout_s": [Interval(float, 0, 86_400, "right")],
        "deadline_s": [None, Interval(float, 0, 86_400, "right")], "max_queries": [None, Interval(int, 1, 10**12)],
        "budget_scope": [Options(BUDGET_SCOPES)], "max_retries": [Interval(int, 0, 100)],
        "backoff_s": [Interval(float, 0, 3600)], "query_cache": [BOOLEAN],
    }

    def check_together(self, group: str) -> None:
        if self.url and has_credentials(self.url):  # said without the URL: it holds a password
            raise ConfigError(f"{group}.url: {URL_CREDENTIALS}")
        if self.url and not str(self.url).lower().startswith(("http://", "https://")):
            raise ConfigError(f"{group}.url={self.url}: expected http://host:port or https://host:port")


URL_CREDENTIALS = ("holds a user name or password (user:secret@host), which would be saved in .hydra/ and "
                   "metrics.json and shown by ps; give the URL without it and the key in SOCINF_API_KEY")


def has_credentials(url: str) -> bool:
    """``url`` carries user info (``http://user:secret@host``)."""
    authority = str(url).split("://", 1)[-1].split("/", 1)[0]
    return "@" in authority
