"""Class labels read from a user's file (``dataset=text``, ``dataset=csv``): one spelling per class.

A label is a number only if it is written in ASCII digits (``"²"`` or ``"٣"`` pass ``str.isdigit`` but are no
class number, ``"--1"`` is no number at all); classes of numbers are ordered by value (2 before 10). Labels that
spell the same number differently (``"1"``, ``"01"``, ``"1.0"``, ``"+1"``) are refused in one line naming them:
read as text they would silently become separate classes of what the user meant as one.
"""
from __future__ import annotations

import re

from socinf.errors import DataError

ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def number(label: str) -> float | None:
    """The value of a label written as an ASCII decimal number, else None."""
    return float(label) if ASCII_NUMBER.fullmatch(label) else None


def class_order(labels, where: str) -> list[str]:
    """The distinct ``labels`` as class names, sorted (numbers by value); ``DataError`` if two spell one number."""
    labels = sorted(set(labels))
    spellings: dict[float, list[str]] = {}
    for label in labels:
        value = number(label)
        if value is not None:
            spellings.setdefault(value, []).append(label)
    clash = next((group for group in spellings.values() if len(group) > 1), None)
    if clash is not None:
        shown = ", ".join(repr(s) for s in clash)
        raise DataError(f"{where}: labels {shown} are spellings of the same number ({clash[0]} and {clash[1]} would "
                        f"become separate classes); write each class one way, e.g. all as {min(clash, key=len)!r}")
    if labels and len(spellings) == len(labels):
        return sorted(labels, key=float)
    return labels
