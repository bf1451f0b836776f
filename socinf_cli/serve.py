"""``socinf serve``: train the configured model on the member split (as a local target is trained) and serve it.

The model is trained exactly as a local target is (``prepare_data`` on the same dataset config and seed, then
``owner.defenses.fit_with_defense`` on the members, and ``owner.defenses.defended`` at the output boundary).
"""
from __future__ import annotations

from pathlib import Path

from socinf.cache import content_key
from socinf.io import atomic_write_json, plain
from socinf.runtime import abort_on_interrupt
from socinf.sparse import is_sparse
from socinf.serve.model import REPORT_FILE, SPLIT_FILE, ServedModel, answers_fingerprint, input_schema, split_key
from socinf_cli.paths import prepare, stage_cache
from socinf_cli.targets import model_params, utility_report


def build_served_model(cfg, run_dir: Path) -> ServedModel:
    """Prepare the data, train (or load) the owner's model, write the split and report to ``run_dir``."""
    from socinf.owner import defenses

    cache = stage_cache(cfg)
    prepared, data_key, _ = prepare(cfg, cache)
    name, params, s = cfg.serve.model, model_params(cfg, cfg.serve.model), prepared.splits
    skey = split_key(plain(cfg.dataset), cfg.seed)
    config_id = content_key("served-model", skey, name, params, plain(cfg.defense), cfg.seed)

    def fit():
        with abort_on_interrupt():
            return defenses.fit_with_defense(name, params, cfg.defense, prepared.X[s.members], prepared.y[s.members],
                                             cfg.seed, cfg.threads)

    config = {"served_model": name, "params": params, "defense": plain(cfg.defense), "seed": cfg.seed, "split_key": skey}
    model, _ = cache.get_or_compute("target_model", content_key("served", config_id), fit, config)
    predictor = defenses.defended(model, cfg.defense)
    model_id = content_key(config_id, answers_fingerprint(predictor, prepared.X))
    report = utility_report(name, predictor, prepared, s)  # what API users get, as for local targets
    report["defense"] = defenses.describe(model, cfg.defense)
    report["model_id"] = model_id
    atomic_write_json(run_dir / REPORT_FILE, report)
    atomic_write_json(run_dir / SPLIT_FILE, {
        "model_id": model_id, "data_key": data_key, "split_key": skey, "dataset": plain(cfg.dataset),
        "seed": cfg.seed, "label": prepared.label, "n_records": int(len(prepared.y)),
        "members": s.members.tolist(), "heldout": s.heldout.tolist(), "attacker": s.attacker.tolist()})
    row_sums = defenses.row_sum_bounds(cfg.defense, prepared.n_classes)
    schema, binary = input_schema(prepared.X, prepared.feature_names, prepared.class_names, model_id,
                                  cfg.serve.max_batch, cfg.serve.max_body_bytes, row_sums, cfg.defense.digits)
    return ServedModel(model_id, predictor, schema, binary, sparse=is_sparse(prepared.X))


def serve(cfg, run_dir: Path) -> None:
    """Train the model on the member split, then serve it until SIGINT / SIGTERM."""
    from threadpoolctl import threadpool_limits

    from socinf.serve.app import run_server
    from socinf_cli.validate import validate

    validate(cfg)  # serve.* included (socinf.serve.config.ServeConfig: a non-loopback host needs a real key)
    threadpool_limits(cfg.threads)  # BLAS threads of the model; torch is not needed (nor imported) here
    run_dir = Path(run_dir)
    served = build_served_model(cfg, run_dir)
    run_server(served, cfg.serve, run_dir)
