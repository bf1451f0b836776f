"""``socinf.audit``: audit your own model on your own records, from Python.

The model is a black box: anything with ``predict_proba`` (a scikit-learn or XGBoost estimator, a
``socinf.RemoteTarget``) or a plain function from records to class probabilities. The caller says which
records trained it (``members``), which did not (``nonmembers``), and what the attacker may hold
(``population``, disjoint from both). ``threat="owner"`` (the default: whoever calls this holds the members
and the non-members) bounds the worst case: reference and shadow models train at the size of the training set
on all of those records, each evaluation record in half of them (Carlini et al. 2022; docs/threat-models.md).
``threat="attacker"`` is the paper's outsider, who holds only the population. Without a population the
data-free attack runs (SocInf with format synthesis), and under ``threat="owner"`` the thresholds and Shadow
training too.

Everything is checked before the first query, in one line per fault: the pairs and their widths, the labels
against the model's classes, the seed, each group of settings (``socinf.settings``), what each method needs
(``socinf.methods``), and every answer the model gives (``socinf.targets.base.check_answers``).
"""
from __future__ import annotations

import warnings

import numpy as np

from socinf.attacks.attack_model import AttackModelConfig
from socinf.attacks.base import THREATS, AttackContext, AttackerKnowledge
from socinf.attacks.reference_jobs import ReferenceJobs
from socinf.attacks.shadow import ShadowConfig
from socinf.cache import StageCache
from socinf.engine import run_attacks
from socinf.errors import ConfigError
from socinf.methods import DEFAULT_METHODS, METHODS, MethodSettings, build, check_methods, check_settings, needs_population
from socinf.result import AuditResult, utility_from_answers
from socinf.settings import SEED, THREADS, Interval, Options, check_value, settings_from
from socinf.sparse import as_csr, first_entry, is_sparse, like, stack, structure_problem
from socinf.targets.base import CountingTarget


class _FunctionModel:
    def __init__(self, fn):
        self.fn = fn

    def predict_proba(self, X):
        return self.fn(X)


REAL_KINDS = "biuf"  # the dtypes a record's values may have: booleans, integers, floats


def _sparse_records(X, name: str):
    """A scipy.sparse ``X`` as CSR, after checking its index arrays and its dtype (one line each)."""
    problem = structure_problem(X)
    if problem:
        raise ConfigError(f"{name}: X is a malformed {X.format.upper()} matrix ({problem}); expected valid "
                          "scipy.sparse index arrays")
    if X.dtype.kind not in REAL_KINDS:
        raise ConfigError(f"{name}: X is a sparse matrix of dtype {X.dtype}; expected real numbers (bool, int or "
                          "float)")
    return as_csr(X, None if X.dtype.kind == "f" else np.float64)


def _records(X, name: str):
    """``X`` as a numeric matrix: CSR for scipy.sparse input and pandas frames of sparse columns (their
    non-zeros kept as they are), else a dense array; one line if it holds something else."""
    if type(X).__module__.startswith("pandas") and hasattr(X, "dtypes") and len(X.dtypes) and \
            all(str(t).startswith("Sparse") for t in X.dtypes):
        try:
            X = X.sparse.to_coo()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: a pandas frame of sparse columns that scipy cannot read ({exc}); expected "
                              "numeric sparse columns") from None
    if is_sparse(X):
        return _sparse_records(X, name)
    try:
        X = np.asarray(X)
        if X.dtype.kind == "c":
            raise TypeError("complex")
        return np.asarray(X, dtype=np.float64) if X.dtype.kind != "f" else X
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: X holds values that are not real numbers; expected a numeric matrix (n, d)") from None


def _as_pair(value, name: str) -> tuple:
    try:
        X, y = value
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a pair (X, y) of records and labels") from None
    X, y = _records(X, name), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != len(y) or not X.shape[0]:
        raise ConfigError(f"{name}: expected X of shape (n, d) with n >= 1 and as many labels in a 1-D y; got X "
                          f"{list(X.shape)}, y {list(y.shape)}")
    bad = first_entry(X, lambda v: ~np.isfinite(v))
    if bad is not None:
        raise ConfigError(f"{name}: X holds NaN or infinity (row {bad[0]}); expected finite numbers")
    return X, y


def _read_sets(members, nonmembers, population) -> tuple:
    """(X_in, y_in, X_out, y_out, population or None): each set checked (``_as_pair``), all of one width, and
    held in the members' format (sparse members: CSR throughout)."""
    X_in, y_in = _as_pair(members, "members")
    others = {"nonmembers": _as_pair(nonmembers, "nonmembers")}
    if population is not None:
        others["population"] = _as_pair(population, "population")
    for name, (X, _) in others.items():
        if X.shape[1] != X_in.shape[1]:
            raise ConfigError(f"{name}: {X.shape[1]} features per record, but members have {X_in.shape[1]}; expected "
                              "the same input format for every set")
    (X_out, y_out), pop = others["nonmembers"], others.get("population")
    return X_in, y_in, like(X_out, X_in), y_out, (like(pop[0], X_in), pop[1]) if pop else None


