"""Hydra's errors at the command's door: one line, ``socinf: error: ...``, exit 2, with a "did you mean".

Hydra reports a bad override in ten lines or more (a search-path dump, "Set the environment variable
HYDRA_FULL_ERROR=1") and exits 1; for a misspelt key it advises ``+key=value``, which would add the typo.
``one_line(exc)`` turns Hydra's composition error into one line, suggesting (difflib) the group's options
or the keys of the node the key was looked for in. Two mistakes Hydra lets pass are caught before it composes
(``check_overrides``): ``+key=value`` adds any key, also to a schema that has no such key (the
``SocinfConfig`` schema, whose groups are the library's settings dataclasses), and an unknown option of an
optional group (``experiment=nope``) is silently skipped. ``+`` stays free where the schema leaves a node free
(a mapping such as ``target.params`` or ``defense.params``) and for config groups (``+experiment/cell=...``).
"""
from __future__ import annotations

import dataclasses
import difflib
import typing

from socinf.errors import ConfigError
from socinf_cli.conf_tree import chosen_options, config_dir, group_options

FREE = "free"  # a key under a free-form mapping (target.params.*): the schema says nothing about it
HINT = "socinf run --help lists the groups; socinf run --cfg job every key"


def did_you_mean(word: str, choices, prefix: str = "") -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.5)  # twitter -> tweet: 0.5
    return f"did you mean {prefix}{close[0]}?" if close else ""


def _fields(cls) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _is_mapping(kind) -> bool:
    return typing.get_origin(kind) in (dict, typing.Dict) or kind in (dict, typing.Dict)


def schema_lookup(key: str):
    """(the settings dataclass, field) the dotted ``key`` names in the schema, or ``FREE`` below a free-form
    mapping; ConfigError naming the first unknown part and the closest key otherwise."""
    from socinf_cli.config import SocinfConfig

    cls, parts = SocinfConfig, key.split(".")
    for i, part in enumerate(parts):
        fields = _fields(cls)
        where = ".".join(parts[:i])
        if part not in fields:
            candidates = list(fields)
            if not where:
                candidates += [g for g in sorted(p.name for p in config_dir().iterdir() if p.is_dir())]
            name = ".".join(parts[: i + 1])
            mean = did_you_mean(part, candidates, f"{where}." if where else "")
            known = f"its keys: {', '.join(fields)}" if where else HINT
            raise ConfigError(f"{name}: no such key{' in ' + where if where else ' or config group'}; "
                              f"{mean or known}" + (f" ({HINT})" if mean else ""))
        kind = fields[part]
        if i == len(parts) - 1:
            return cls, part
        if _is_mapping(kind):
            return FREE
        if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
            raise ConfigError(f"{key}: {'.'.join(parts[: i + 1])} is a value, not a group of keys")
        cls = kind
    raise AssertionError("unreachable")


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as exc:
        raise ConfigError(one_line(exc)) from None


def _check_option(group: str, option, options: list[str]) -> None:
    if option is None or str(option) in options:
        return
    mean = did_you_mean(str(option), options)
    raise ConfigError(f"{group}={option}: no such option; {mean + ' ' if mean else ''}expected one of "
                      f"{', '.join(options)}")


def check_overrides(overrides: list[str]) -> None:
    """What Hydra would let pass: an unknown option of one of our groups (also in a sweep, ``a,b``), and
    ``+key`` / ``++key`` for a key the schema does not know (or ``+key`` for one it has)."""
    from hydra.core.override_parser.types import OverrideType, ValueType

    for override in _parse(overrides):
        key = override.key_or_group
        if key.startswith("hydra") or override.type == OverrideType.DEL:
            continue
        values = _values(override, ValueType)
        options = group_options(key)
        if options is not None:
            if override.type == OverrideType.ADD and key in chosen_options():
                raise ConfigError(f"+{key}={override.get_value_element_as_str()}: {key} is chosen already "
                                  f"(default {chosen_options()[key]}); choose another without the +: {key}=...")
            for option in values:
                _check_option(key, option, options)
            continue
        found = schema_lookup(key)
        if found != FREE and override.type == OverrideType.ADD:
            raise ConfigError(f"+{key}: {key} is a key of socinf's config already; set it without the +: "
                              f"{key}={override.get_value_element_as_str()}")
        if found != FREE:
            for value in values:
                _check_value(key, found, value)


def _values(override, ValueType) -> list:
    """The values an override sets (each of a choice sweep's; none for ranges, globs and intervals)."""
    if override.value_type == ValueType.ELEMENT:
        return [override.value()]
    if override.value_type in (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP):
        return list(override.value().list)
    return []


def _check_value(key: str, found, value) -> None:
    """A value checked by the constraint beside its field, as ``validate`` would (interpolations are left)."""
    from socinf.settings import check_value

    cls, field = found
    allowed = getattr(cls, "constraints", {}).get(field)
    if allowed and not (isinstance(value, str) and "${" in value):
        check_value(key, value, allowed)


def _constraint_line(full_key: str, value) -> str | None:
    """The settings' own line for a value Hydra could not convert (``seed=abc: expected an integer ...``)."""
    try:
        found = schema_lookup(full_key)
        if found != FREE:
            _check_value(full_key, found, value)
    except ConfigError as exc:
        return str(exc)
    return None


def one_line(exc: BaseException) -> str:
    """Hydra's (or OmegaConf's) composition error as one line."""
    from hydra.errors import MissingConfigException, OverrideParseException

    cause = exc.__cause__
    text = str(exc)
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options is not None:
        group, _, option = exc.missing_cfg_file.rpartition("/")
        mean = did_you_mean(option, exc.options)
        return (f"{group}={option}: no such option; {mean + ' ' if mean else ''}expected one of "
                f"{', '.join(sorted(exc.options))}")
    if isinstance(exc, OverrideParseException):
        reason = text.splitlines()[0] if text else "bad syntax"
        return (f"{exc.override}: not a valid override ({reason}); expected key=value or group=option "
                "(https://hydra.cc/docs/advanced/override_grammar/basic/)")
    full_key = getattr(cause, "full_key", None)
    if text.startswith("Could not override") and full_key:  # an unknown key
        try:
            if schema_lookup(full_key) != FREE:
                return f"{full_key}: cannot be set here ({first_line(cause)})"
        except ConfigError as unknown:  # a misspelt key: its closest key, never +key (that would add the typo)
            return str(unknown)
        parent = getattr(cause, "parent_node", None)  # below a free-form mapping (target.params): + adds a key
        where, _, name = full_key.rpartition(".")
        mean = did_you_mean(name, list(parent.keys()) if parent is not None else [], f"{where}.")
        return f"{full_key}: {where} has no key {name}; {mean or f'to add it to this mapping, write +{full_key}=...'}"
    if text.startswith("Could not append to config. An item is already at"):  # +key for a key set already
        key = text.split("'")[1] if text.count("'") >= 2 else "the key"
        return f"+{key}: {key} is set already; set it without the +: {key}=..."
    if text.startswith("Error merging override") and full_key:  # a value of the wrong type
        line = _constraint_line(full_key, getattr(cause, "value", None))
        return line or f"{text.split('override ', 1)[-1]}: {first_line(cause)}"
    first = first_line(exc)
    return f"{first} ({first_line(cause)})" if cause is not None and first_line(cause) not in first else first


def first_line(exc: BaseException) -> str:
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)


def config_error(exc: BaseException) -> bool:
    """Whether ``exc`` is Hydra's or OmegaConf's report of a bad config (not a fault in socinf's code)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return isinstance(exc, (HydraException, OmegaConfBaseException))

