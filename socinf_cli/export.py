"""``socinf export DIR [overrides]``: the model `socinf serve` would serve, written for MLServer.

The target is trained exactly as ``socinf serve`` trains it (``serve.build_served_model``: same data, split,
model and seed), then written in the form MLServer's runtimes load: scikit-learn models (``serve.model=logistic``
or ``mlp``) as ``model.joblib`` for ``mlserver_sklearn.SKLearnModel``, XGBoost as ``model.json`` for
``mlserver_xgboost.XGBoostModel``, with a ``model-settings.json`` whose version is socinf's model id. The
membership split and accuracy report go beside it, so ``target.server_dir=DIR`` gives the evaluator the truth.
``mlserver start DIR`` then serves it over the Open Inference Protocol (``target.protocol=v2``).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from socinf.errors import ConfigError
from socinf.io import atomic_write_json, file_mode, storage_error
from socinf.serve.model import SPLIT_FILE
from socinf.sparse import is_sparse

RUNTIMES = {"logistic": ("mlserver_sklearn.SKLearnModel", "model.joblib"),
            "mlp": ("mlserver_sklearn.SKLearnModel", "model.joblib"),
            "xgboost": ("mlserver_xgboost.XGBoostModel", "model.json")}
SETTINGS_FILE = "model-settings.json"  # MLServer's: written by every export, and only by one
EXPORTABLE_DEFENSES = ("none", "regularize")  # output defenses and DP models have no MLServer runtime


def check_exportable(cfg) -> None:
    d = cfg.defense
    if d.name not in EXPORTABLE_DEFENSES or d.k is not None or d.digits is not None:
        raise ConfigError(f"defense={d.name} (k={d.k}, digits={d.digits}): MLServer's runtimes answer the model's own "
                          f"probabilities and cannot load a DP model; `socinf export` takes defense=none or regularize "
                          "(audit other defenses with `socinf serve` and target=remote)")
    if cfg.serve.model not in RUNTIMES:
        raise ConfigError(f"serve.model={cfg.serve.model!r}: expected one of {', '.join(RUNTIMES)}")


def write_model(model, name: str, out_dir: Path, records=None) -> Path:
    """The fitted model in the file MLServer's runtime for ``name`` loads, written atomically. An XGBoost model
    trained on sparse ``records`` is written to read dense tensors alike (``owner.xgboost_dense``)."""
    path = out_dir / RUNTIMES[name][1]
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")  # xgboost picks the format from the suffix
    if name == "xgboost" and records is not None and is_sparse(records):
        from socinf.owner.xgboost_dense import checked_dense_reading

        tmp.write_bytes(checked_dense_reading(model, records))
    elif name == "xgboost":
        model.save_model(str(tmp))
    else:
        import joblib

        joblib.dump(model, tmp)
    tmp.replace(path)
    return path


def model_settings(name: str, model_name: str, model_id: str, n_features: int, n_classes: int, output_type: str) -> dict:
    implementation, file = RUNTIMES[name]
    return {"name": model_name, "implementation": implementation, "versions": [model_id],
            "parameters": {"uri": f"./{file}", "version": model_id},
            "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, n_features]}],
            "outputs": [{"name": "predict_proba", "datatype": output_type, "shape": [-1, n_classes]}]}


def check_destination(out_dir: Path) -> None:
    """``out_dir`` is new, empty, or an earlier export (which a new one replaces): never a file, and never a
    `socinf serve` run dir or anything else whose files an export would overwrite."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"socinf export {out_dir}: is an existing file; expected a new or empty directory, "
                          "or one an earlier export wrote")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if (out_dir / ".hydra").is_dir() or not (out_dir / SETTINGS_FILE).is_file():
        kind = "the run dir of `socinf serve` or `socinf run`" if (out_dir / ".hydra").is_dir() else "other files"
        raise ConfigError(f"socinf export {out_dir}: holds {kind}, whose {SPLIT_FILE} and model files an export "
                          "would replace; expected a new or empty directory, or one an earlier export wrote")


