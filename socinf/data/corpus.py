"""Plain-data container for a loaded, deduplicated corpus."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Corpus:
    """Deduplicated labelled texts of one corpus at one class granularity.

    ``labels`` are ints 0..K-1 indexing ``class_names``. ``official`` holds, for
    corpora that ship an official split (EmoInt), ``"train"`` / ``"dev"`` /
    ``"test"`` per record, else ``None``. ``language`` is ``"en"`` or ``"zh"``
    (selects the tokenizer for keyword features) or ``"tabular"`` (``features``
    already given, e.g. ``dataset=csv``).
    """

    name: str
    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    language: str
    official: np.ndarray | None = None
    features: np.ndarray | None = None
    feature_names: list[str] | None = None
    dedup: dict = field(default_factory=dict)  # counts: raw, duplicates_removed, conflicting_dropped, empty_dropped

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.class_names)}
