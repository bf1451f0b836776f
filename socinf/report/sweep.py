"""What ``socinf report`` holds of a sweep: its complete jobs and the rest (``runs.load_runs`` fills it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SweepRuns:
    root: Path
    complete: list[dict] = field(default_factory=list)  # metrics.json contents + "run_dir", "overrides", "note"?
    failed: list[dict] = field(default_factory=list)  # {"run_dir", "overrides", "error", "status", "config"}
