"""Disjoint, seeded splits: target members, held-out non-members, attacker population.

``random`` (paper IV.A.1): a stratified ``member_fraction`` of the corpus trains
the target. ``official`` (paper IV.B.4, EmoInt only): EmoInt's train split
trains the target. The rest is halved, stratified: held-out records nobody
used, and the attacker's side, of which the attacker holds a stratified
``attacker_fraction`` (its auxiliary population; 1 = all of it). The held-out
half does not depend on ``attacker_fraction``, so a sweep over attacker
knowledge (``experiment=attacker_knowledge``) scores every level on the same
non-members. The
evaluation set is balanced: ``eval.size`` members and as many non-members,
drawn from the held-out records (honest default) or the attacker's own
records (``eval.nonmembers=attacker``, the paper's reading). ``eval.size=auto``
takes as many as both sides allow, at most ``AUTO_SIZE_MAX``; a number is strict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socinf.data.corpus import Corpus
from socinf.data.dataset_config import AUTO_SIZE, AUTO_SIZE_MAX, NONMEMBER_POOLS, SPLIT_RULES
from socinf.errors import ConfigError


@dataclass
class Splits:
    members: np.ndarray  # corpus indices the target trains on
    heldout: np.ndarray  # neither the target nor the attacker ever sees these
    attacker: np.ndarray  # the attacker's auxiliary population (attacker_fraction of the attacker's side)
    eval_members: np.ndarray
    eval_nonmembers: np.ndarray

    def as_dict(self) -> dict:
        return {k: len(v) for k, v in self.__dict__.items()}


def stratified_cut(idx: np.ndarray, labels: np.ndarray, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    first, second = [np.zeros(0, dtype=idx.dtype)], [np.zeros(0, dtype=idx.dtype)]  # an empty idx cuts in two empties
    for cls in np.unique(labels[idx]):
        members = idx[labels[idx] == cls]
        members = members[rng.permutation(len(members))]
        cut = int(round(fraction * len(members)))
        first.append(members[:cut])
        second.append(members[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


HELDOUT_SHARE = 0.5  # of the non-member records: the held-out half (evaluation non-members)


def _check_sides(labels: np.ndarray, members: np.ndarray, rest: np.ndarray, split: str, fraction: float) -> None:
    """The target must see every class, and some records must stay out of its training set (range-checked
    here, with the corpus's own counts, before anything is trained)."""
    setting = f"dataset.member_fraction={fraction:g}" if split == "random" else f"dataset.split={split}"
    if len(rest) == 0:
        raise ConfigError(f"{setting}: every one of the {len(members)} records trains the target, none is left "
                          "to be a non-member; expected a fraction that leaves records out")
    missing = np.setdiff1d(np.unique(labels), labels[members])
    if len(missing):
        c = int(missing[0])
        raise ConfigError(f"{setting}: class {c} ({int((labels == c).sum())} records) gets no member, so the target "
                          "would never see it; expected a fraction that gives every class members")


def make_splits(corpus: Corpus, split: str, member_fraction: float, attacker_fraction: float,
                eval_size: int | str, nonmembers: str, seed: int) -> Splits:
    rng = np.random.default_rng(seed)
    everything = np.arange(len(corpus))
    labels = corpus.labels
    if split == "official":
        if corpus.official is None:
            raise ConfigError(f"dataset.split=official: {corpus.name} has no official split; use dataset.split=random")
        members = everything[corpus.official == "train"]
        rest = everything[corpus.official != "train"]
    elif split == "random":
        members, rest = stratified_cut(everything, labels, member_fraction, rng)
    else:
        raise ConfigError(f"dataset.split={split!r}: expected one of {', '.join(SPLIT_RULES)}")
    _check_sides(labels, members, rest, split, member_fraction)
    heldout, attacker_side = stratified_cut(rest, labels, HELDOUT_SHARE, rng)
    # its own stream: the held-out and evaluation draws stay the same at every attacker_fraction
    attacker, _ = stratified_cut(attacker_side, labels, attacker_fraction, np.random.default_rng([seed, 7]))
    pool = {"heldout": heldout, "attacker": attacker}.get(nonmembers)
    if pool is None:
        raise ConfigError(f"eval.nonmembers={nonmembers!r}: expected one of {', '.join(NONMEMBER_POOLS)}")
    limit = min(len(members), len(pool))
    if eval_size == AUTO_SIZE:
        eval_size = min(limit, AUTO_SIZE_MAX)
        if eval_size < 1:
            raise ConfigError(f"eval.size=auto: nothing to evaluate on ({len(members)} members, {len(pool)} "
                              f"{nonmembers} non-members)")
    elif eval_size > limit:
        raise ConfigError(
            f"eval.size={eval_size}: at most {limit} here ({len(members)} members, {len(pool)} {nonmembers} non-members;"
            " eval.size=auto takes the most the data allows)"
        )
    return Splits(
        members=members, heldout=heldout, attacker=attacker,
        eval_members=np.sort(rng.choice(members, eval_size, replace=False)),
        eval_nonmembers=np.sort(rng.choice(pool, eval_size, replace=False)),
    )
