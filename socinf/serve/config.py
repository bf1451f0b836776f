"""``serve.*``: how `socinf serve` trains and exposes the owner's model, and what each setting may hold.

Apart from ``app.py`` so the config schema loads without FastAPI. The rule between the host and the key
(``check_together``): serving beyond loopback needs a real API key.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Optional

from socinf.errors import ConfigError
from socinf.owner.models import LOCAL_MODELS
from socinf.secrets import API_KEY
from socinf.settings import BOOLEAN, TEXT, Interval, Options

WEAK_KEYS = frozenset({"change-me", "changeme", "secret", "password", "test", "test-key", "api-key", "apikey",
                       "admin", "socinf", "key", "1234567890123456", "default", "letmein"})
MIN_KEY_CHARS = 16


@dataclass
class ServeConfig:
    model: str = "mlp"  # mlp | logistic | xgboost (hyper-parameters: conf/target/<model>.yaml)
    host: str = "127.0.0.1"
    port: int = 8000  # 0: any free port (written to port_file)
    api_key: Optional[str] = None  # read from SOCINF_API_KEY only (the command line would save it in .hydra/)
    rate_limit: Optional[float] = None  # requests per second, None = unlimited
    max_batch: int = 4096
    max_body_bytes: int = 64 * 1024 * 1024  # checked from Content-Length and while reading: 413 beyond
    max_connections: int = 64  # requests in flight (an idle connection is not one): 503 beyond; /healthz exempt
    max_inflight_bytes: int = 128 * 1024 * 1024  # request bodies held at once, all requests together: 503 beyond
    header_timeout_s: float = 10.0  # a connection must send a complete request head within this, or is closed
    port_file: Optional[str] = None  # written once listening (used by target=remote)
    exit_with_parent: bool = False  # a server spawned by target=remote stops if its client dies

    constraints: ClassVar[dict] = {
        "model": [Options(LOCAL_MODELS)], "host": [TEXT], "port": [Interval(int, 0, 65535)], "api_key": [None, API_KEY],
        "rate_limit": [None, Interval(float, 0, 1e6, "right")], "max_batch": [Interval(int, 1, 1_000_000)],
        "max_body_bytes": [Interval(int, 1, 2**31)], "max_connections": [Interval(int, 1, 100_000)],
        "max_inflight_bytes": [Interval(int, 1, 2**40)],
        "header_timeout_s": [Interval(float, 0, 3600, "right")], "port_file": [None, TEXT],
        "exit_with_parent": [BOOLEAN],
    }

    def check_together(self, group: str) -> None:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if loopback:
            return
        key = self.api_key or ""
        if len(key) < MIN_KEY_CHARS or key.lower() in WEAK_KEYS or len(set(key)) < 4:
            raise ConfigError(f"{group}.host={self.host}: serving beyond loopback needs SOCINF_API_KEY set to a key of "
                              f">= {MIN_KEY_CHARS} characters that is not a known default (e.g. `python -c \"import "
                              f"secrets; print(secrets.token_urlsafe(24))\"`); the default host is 127.0.0.1")
