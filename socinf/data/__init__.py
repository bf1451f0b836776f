"""Corpora: pinned files, download/verify, loading, keyword features, splits; ``load_keywords`` for examples."""
_LAZY = {"load_keywords": "socinf.data.datasets"}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'socinf.data' has no attribute {name!r}")
