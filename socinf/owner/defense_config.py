"""``defense=``: the owner's defense settings (paper Section V) and what each may hold; ``defenses.py`` applies them.

Apart from ``defenses.py`` so the config schema loads without numpy. Rules between this group and the target
(``dp`` needs a DP trainer for the target's algorithm) are ``defenses.check_defense``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional

from socinf.errors import ConfigError
from socinf.settings import MAPPING, Interval, Options

DEFENSES = ("none", "round", "top_k", "label_only", "dp", "regularize")
TRAINING_DEFENSES = ("dp", "regularize")


@dataclass
class DefenseConfig:
    name: str = "none"  # none | round | top_k | label_only | dp | regularize
    digits: Optional[int] = None  # round (and on top of any other): decimals kept
    k: Optional[int] = None  # top_k (and on top of any other): probabilities kept
    epsilon: Optional[float] = None  # dp: the privacy budget
    delta: Optional[float] = None  # dp with DP-SGD (mlp)
    data_norm: Optional[float] = None  # dp logistic: rows are clipped to this L2 norm
    max_grad_norm: Optional[float] = None  # dp mlp: per-example gradient clipping norm
    params: Dict[str, Any] = field(default_factory=dict)  # regularize / dp: per algorithm, on top of target.params

    constraints: ClassVar[dict] = {
        "name": [Options(DEFENSES)], "digits": [None, Interval(int, 1, 15)], "k": [None, Interval(int, 1, 1000)],
        "epsilon": [None, Interval(float, 0, 1e6, "right")], "delta": [None, Interval(float, 0, 1, "neither")],
        "data_norm": [None, Interval(float, 0, 1e12, "right")], "max_grad_norm": [None, Interval(float, 0, 1e12, "right")],
        "params": [MAPPING],
    }

    def check_together(self, group: str) -> None:
        if self.name == "round" and self.digits is None:
            raise ConfigError(f"{group}.digits=null: defense=round needs {group}.digits (e.g. 1 keeps one decimal)")
        if self.name == "top_k" and self.k is None:
            raise ConfigError(f"{group}.k=null: defense=top_k needs {group}.k (e.g. 1 keeps the largest probability)")
        if self.name in ("none", "label_only") and (self.digits is not None or self.k is not None):
            fix = "use defense=round / defense=top_k" if self.name == "none" else "a one-hot answer has nothing to coarsen"
            raise ConfigError(f"defense={self.name} with {group}.digits={self.digits}, {group}.k={self.k}: "
                              f"expected both null ({fix})")
        if self.name == "dp" and self.epsilon is None:
            raise ConfigError(f"{group}.epsilon=null: defense=dp needs a privacy budget epsilon > 0")
