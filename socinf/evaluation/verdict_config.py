"""``verdict=``: the settings of an audit's verdict (``socinf.evaluation.verdict``), apart so the config schema
loads without numpy. Every door takes them: ``socinf run verdict.alpha=0.01``, ``socinf.audit(...,
verdict={"delta": 1e-6})``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from socinf.settings import Interval


@dataclass
class VerdictConfig:
    alpha: float = 0.05  # "leak detected": the chance of calling a leak on a model that leaks nothing, over every attack
    delta: float = 1e-5  # the delta of the (epsilon, delta)-DP whose epsilon the audit bounds from below

    constraints: ClassVar[dict] = {"alpha": [Interval(float, 0, 0.5, "neither")],
                                   "delta": [Interval(float, 0, 1, "left")]}
