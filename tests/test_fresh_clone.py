"""Acceptance of issue 12: a fresh clone without the corpora and without network fails `make test` at once
with one line; a run from an empty directory writes nothing there but outputs/."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socinf.data.registry import REGISTRY
from socinf_runner import FAST, socinf

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_clone_without_corpora_or_network_fails_at_once_with_one_line(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    env.update(PYTHONPATH=str(clone), SOCINF_DATA=str(tmp_path / "home"), SOCINF_DATA_URL="http://127.0.0.1:9")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 3, proc.stdout[-3000:]
    lines = [line for line in proc.stdout.splitlines() if "the tests need the corpora" in line]
    assert len(lines) == 1 and "cannot download" in lines[0] and "SOCINF_DATA_DIR" in lines[0], proc.stdout
    assert " passed" not in proc.stdout and " skipped" not in proc.stdout
    assert elapsed < 120, elapsed  # collection + one refused connection with pooch's two retries (1 s + 2 s)


def test_run_from_an_empty_directory_fetches_into_the_data_home_and_writes_only_outputs(tmp_path, shared_data_dir,
                                                                                       serve):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    url, hits = serve(shared_data_dir)  # a mirror of the pinned files (data.url_base / SOCINF_DATA_URL)
    env = {"SOCINF_DATA": str(home), "SOCINF_DATA_URL": url}
    proc = socinf(["run", "dataset=tweet", "target=xgboost", *FAST], cwd=work, data_dir=None, env_extra=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [p.name for p in work.iterdir()] == ["outputs"]
    spec = REGISTRY["tweet"]
    assert len(hits) == len(spec.files) and sorted(p.name for p in (home / spec.folder).iterdir()) == sorted(
        f.name for f in spec.files)  # fetched by the run itself, in the layout of a local copy
    assert (home / "cache" / "stages").is_dir()
    again = socinf(["run", "dataset=tweet", "target=xgboost", *FAST], cwd=work, data_dir=None, env_extra=env)
    assert again.returncode == 0 and len(hits) == len(spec.files)  # present and valid: nothing downloaded again
    as_local_copy = socinf(["data", "fetch", "tweet"], cwd=work, data_dir=home, env_extra={"SOCINF_DATA": str(tmp_path)})
    assert as_local_copy.returncode == 0 and "nothing to download" in " ".join(as_local_copy.stdout.split())
