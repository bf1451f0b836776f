"""What ``socinf report`` accepts from a job dir before any section sees it: the shape of every value the
sections read, checked once by the reader (``runs.load_runs``), so a hostile or half-written file makes its job
"unreadable" (listed with its path and the reason) instead of a traceback in some table or figure.

A spec is a tuple of allowed types, or a dict of keys (``"key?"``: optional; ``"*"``: any key, each value as
given), or ``ListOf(spec, n)``. ``None`` in a tuple allows JSON null (only where the sections read the value as
``value or {}``; ``run.get(key, {})`` needs an object whenever the key is there). A section that starts reading another
value of ``metrics.json`` adds its path here.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

NUMBER = (int, float, type(None))  # bool is refused separately (it is an int to Python)
TEXT = (str, type(None))
INTEGER = (int, type(None))


@dataclass(frozen=True)
class ListOf:
    item: object
    length: int | None = None


GROUP = {"name?": TEXT, "*": object}  # a config group: its name (a table cell) and anything else
CONFIG = {"dataset?": {"name?": TEXT, "num_classes?": INTEGER, "attacker_fraction?": NUMBER, "*": object},
          "target?": {"name?": TEXT, "params?": (dict,), "*": object},
          **{f"{group}?": GROUP for group in ("synthesis", "method", "attack", "defense", "mimic")},
          "eval?": {"nonmembers?": TEXT, "*": object}, "seed?": INTEGER, "*": object}
BASELINE = {"accuracy?": NUMBER, "auc?": NUMBER, "tpr_at_1pct_fpr?": NUMBER, "*": object}


@cache
def metrics_spec() -> dict:
    """The shape of a ``metrics.json`` the report reads (built on first use: the metric names are the frame's)."""
    from socinf.report.frame import ATTACK_METRICS, STRONGEST

    def kind(name: str):  # the low-FPR flags (ok | coarse | unmeasurable) are text, every other metric a number
        return TEXT if name == "method" or name.endswith("_status") else NUMBER

    best = {**{f"{k}?": kind(k) for k in STRONGEST},
            "auc_ci95?": (ListOf(NUMBER, 2), type(None)), "*": object}
    mimic = ({"trained?": {"label_agreement?": NUMBER, "*": object}, "*": object}, type(None))
    defense = ({"name?": TEXT, "setting?": TEXT, "epsilon_spent?": NUMBER, "*": object}, type(None))
    return {
        "complete": (bool,),
        "protocol": {"name": (str,), "*": object},
        "dataset": {"label": (str,), "splits?": {"*": INTEGER}, "*": object},
        "method": {"name": (str,), "attack_model?": (str, type(None)), "mimic?": mimic, "*": object},
        "attack": {**{f"{m}?": kind(m) for m in ATTACK_METRICS},
                   "diagnostics?": ({"*": {"ok": (bool,), "*": object}}, type(None)), "*": object},
        "target": {"name?": TEXT, "train_accuracy?": NUMBER, "test_accuracy?": NUMBER, "overfitting_gap?": NUMBER,
                   "defense?": defense, "*": object},
        "strongest?": ({"by_auc?": (best, type(None)), "*": object}, type(None)),
        "baselines?": {"*": BASELINE},  # read as run.get(key, {}).get(...): an object when present, never null
        "collision?": {"ceiling_accuracy?": NUMBER, "*": object},
        "config?": CONFIG,
        "seed?": INTEGER,
        "scores_sha256?": TEXT,
        "threat?": TEXT,
        "*": object,
    }


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _expected(spec) -> str:
    options = spec if isinstance(spec, tuple) else (spec,)
    names = []
    for option in options:
        if isinstance(option, dict):
            names.append("an object")
        elif isinstance(option, ListOf):
            names.append(f"a list of {option.length or 'some'} numbers")
        else:
            names.append({bool: "true or false", str: "a string", int: "an integer", float: "a number",
                          type(None): "null", dict: "an object", object: "anything"}.get(option, str(option)))
    return " or ".join(dict.fromkeys(names))


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _fits(value, option, path: str) -> str | None:
    """None if ``value`` fits ``option`` (one alternative of a spec); "" if it does not; a problem found deeper
    inside a value of the right kind (an object with a bad member), with its path."""
    if isinstance(option, dict):
        return _object_problem(value, option, path) if isinstance(value, dict) else ""
    if isinstance(option, ListOf):
        if not isinstance(value, list) or (option.length is not None and len(value) != option.length):
            return ""
        return next((p for p in (problem(v, option.item, f"{path}[{i}]") for i, v in enumerate(value)) if p), None)
    if isinstance(value, bool) and option not in (bool, object):
        return ""
    return None if isinstance(value, option) else ""


def problem(value, spec, path: str = "") -> str | None:
    """Why ``value`` (at ``path``) does not have the shape ``spec`` asks for, or None."""
    options = spec if isinstance(spec, tuple) else (spec,)
    found = [_fits(value, option, path) for option in options]
    if any(p is None for p in found):
        return None
    deeper = next((p for p in found if p), None)  # an object of the right kind, a value inside it is not
    return deeper or f"{path or 'the file'}: expected {_expected(spec)}, got {_kind(value)}"


def _object_problem(value: dict, spec: dict, path: str) -> str | None:
    named = {k.rstrip("?") for k in spec if k != "*"}
    for key, inner in spec.items():
        name = key.rstrip("?")
        if key == "*":
            continue
        if name not in value:
            if not key.endswith("?"):
                return f"{_join(path, name)}: missing"
            continue
        found = problem(value[name], inner, _join(path, name))
        if found:
            return found
    rest = spec.get("*")
    if rest is not None and rest is not object:
        for key, item in value.items():
            found = None if key in named else problem(item, rest, _join(path, key))
            if found:
                return found
    return None


def saved_audit_spec() -> dict:
    """A result ``AuditResult.save`` wrote (no config): no protocol, and no method or attack when only the
    threshold attacks ran (the report's experiment sections, which read them, need a config to apply)."""
    spec = {k: v for k, v in metrics_spec().items() if k not in ("protocol", "method", "attack", "config?")}
    spec.update({"protocol?": spec_of("protocol"), "method?": (spec_of("method"), type(None)),
                 "attack?": (spec_of("attack"), type(None))})
    return spec


def spec_of(key: str):
    return metrics_spec()[key]


def metrics_problem(metrics) -> str | None:
    """Why a ``metrics.json`` cannot be reported, or None. ``"complete"`` must be the JSON boolean."""
    if isinstance(metrics, dict) and "config" not in metrics:
        return problem(metrics, saved_audit_spec())
    return problem(metrics, metrics_spec())


def config_problem(config) -> str | None:
    return problem(config, CONFIG)
