"""Range and consistency checks on a composed config, before any work starts.

Types and key names are checked by the structured configs (``config.py``);
this module checks what types can't: ranges, choices and combinations. Every
failure is one ``ConfigError`` line naming the key, the value and what is allowed.
"""
from __future__ import annotations

from socinf.attacks.attack_model import ATTACK_MODELS, FEATURE_MODES
from socinf.attacks.references import REFERENCE_DATA, REFERENCE_MODELS
from socinf.attacks.synthesis import ACCEPT_RULES, SYNTHESES
from socinf.data.features import KEYWORD_METHODS
from socinf.data.loaders import CORPORA, WEIBO_DOMAINS
from socinf.data.splits import NONMEMBER_POOLS, SPLIT_RULES
from socinf.errors import ConfigError
from socinf.owner.models import LOCAL_MODELS
from socinf.targets.base import PROTOCOLS
from socinf_cli.methods import METHODS, build_method

# Every choice list lives beside the code that implements it; this table only names the config keys.
CHOICES = {
    "dataset.name": CORPORA,
    "dataset.split": SPLIT_RULES,
    "dataset.keyword_method": KEYWORD_METHODS,
    "dataset.domain": WEIBO_DOMAINS,
    "target.name": LOCAL_MODELS + ("remote",),
    "synthesis.name": SYNTHESES,
    "synthesis.accept": ACCEPT_RULES,
    "attack.name": ATTACK_MODELS,
    "attack.features": FEATURE_MODES,
    "method.name": METHODS,
    "eval.nonmembers": NONMEMBER_POOLS,
    "serve.model": LOCAL_MODELS,
    "method.reference_model": REFERENCE_MODELS,
    "method.reference_data": REFERENCE_DATA,
    "target.protocol": PROTOCOLS,
}

POSITIVE = ("eval.size", "synthesis.n_records", "synthesis.n_flip", "synthesis.max_proposals", "synthesis.k_max",
            "synthesis.k_min", "synthesis.max_steps", "mimic.depth",
            "mimic.width", "mimic.d_depth", "mimic.d_width", "mimic.epochs", "mimic.batch_size", "threads",
            "target.batch_size", "serve.max_batch", "dataset.min_df", "dataset.ngram_min", "method.n_models")
NON_NEGATIVE = ("synthesis.burn_in", "synthesis.noise_flips", "synthesis.rej_max", "synthesis.conf_min",
                "mimic.fidelity_weight", "seed")
FRACTIONS = ("dataset.member_fraction", "mimic.holdout_fraction",
             "synthesis.start_density")
INF = float("inf")
# key: (low, high, low allowed?) -- what is sane, so a typo (mimic.width=50000, mimic.lr_g=-1) fails at once
RANGES = {
    "mimic.lr_g": (0, 10, False), "mimic.lr_d": (0, 10, False), "mimic.width": (1, 4096, True),
    "mimic.depth": (1, 64, True), "mimic.d_width": (1, 4096, True), "mimic.d_depth": (1, 64, True),
    "mimic.epochs": (1, 100_000, True), "mimic.batch_size": (1, 1_000_000, True),
    "mimic.fidelity_weight": (0, 1e6, True),
    "synthesis.n_records": (1, 10_000_000, True), "synthesis.burn_in": (0, 1_000_000, True),
    "synthesis.noise_flips": (0, 100_000, True), "synthesis.n_flip": (1, 100_000, True),
    "synthesis.max_proposals": (1, 10**9, True), "method.n_models": (1, 1000, True), "threads": (1, 1024, True),
    "eval.size": (1, 10**8, True), "dataset.min_df": (1, 10**6, True), "dataset.ngram_min": (1, 20, True),
    "dataset.ngram_max": (1, 20, True), "seed": (0, 2**32 - 1, True),
    "target.batch_size": (1, 1_000_000, True), "target.timeout_s": (0, 86_400, False),
    "target.start_timeout_s": (0, 86_400, False), "target.max_retries": (0, 100, True),
    "target.backoff_s": (0, 3600, True), "serve.max_batch": (1, 1_000_000, True),
    "serve.max_body_bytes": (1, 2**31, True), "serve.port": (0, 65535, True),
    "serve.max_connections": (1, 100_000, True), "serve.header_timeout_s": (0, 3600, False),
}
OPTIONAL_RANGES = {  # null allowed
    "dataset.n_keywords": (1, 1_000_000, True), "dataset.per_class": (1, 10**8, True),
    "dataset.num_classes": (2, 1000, True), "target.max_queries": (1, 10**12, True),
    "target.deadline_s": (0, 86_400, False), "serve.rate_limit": (0, 1e6, False),
    "defense.epsilon": (0, 1e6, False), "defense.data_norm": (0, 1e12, False),
    "defense.max_grad_norm": (0, 1e12, False), "defense.delta": (0, 1, False), "defense.digits": (1, 15, True),
    "defense.k": (1, 1000, True),
}