def export(cfg, out_dir: Path, model_name: str) -> dict:
    from threadpoolctl import threadpool_limits

    from socinf_cli.paths import prepare, stage_cache
    from socinf_cli.serve import build_served_model
    from socinf_cli.validate import validate

    check_exportable(cfg)  # first: an export-specific refusal beats a generic one
    check_destination(out_dir)
    validate(cfg)
    threadpool_limits(cfg.threads)
    with staged_dir(out_dir) as staged:  # written aside, then moved in: never half an export
        served = build_served_model(cfg, staged)  # writes membership_split.json and target_report.json
        records = prepare(cfg, stage_cache(cfg))[0].X if served.sparse else None  # cached: prepared once already
        path = write_model(served.predictor, cfg.serve.model, staged, records)
        probe = np.asarray(served.predictor.predict_proba(np.zeros((1, served.n_features), dtype=np.float32)))
        settings = model_settings(cfg.serve.model, model_name, served.model_id, served.n_features,
                                  len(served.schema["classes"]), "FP32" if probe.dtype == np.float32 else "FP64")
        atomic_write_json(staged / SETTINGS_FILE, settings)
    return {"model": out_dir / path.name, "settings": settings}


@contextmanager
def staged_dir(out_dir: Path):
    """A fresh folder beside ``out_dir`` to write into; on success its files replace ``out_dir``'s (the settings
    file last, so MLServer never loads a half-replaced model), on failure it is removed."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".export", dir=out_dir.parent))
        os.chmod(staged, file_mode() | (file_mode() & 0o444) >> 2)  # as mkdir would make it (mkdtemp: 0700)
    except OSError as exc:
        raise storage_error(exc, out_dir) or exc from None
    try:
        yield staged
        if not out_dir.exists():
            os.rename(staged, out_dir)
            return
        for item in sorted(staged.iterdir(), key=lambda p: p.name == SETTINGS_FILE):
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


USAGE = """usage: socinf export DIR [overrides]

Train the model `socinf serve` would serve (same data, split, serve.model, defense and seed) and write it for
MLServer, which serves it over the Open Inference Protocol (KServe v2): DIR/model.joblib (serve.model=logistic
or mlp) or DIR/model.json (xgboost), DIR/model-settings.json (model name: DIR's name or target.model_name;
version: socinf's model id), and the membership truth an audit needs: membership_split.json, target_report.json.
defense=none or regularize only (MLServer answers the model's own probabilities).

example:
  socinf export models/tweet-logistic dataset=tweet serve.model=logistic
  .venv-mlserver/bin/mlserver start models
  socinf run dataset=tweet target=remote target.protocol=v2 target.url=http://127.0.0.1:8080 \\
      target.model_name=tweet-logistic target.server_dir=models/tweet-logistic target.model=logistic
"""


def export_command(args: list[str]) -> None:
    """``socinf export DIR [overrides]``; ``target.model_name`` (default: DIR's name, as MLServer expects) names the
    model on the server, the name a v2 audit then gives as ``target.model_name``."""
    from socinf_cli.compose import compose

    if any(a in ("-h", "--help") for a in args):
        print(USAGE, end="")
        return
    if not args or "=" in args[0] or args[0].startswith("-"):
        raise ConfigError("usage: socinf export DIR [overrides], e.g. "
                          "socinf export models/tweet serve.model=logistic dataset=tweet (socinf export --help)")
    out_dir, rest = Path(args[0]), args[1:]
    cfg = compose(rest)  # a bad override: one ConfigError line
    done = export(cfg, out_dir, cfg.target.model_name or out_dir.resolve().name)
    print(f"wrote {done['model']} and {out_dir / SETTINGS_FILE} (model {done['settings']['name']!r}, "
          f"version {done['settings']['parameters']['version']}); serve it with: mlserver start {out_dir}")
