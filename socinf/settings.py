"""Settings and what they may hold: constraints declared beside the fields, checked once where they arrive.

Each settings dataclass of the library (``DatasetConfig``, ``MimicConfig``, ``LiRAConfig``, ...) lists, next to
its fields, a ``constraints`` mapping in the manner of scikit-learn's ``_parameter_constraints``: field name ->
the constraints of which one must hold (``Interval``, ``Options``, ``BOOLEAN``, ``TEXT``, ``MAPPING``,
``None`` for null). ``check(settings, group)`` tests them and the class's own ``check_together`` (rules between
its fields); ``settings_from(value, cls, group)`` also turns a mapping (a plain dict or a Hydra node) into the
dataclass. Every door uses these two functions: ``socinf.audit``, the attack classes' ``fit``, the engine and
``socinf run`` (whose ``validate`` keeps only the rules that span groups), so a bad value gets the same one
line everywhere, naming the field with its group: ``mimic.epochs=-3: expected an integer in [1, 100000]``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping

from socinf.errors import ConfigError


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (int or float) between ``low`` and ``high`` (None: unbounded); ``closed`` names the
    ends that are allowed: both | left | right | neither."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def holds(self, value) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        left_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        right_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return left_ok and right_ok

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        low_in, high_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        low, high = _bound(self.low), _bound(self.high)
        if self.low is not None and self.high is not None:
            return f"{noun} in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"
        if self.low is not None:
            return f"{noun} {'>=' if low_in else '>'} {low}"
        if self.high is not None:
            return f"{noun} {'<=' if high_in else '<'} {high}"
        return noun


def _bound(x) -> str:
    """1000000 rather than 1e+06; 0.5 as it is."""
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclass(frozen=True)
class Options:
    """One of a fixed tuple of values (the tuple is the one place the choices are written)."""

    values: tuple

    def holds(self, value) -> bool:
        return isinstance(value, (str, bool, numbers.Number)) and value in self.values

    def describe(self) -> str:
        return str(self.values[0]) if len(self.values) == 1 else "one of " + ", ".join(map(str, self.values))


@dataclass(frozen=True)
class _Kind:
    types: tuple
    description: str

    def holds(self, value) -> bool:
        return isinstance(value, self.types) and not (bool not in self.types and isinstance(value, bool))

    def describe(self) -> str:
        return self.description


@dataclass(frozen=True)
class ListOf:
    """A list (or tuple) whose every item satisfies ``item``."""

    item: Any

    def holds(self, value) -> bool:
        return isinstance(value, (list, tuple)) and all(_satisfied(self.item, v) for v in value)

    def describe(self) -> str:
        return f"a list, each {_description(self.item)}"


BOOLEAN = _Kind((bool,), "true or false")
TEXT = _Kind((str,), "a string")
MAPPING = _Kind((Mapping,), "a mapping of names to values")

SEED = Interval(int, 0, 2**32 - 1)  # numpy's SeedSequence takes any non-negative int; Hydra's configs, 32 bits
THREADS = Interval(int, 1, 1024)


def _satisfied(constraint, value) -> bool:
    if constraint is None:
        return value is None
    return constraint.holds(_plain(value))


def _description(constraint) -> str:
    return "null" if constraint is None else constraint.describe()


def _plain(value):
    """A Hydra node (ListConfig, DictConfig) as the list / dict it holds; anything else as it is."""
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def shown(value) -> str:
    """A value as the user would write it back in an override: strings quoted, the rest plain."""
    value = _plain(value)
    return repr(value) if isinstance(value, str) else "null" if value is None else str(value)


def check_value(where: str, value, allowed) -> None:
    """One ConfigError line unless ``value`` satisfies one of ``allowed``: ``where=value: expected ...``."""
    if not any(_satisfied(c, value) for c in allowed):
        items = next((c.item for c in allowed if isinstance(c, ListOf)), None)
        value = _plain(value)
        if items is not None and isinstance(value, (list, tuple)):  # name the item: keywords_per_class[1]=0
            for i, item in enumerate(value):
                check_value(f"{where}[{i}]", item, [items])
        ordered = [c for c in allowed if c is not None] + [None] * (None in allowed)  # "..., or null" last
        text = next((c.shown(value) for c in ordered if hasattr(c, "shown")), None)  # a secret: never echoed
        raise ConfigError(f"{where}={text or shown(value)}: expected {' or '.join(_description(c) for c in ordered)}")


def check(settings, group: str):
    """``settings`` (a settings dataclass) if every field satisfies its constraints and the class's rules
    between fields (``check_together(group)``) hold; else one ConfigError line naming ``group.field``."""
    for name, allowed in getattr(type(settings), "constraints", {}).items():
        where = group if name == "name" else f"{group}.{name}"  # a group's option: `defense=blur`, as chosen
        check_value(where, getattr(settings, name), allowed)
    together = getattr(settings, "check_together", None)
    if together is not None:
        together(group)
    return settings


def settings_from(value, cls, group: str):
    """A checked ``cls`` from an instance of it, a mapping of its fields (a dict or a Hydra node: extra keys
    of a node that belong to other classes are ignored only with ``partial``) or None (the defaults)."""
    if value is None:
        return check(cls(), group)
    if isinstance(value, cls):
        return check(value, group)
    value = _plain(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{group}={shown(value)}: expected a {cls.__name__} or a mapping of its fields")
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [str(k) for k in value if k not in known]
    if unknown:
        raise ConfigError(f"{group}.{unknown[0]}: unknown setting; expected some of {', '.join(known)}")
    return check(cls(**value), group)


def fields_of(node, cls, group: str):
    """The fields of ``cls`` picked out of a larger node (the CLI's ``method`` node holds the keys of every
    method's settings), as a checked ``cls``."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {k: _plain(node[k]) for k in names if k in node}
    return check(cls(**values), group)
