"""The real corpora for every test that needs them; no test passes by skipping.

A test needs the corpora when it uses the ``shared_data_dir`` fixture (directly or through another
fixture); such tests are marked ``corpora`` at collection. When any selected test needs them, the
session first makes sure they are there: ``$SOCINF_DATA_DIR`` (a read-only local copy) if set, else
the data home (``$SOCINF_DATA`` or the per-user default), downloading the pinned files into it
(``$SOCINF_DATA_URL``: a mirror). If that fails the session stops at once with one line saying how to
provide them. ``make test-fast`` (``-m "not slow and not corpora"``) needs no corpora at all.
"""
import functools
import http.server
import os
from pathlib import Path

import pytest

CORPORA = ("tweet", "weibo", "clue")


def _needs_corpora(item) -> bool:
    return "shared_data_dir" in getattr(item, "fixturenames", ()) or item.get_closest_marker("corpora") is not None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _needs_corpora(item):
            item.add_marker(pytest.mark.corpora)


def _provide_corpora() -> Path:
    """The folder holding every corpus (``<dir>/emoint``, ...), verified; fetched into the data home if needed."""
    from socinf.data.fetch import data_home, resolve_corpus_dir

    local = os.environ.get("SOCINF_DATA_DIR")
    home = data_home()
    for corpus in CORPORA:
        resolve_corpus_dir(corpus, local, home, download=not local, url_base=os.environ.get("SOCINF_DATA_URL"))
    return Path(local) if local else home


def pytest_collection_finish(session):
    if session.config.option.collectonly or not any(_needs_corpora(i) for i in session.items):
        return
    from socinf.errors import SocinfError

    try:
        session.config.socinf_corpora = _provide_corpora()
    except SocinfError as exc:
        pytest.exit(f"the tests need the corpora: {exc}  [or run only the tests that need none: make test-fast]",
                    returncode=3)


@pytest.fixture(scope="session")
def shared_data_dir(request) -> Path:
    """The real corpora: ``$SOCINF_DATA_DIR`` or the data home, laid out as ``emoint/``, ``weibo-smp2020-ewect/``, ..."""
    return request.config.socinf_corpora


@pytest.fixture
def serve():
    """``serve(folder)`` -> (url, hits): a real HTTP server on 127.0.0.1 serving ``folder`` (a corpus mirror)."""
    from loopback import LoopbackHTTP

    servers: list[LoopbackHTTP] = []

    def start(directory: Path) -> tuple[str, list]:
        hits: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep pytest output clean
                pass

        servers.append(LoopbackHTTP(functools.partial(Handler, directory=str(directory))))
        return servers[-1].url, hits

    yield start
    for srv in servers:
        srv.close()
