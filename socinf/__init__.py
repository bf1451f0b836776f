"""socinf: black-box membership-inference audits (SocInf, IEEE TCSS 2019, and the attacks that followed it).

    import socinf
    result = socinf.audit(model, members=(X_in, y_in), nonmembers=(X_out, y_out), population=(X_pop, y_pop))
    result.strongest, result.to_frame(), print(result.summary()), result.plot_roc()

The attacks (``socinf.attacks``), the black-box interface (``socinf.targets``), data loading and features
(``socinf.data``), metrics (``socinf.evaluation``) and report writers (``socinf.report``) are importable on
their own; the ``socinf`` command (package ``socinf_cli``) is a Hydra layer on top of them.
"""

import os as _os

__version__ = "0.2.0"

# OpenMP threads (XGBoost's, scikit-learn's) spin while they wait at a barrier. Where the cores are busy (a
# sweep's other jobs, a shared node, a parallel test run) a spinning thread keeps a descheduled one from
# finishing: an XGBoost target of 200 trees, threads=2 beside other work, took 131 s instead of 1.4 s
# (measured, issue 23's owner cell). libgomp reads this once, when it is loaded, so it is set before any
# socinf module loads XGBoost; a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_LAZY = {"audit": "socinf.api", "AuditResult": "socinf.api", "RemoteTarget": "socinf.targets.remote_client"}
_SUBPACKAGES = ("attacks", "data", "evaluation", "report", "targets")
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    # lazy, so `import socinf` (and the CLI's start-up) does not pay for torch, xgboost or scikit-learn
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:  # socinf.data.load_keywords(...) without a separate import
        return importlib.import_module(f"socinf.{name}")
    raise AttributeError(f"module 'socinf' has no attribute {name!r}")
