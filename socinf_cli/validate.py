"""Range and consistency checks on a composed config, before any work starts.

Types and key names are checked by the structured configs (``config.py``);
this module checks what types can't: ranges, choices and combinations. Every
failure is one ``ConfigError`` line naming the key, the value and what is allowed.
"""
from __future__ import annotations

from socinf.errors import ConfigError

CHOICES = {
    "dataset.name": ("tweet", "weibo", "clue", "csv"),
    "dataset.split": ("random", "official"),
    "dataset.keyword_method": ("chi2", "logodds"),
    "dataset.domain": ("all", "usual", "virus"),
    "target.name": ("logistic", "xgboost", "mlp", "remote"),
    "synthesis.name": ("statistics", "format", "population"),
    "synthesis.accept": ("new", "confidence"),
    "attack.name": ("xgboost", "svm", "knn", "nn"),
    "attack.features": ("sorted", "raw"),
    "eval.nonmembers": ("heldout", "attacker"),
    "serve.model": ("mlp", "logistic", "xgboost"),
}

POSITIVE = ("eval.size", "synthesis.n_records", "synthesis.n_flip", "synthesis.max_proposals", "synthesis.k_max",
            "synthesis.k_min", "synthesis.max_steps", "mimic.depth",
            "mimic.width", "mimic.d_depth", "mimic.d_width", "mimic.epochs", "mimic.batch_size", "threads",
            "target.batch_size", "serve.max_batch", "dataset.min_df", "dataset.ngram_min", "method.n_models")
NON_NEGATIVE = ("synthesis.burn_in", "synthesis.noise_flips", "synthesis.rej_max", "synthesis.conf_min",
                "mimic.fidelity_weight", "seed")
FRACTIONS = ("dataset.member_fraction", "mimic.holdout_fraction",
             "synthesis.start_density")


def _get(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def validate(cfg) -> None:
    for key, allowed in CHOICES.items():
        if _get(cfg, key) not in allowed:
            raise ConfigError(f"{key}={_get(cfg, key)!r}: expected one of {', '.join(allowed)}")
    for key in POSITIVE:
        if _get(cfg, key) < 1:
            raise ConfigError(f"{key}={_get(cfg, key)}: must be a positive integer")
    for key in NON_NEGATIVE:
        if _get(cfg, key) < 0:
            raise ConfigError(f"{key}={_get(cfg, key)}: must be >= 0")
    for key in FRACTIONS:
        if not 0 < _get(cfg, key) < 1:
            raise ConfigError(f"{key}={_get(cfg, key)}: must lie strictly between 0 and 1")
    for key in ("dataset.n_keywords", "dataset.per_class", "target.max_queries"):
        value = _get(cfg, key)
        if value is not None and value < 1:
            raise ConfigError(f"{key}={value}: must be a positive integer or null")
    if not 0 < cfg.dataset.attacker_fraction <= 1:
        raise ConfigError(f"dataset.attacker_fraction={cfg.dataset.attacker_fraction}: must lie in (0, 1]")
    if cfg.synthesis.k_min > cfg.synthesis.k_max:
        raise ConfigError(f"synthesis.k_min={cfg.synthesis.k_min}: must be <= synthesis.k_max={cfg.synthesis.k_max}")
    if cfg.synthesis.conf_min >= 1:
        raise ConfigError(f"synthesis.conf_min={cfg.synthesis.conf_min}: must lie in [0, 1)")
    ds = cfg.dataset
    if ds.ngram_max < ds.ngram_min:
        raise ConfigError(f"dataset.ngram_max={ds.ngram_max}: must be >= dataset.ngram_min={ds.ngram_min}")
    if ds.name == "csv":
        if not ds.path:
            raise ConfigError("dataset.path=null: dataset=csv needs dataset.path=/path/to/table.csv")
    else:
        from socinf.data.loaders import check_num_classes

        check_num_classes(ds.name, ds.num_classes)
    from socinf.owner.defenses import check_defense

    check_defense(cfg.defense, cfg.target.model if cfg.target.name == "remote" else cfg.target.name)
    if ds.split == "official" and ds.name != "tweet":
        raise ConfigError(f"dataset.split=official: only tweet (EmoInt) has an official split, not {ds.name}")
