"""``report=``: what a run's report files may hold, apart so the config schema loads without numpy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from socinf.settings import BOOLEAN


@dataclass
class ReportConfig:
    show_texts: bool = False  # exposure.csv and report.html quote the exposed members' texts (what an audit protects)

    constraints: ClassVar[dict] = {"show_texts": [BOOLEAN]}