def _in_range(key: str, value, low, high, closed: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            (low <= value if closed else low < value) and value <= high):
        left = "[" if closed else "("
        raise ConfigError(f"{key}={value}: expected a number in {left}{low:g}, {high:g}]")


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
    for key, (low, high, closed) in RANGES.items():
        _in_range(key, _get(cfg, key), low, high, closed)
    for key, (low, high, closed) in OPTIONAL_RANGES.items():
        if _get(cfg, key) is not None:
            _in_range(key, _get(cfg, key), low, high, closed)
    for i, n in enumerate(cfg.dataset.keywords_per_class or []):
        _in_range(f"dataset.keywords_per_class[{i}]", n, 1, 1_000_000, True)
    if not 0 < cfg.dataset.attacker_fraction <= 1:
        raise ConfigError(f"dataset.attacker_fraction={cfg.dataset.attacker_fraction}: must lie in (0, 1]")
    if cfg.synthesis.k_min > cfg.synthesis.k_max:
        raise ConfigError(f"synthesis.k_min={cfg.synthesis.k_min}: must be <= synthesis.k_max={cfg.synthesis.k_max}")
    if cfg.synthesis.conf_min >= 1:
        raise ConfigError(f"synthesis.conf_min={cfg.synthesis.conf_min}: must lie in [0, 1)")
    _validate_references(cfg)
    ds = cfg.dataset
    if ds.ngram_max < ds.ngram_min:
        raise ConfigError(f"dataset.ngram_max={ds.ngram_max}: must be >= dataset.ngram_min={ds.ngram_min}")
    if ds.name in ("csv", "text"):
        if not ds.path:
            example = "table.csv" if ds.name == "csv" else "texts.csv (or .tsv, .jsonl)"
            raise ConfigError(f"dataset.path=null: dataset={ds.name} needs dataset.path=/path/to/{example}")
        if ds.name == "text":
            from socinf.data.loaders import LANGUAGES

            if ds.language not in LANGUAGES:
                raise ConfigError(f"dataset.language={ds.language!r}: expected one of {', '.join(LANGUAGES)}")
    else:
        from socinf.data.loaders import check_num_classes

        check_num_classes(ds.name, ds.num_classes)
    from socinf.owner.defenses import check_defense

    check_defense(cfg.defense, cfg.target.model if cfg.target.name == "remote" else cfg.target.name)
    t = cfg.target
    if t.name == "remote" and t.protocol == "v2":
        for key in ("url", "model_name", "server_dir"):
            if not t[key]:
                raise ConfigError(f"target.{key}=null: target.protocol=v2 needs target.url, target.model_name and "
                                  "target.server_dir (the dir `socinf export` wrote: the membership truth)")
    if ds.split == "official" and ds.name != "tweet":
        raise ConfigError(f"dataset.split=official: only tweet (EmoInt) has an official split, not {ds.name}")
    from socinf_cli.check_params import check_estimator_params

    check_estimator_params(cfg)  # hyper-parameters: estimators built and validated before any work


def _validate_references(cfg) -> None:
    """LiRA / RMIA: their own ranges (the library's check), and combinations that cannot give an honest result."""
    m = cfg.method
    if m.name not in ("lira", "rmia"):
        return
    build_method(cfg).check_params()
    if m.name == "lira" and m.online and cfg.eval.nonmembers == "attacker":
        raise ConfigError("method.online=true: online LiRA trains references on half the candidates, which "
                          "eval.nonmembers=attacker takes from the attacker's own data; use eval.nonmembers=heldout")
    if m.reference_data == "synthetic" and cfg.synthesis.name == "population":
        raise ConfigError("method.reference_data=synthetic: needs synthesis=statistics or format to synthesize "
                          "records from, not synthesis=population (use method.reference_data=population)")
