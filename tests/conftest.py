import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real corpora: ``../shared/data`` beside the project root, or ``$SOCINF_DATA_DIR``."""
    path = Path(os.environ.get("SOCINF_DATA_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"shared data dir {path} not found (set SOCINF_DATA_DIR)")
    return path
