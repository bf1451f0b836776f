"""Real HTTP servers on 127.0.0.1 for the tests, and fixtures that stop every server a test made."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator


class LoopbackHTTP:
    """``handler`` served on a free loopback port by a daemon thread until ``close()``."""

    def __init__(self, handler) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def made_then_stopped(make: Callable, stop: str = "close") -> Iterator[Callable]:
    """A fixture's body: yields ``make`` (each call builds one object), then calls ``stop`` on everything made."""
    made = []

    def tracked(*args, **kwargs):
        made.append(make(*args, **kwargs))
        return made[-1]

    yield tracked
    for obj in made:
        getattr(obj, stop)()


class Endless(BaseHTTPRequestHandler):
    """A mirror that answers every GET with bytes that never end (until the client hangs up)."""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass

    def log_message(self, *args):
        pass