def _warn_xgboost_format(model, X) -> None:
    """XGBoost reads an absent sparse entry as missing and a dense 0 as a value (unless ``missing=0``): a model
    trained on dense arrays answers the same records differently as CSR."""
    missing = getattr(model, "missing", None)
    if is_sparse(X) and hasattr(model, "get_booster") and missing is not None and float(missing) != 0:
        warnings.warn("socinf.audit: sparse records for an XGBoost model with missing=nan: XGBoost reads an absent "
                      "entry as missing, a dense 0 as a value; if the model was trained on dense arrays, pass dense "
                      "arrays (docs/sparse.md)", stacklevel=3)


def _model_name(model) -> str:
    """How answer errors name the model: its class or function name ("model" for a lambda or a local function)."""
    name = getattr(model, "__qualname__", None) or type(model).__name__
    return "model" if "<" in name else name.removesuffix(".predict_proba")


def _label_index(model, labels: list[np.ndarray], n_classes: int | None) -> tuple[dict, int]:
    """Labels -> predict_proba column: through ``model.classes_`` when the model has it, else labels 0..K-1."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        seen = np.unique(np.concatenate(labels))
        if not np.issubdtype(seen.dtype, np.integer) or seen.min() < 0:
            raise ConfigError(f"labels {seen[:5].tolist()}: without model.classes_, labels must be class indices 0..K-1")
        k = int(seen.max()) + 1 if n_classes is None else n_classes
        check_value("n_classes", k, [Interval(int, max(2, int(seen.max()) + 1), 100_000)])
        return {int(c): int(c) for c in range(k)}, k
    index = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(classes)}
    unknown = {v.item() if hasattr(v, "item") else v for part in labels for v in np.unique(part)} - set(index)
    if unknown:
        raise ConfigError(f"labels {sorted(map(str, unknown))[:5]}: not among the model's classes_ {list(index)}")
    return index, len(classes)


def _algorithm(model, algorithm):
    """The attacker's guess of the training algorithm: ``algorithm``, else the model's own (an unfitted copy),
    as Shadow training assumes."""
    if algorithm is not None:
        return algorithm
    from sklearn.base import BaseEstimator

    return model if isinstance(model, BaseEstimator) else None


def _black_box(model):
    """``model`` as a black box with predict_proba: a function is wrapped, a RemoteTarget connects first."""
    black_box = model if hasattr(model, "predict_proba") else _FunctionModel(model) if callable(model) else None
    if black_box is None:
        raise ConfigError(f"model={type(model).__name__}: expected an object with predict_proba or a function")
    if hasattr(black_box, "connect") and not getattr(black_box, "schema", None):
        black_box.connect()  # a RemoteTarget: its schema (classes, input width) first
    return black_box


def _knowledge(pop: tuple, n_classes: int, d: int, n_members: int, threat: str) -> AttackerKnowledge:
    """The population (possibly empty, in the members' format); under threat="owner" it is also the owner's
    records beyond the evaluated ones."""
    X_pop, y_pop = pop
    owner = {"X_owner": X_pop, "y_owner": y_pop} if threat == "owner" else {}
    return AttackerKnowledge(X_pop, y_pop, n_classes, d, target_size=n_members, threat=threat, **owner)


def _check_needs(methods: list[str], settings: MethodSettings, pop, n_classes: int) -> None:
    """Each method's knowledge: a population where it needs one, with enough records of every class."""
    for name in methods:
        if not needs_population(name, settings, pop is not None):
            continue
        if pop is None:
            raise ConfigError(f"methods={methods}: {name} needs population=(X_pop, y_pop); without one, "
                              "methods=['socinf'] runs data-free (format synthesis)")
        counts = np.bincount(pop[1], minlength=n_classes)
        need = METHODS[name].min_per_class
        if counts.min() < need:
            c = int(counts.argmin())
            raise ConfigError(f"population: {counts[c]} record(s) of class {c}; {name} needs at least {need} of "
                              "every class")


def audit(model, members, nonmembers, population=None, methods=None, seed: int = 0, *, algorithm=None,
          n_classes: int | None = None, n_shadow: int = ShadowConfig.n_models, synthesis=None, mimic=None,
          attack_model: str = AttackModelConfig.name, lira=None, rmia=None, threads: int = 1,
          cache_dir=None, verdict=None, threat: str = "owner", reference_jobs=None) -> AuditResult:
    """Membership-inference audit of ``model`` through its answers only.

    members, nonmembers: ``(X, y)`` records known to be in / out of the training set (scored, never shown to
    an attack); X dense, ``scipy.sparse`` (CSR, CSC, ...) or a pandas frame of sparse columns: sparse records
    stay sparse throughout (memory with the non-zeros, docs/sparse.md), and every set is held in the members'
    format. population: ``(X, y)`` the attacker holds (disjoint from both), or None. methods: any of
    ``"thresholds"`` (confidence, entropy, modified entropy, loss, gap; cut-offs from a shadow model on the
    population, or the owner's references), ``"shadow"`` (Shokri et al.), ``"socinf"`` (the paper's four
    stages), ``"lira"`` (Carlini et al. 2022) and ``"rmia"`` (Zarifzadeh et al. 2024); default thresholds, shadow
    and socinf (socinf alone without a population, unless threat="owner" with a known algorithm). algorithm:
    the estimator shadows and references copy (default: ``model`` itself, unfitted). n_classes: the model's class count when it has no ``classes_`` (default: the largest label + 1).
    synthesis / mimic / lira / rmia / verdict: ``SynthesisConfig`` / ``MimicConfig`` / ``LiRAConfig`` /
    ``RMIAConfig`` / ``VerdictConfig`` (alpha, delta) or mappings of their fields. threat: ``"owner"`` (default;
    reference and shadow models on all of members, nonmembers and population, 64 references) or ``"attacker"``
    (the population only, 16 references). threads: models trained side by side. reference_jobs: a
    ``ReferenceJobs`` or mapping (``launcher="slurm"`` trains reference models as SLURM jobs; needs
    ``cache_dir``). Returns an ``AuditResult``: ``result.verdict``, ``print(result.summary())``,
    ``result.save(dir)``, ``result.to_html(path)``.
    """
    methods = check_methods(methods) if methods is not None else None
    X_in, y_in, X_out, y_out, pop = _read_sets(members, nonmembers, population)
    check_value("seed", seed, [SEED])
    check_value("threads", threads, [THREADS])
    check_value("threat", threat, [Options(THREATS)])
    jobs = settings_from(reference_jobs, ReferenceJobs, "reference_jobs") if reference_jobs is not None else None
    algorithm = _algorithm(model, algorithm)
    owner_models = threat == "owner" and algorithm is not None  # the owner's own models need no population
    methods = methods or list(DEFAULT_METHODS if pop is not None or owner_models else ("socinf",))
    black_box = _black_box(model)
    index, K = _label_index(model, [y_in, y_out] + ([pop[1]] if pop else []), n_classes)
    to_index = np.vectorize(lambda v: index[v.item() if hasattr(v, "item") else v], otypes=[int])
    pop = (pop[0], to_index(pop[1])) if pop else None
    settings = check_settings(MethodSettings(algorithm=algorithm, synthesis=synthesis,
                                             mimic=mimic, attack=AttackModelConfig(name=attack_model),
                                             shadow=ShadowConfig(n_shadow), lira=lira, rmia=rmia, threat=threat))
    _check_needs(methods, settings, pop, K)
    X_eval, y_eval = stack([X_in, X_out]), to_index(np.concatenate([y_in, y_out]))
    membership = np.r_[np.ones(len(y_in), int), np.zeros(len(y_out), int)]
    d = X_eval.shape[1]
    knowledge = _knowledge(pop or (like(np.zeros((0, d)), X_in), np.zeros(0, int)), K, d, len(y_in), threat)
    _warn_xgboost_format(model, X_in)
    target = CountingTarget(black_box, K, d, row_sums=getattr(black_box, "row_sums", (1.0, 1.0)), name=_model_name(model),
                            sparse=is_sparse(X_in))
    ctx = AttackContext(seed=seed, threads=threads, cache=StageCache(cache_dir), reference_jobs=jobs)
    attacks = [build(m, settings, pop is not None) for m in methods if m != "thresholds"]
    thresholds = build("thresholds", settings) if "thresholds" in methods else None
    run = run_attacks(attacks, target, knowledge, ctx, X_eval, y_eval, membership, thresholds=thresholds,
                      verdict=verdict)
    primary = attacks[0].name if attacks else None
    return AuditResult(run, membership, target.ledger.as_dict(), dict(ctx.timings), primary,
                       {a.name: a.attack_model for a in attacks if hasattr(a, "attack_model")},
                       target={"name": type(model).__name__, **utility_from_answers(run.probs, y_eval, membership)},
                       class_names=[str(c) for c in index], threat=threat)
