"""``socinf export DIR [overrides]``: the model `socinf serve` would serve, written for MLServer.

The target is trained exactly as ``socinf serve`` trains it (``serve.build_served_model``: same data, split,
model and seed), then written in the form MLServer's runtimes load: scikit-learn models (``serve.model=logistic``
or ``mlp``) as ``model.joblib`` for ``mlserver_sklearn.SKLearnModel``, XGBoost as ``model.json`` for
``mlserver_xgboost.XGBoostModel``, with a ``model-settings.json`` whose version is socinf's model id. The
membership split and accuracy report go beside it, so ``target.server_dir=DIR`` gives the evaluator the truth.
``mlserver start DIR`` then serves it over the Open Inference Protocol (``target.protocol=v2``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from socinf.errors import ConfigError
from socinf.io import atomic_write_json

RUNTIMES = {"logistic": ("mlserver_sklearn.SKLearnModel", "model.joblib"),
            "mlp": ("mlserver_sklearn.SKLearnModel", "model.joblib"),
            "xgboost": ("mlserver_xgboost.XGBoostModel", "model.json")}
EXPORTABLE_DEFENSES = ("none", "regularize")  # output defenses and DP models have no MLServer runtime


def check_exportable(cfg) -> None:
    d = cfg.defense
    if d.name not in EXPORTABLE_DEFENSES or d.k is not None or d.digits is not None:
        raise ConfigError(f"defense={d.name} (k={d.k}, digits={d.digits}): MLServer's runtimes answer the model's own "
                          f"probabilities and cannot load a DP model; `socinf export` takes defense=none or regularize "
                          "(audit other defenses with `socinf serve` and target=remote)")
    if cfg.serve.model not in RUNTIMES:
        raise ConfigError(f"serve.model={cfg.serve.model!r}: expected one of {', '.join(RUNTIMES)}")


def write_model(model, name: str, out_dir: Path) -> Path:
    """The fitted model in the file MLServer's runtime for ``name`` loads, written atomically."""
    path = out_dir / RUNTIMES[name][1]
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")  # xgboost picks the format from the suffix
    if name == "xgboost":
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


def export(cfg, out_dir: Path, model_name: str) -> dict:
    from threadpoolctl import threadpool_limits

    from socinf_cli.serve import build_served_model
    from socinf_cli.validate import validate

    check_exportable(cfg)  # first: an export-specific refusal beats a generic one
    validate(cfg)
    threadpool_limits(cfg.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    served = build_served_model(cfg, out_dir)  # writes membership_split.json and target_report.json
    path = write_model(served.predictor, cfg.serve.model, out_dir)
    probe = np.asarray(served.predictor.predict_proba(np.zeros((1, served.n_features), dtype=np.float32)))
    settings = model_settings(cfg.serve.model, model_name, served.model_id, served.n_features,
                              len(served.schema["classes"]), "FP32" if probe.dtype == np.float32 else "FP64")
    atomic_write_json(out_dir / "model-settings.json", settings)
    return {"model": path, "settings": settings}


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
    print(f"wrote {done['model']} and {out_dir / 'model-settings.json'} (model {done['settings']['name']!r}, "
          f"version {done['settings']['parameters']['version']}); serve it with: mlserver start {out_dir}")
