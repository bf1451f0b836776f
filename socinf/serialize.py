"""Serialisation that cannot run code: a value becomes a JSON tree plus numpy arrays (``.npz``).

What the stage cache stores (``socinf.cache``) is encoded here instead of being
pickled, so a file planted in the cache directory can at worst be refused:

- JSON scalars, lists, tuples, dicts (any JSON-able keys) and numpy scalars go
  into the tree; numeric numpy arrays go into the ``.npz`` (read with
  ``allow_pickle=False``: object arrays are refused by numpy itself);
- objects are allowed only if their class is in the caller's explicit
  allow-list (``"module:Class"`` names written in socinf's own code, never
  taken from the file). Such an object is rebuilt with ``cls.__new__`` and its
  decoded ``__dict__`` (what pickle would do, minus ``__reduce__``), or with
  ``cls.from_state(state)`` when the class defines ``to_state`` (torch modules:
  their weights are plain arrays here, so ``torch.load`` is never called);
- an XGBoost ``Booster`` is stored as its UBJSON model bytes (``save_raw``) and
  loaded with ``load_model(bytearray)``;
- a ``scipy.sparse`` matrix (any format) is stored as CSR: its ``data``, ``indices`` and ``indptr`` arrays
  and its shape, and rebuilt as a ``csr_matrix`` after checking that they describe one.

Anything else raises ``SerializeError`` when saving (the stage is then simply
not cached) or when loading (the entry is recomputed).
"""
from __future__ import annotations

import importlib
import io
from typing import Any, Iterable

import numpy as np

SKIP_ATTRS = frozenset({"_optimizer", "_random_state"})  # sklearn MLP training-only state; predictions never use it


class SerializeError(ValueError):
    pass


def _name(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve(name: str, allowed: frozenset[str]):
    if name not in allowed:
        raise SerializeError(f"class {name!r} is not allowed here")
    module, _, qualname = name.partition(":")
    obj = importlib.import_module(module)  # only names from socinf's own allow-lists reach this line
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _Encoder:
    def __init__(self, allowed: frozenset[str]):
        self.allowed, self.arrays = allowed, {}

    def array(self, arr: np.ndarray) -> dict:
        if arr.dtype.hasobject:
            raise SerializeError("object arrays cannot be stored")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        return {"$array": name}

    def sparse(self, matrix) -> dict:
        from scipy import sparse

        if not sparse.issparse(matrix):
            raise SerializeError(f"cannot store a {type(matrix).__name__} here")
        csr = sparse.csr_matrix(matrix)
        return {"$csr": {"data": self.array(csr.data), "indices": self.array(csr.indices),
                         "indptr": self.array(csr.indptr), "shape": [int(n) for n in csr.shape]}}

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, np.ndarray):
            return self.array(obj)
        if isinstance(obj, np.generic):
            return {"$scalar": obj.dtype.str, "v": obj.item()}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, tuple):
            return {"$tuple": [self(v) for v in obj]}
        if isinstance(obj, dict):
            return {"$dict": [[self(k), self(v)] for k, v in obj.items()]}
        cls = type(obj)
        if cls.__module__.startswith("scipy.sparse"):  # no scipy import for values that hold no sparse matrix
            return self.sparse(obj)
        if cls.__name__ == "Booster" and cls.__module__.startswith("xgboost"):
            return {"$xgboost": self.array(np.frombuffer(bytes(obj.save_raw("ubj")), dtype=np.uint8))}
        name = _name(cls)
        if name not in self.allowed:
            raise SerializeError(f"cannot store a {name} here (not in the allow-list)")
        if hasattr(obj, "to_state"):
            return {"$object": name, "state": self(obj.to_state())}
        state = {k: v for k, v in vars(obj).items() if k not in SKIP_ATTRS}
        return {"$object": name, "dict": self(state)}


class _Decoder:
    def __init__(self, allowed: frozenset[str], arrays):
        self.allowed, self.arrays = allowed, arrays

    def sparse(self, node: dict):
        """A CSR matrix from its arrays, refused unless they describe one (scipy checks the index arrays)."""
        from scipy import sparse

        try:
            shape = tuple(int(n) for n in node["shape"])
            data, indices, indptr = (self.array(node[k]) for k in ("data", "indices", "indptr"))
            if len(shape) != 2 or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
                raise ValueError("not a 2-D matrix with integer indices")
            matrix = sparse.csr_matrix((data, indices, indptr), shape=shape)
            matrix.check_format(full_check=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializeError(f"not a sparse matrix ({exc})") from None
        return matrix

    def array(self, ref: dict) -> np.ndarray:
        name = ref.get("$array") if isinstance(ref, dict) else None
        if name not in self.arrays:
            raise SerializeError(f"array {name!r} missing")
        return self.arrays[name]

    def __call__(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise SerializeError(f"unexpected node {str(node)[:60]!r}")
        if "$array" in node:
            return self.array(node)
        if "$scalar" in node:
            dtype = np.dtype(str(node["$scalar"]))
            if dtype.kind not in "biufc":
                raise SerializeError(f"scalar of dtype {dtype} not allowed")
            return dtype.type(node["v"])
        if "$tuple" in node:
            return tuple(self(v) for v in node["$tuple"])
        if "$dict" in node:
            return {_hashable(self(k)): self(v) for k, v in node["$dict"]}
        if "$csr" in node:
            return self.sparse(node["$csr"])
        if "$xgboost" in node:
            from xgboost import Booster

            booster = Booster()
            booster.load_model(bytearray(self.array(node["$xgboost"]).tobytes()))
            return booster
        if "$object" in node:
            cls = _resolve(node["$object"], self.allowed)
            if "state" in node:
                return cls.from_state(self(node["state"]))
            obj = cls.__new__(cls)
            state = self(node["dict"])
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise SerializeError("object state must map names to values")
            obj.__dict__.update(state)
            return obj
        raise SerializeError(f"unknown node kind {sorted(node)[:3]}")


def _hashable(key):
    if isinstance(key, (list, dict, np.ndarray)):
        raise SerializeError("unhashable dict key")
    return key


def encode(value: Any, allowed: Iterable[str]) -> tuple[Any, bytes]:
    """(JSON tree, ``.npz`` bytes) of ``value``; classes must be named in ``allowed``."""
    enc = _Encoder(frozenset(allowed))
    tree = enc(value)
    buf = io.BytesIO()
    np.savez(buf, **enc.arrays)
    return tree, buf.getvalue()


def decode(tree: Any, npz: bytes, allowed: Iterable[str]) -> Any:
    """The value ``encode`` stored; raises ``SerializeError`` (or numpy's ``ValueError``) on anything else."""
    with np.load(io.BytesIO(npz), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return _Decoder(frozenset(allowed), arrays)(tree)
