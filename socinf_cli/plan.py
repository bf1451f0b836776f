"""``socinf run ... --dry-run`` (or ``plan=true``): the composed protocol and the target queries each stage
would send, without loading data, querying or training (paper Fig. 2: synthesis -> in/out -> mimic -> attack).
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from socinf.protocol import protocol_name

FORMAT_CHAINS_PER_CLASS = 32  # socinf.attacks.synthesis.format_walk's default


def synthesis_queries(cfg) -> str:
    s = cfg.synthesis
    if cfg.method.name != "socinf":
        return "0 (shadow models are trained on the attacker's own records)"
    if s.name == "statistics":
        return f"up to {s.n_records} (one per synthetic record: synthesis.n_records)"
    if s.name == "population":
        return "one per attacker record (the attacker split of the corpus)"
    if s.accept == "confidence":
        k = cfg.dataset.get("num_classes") or "k"
        return (f"up to {FORMAT_CHAINS_PER_CLASS}·{k} + {s.max_proposals} + {s.n_records} (walk starts, every "
                f"proposal, the accepted records)")
    return f"up to {s.n_records} (the accepted records; proposals are not sent)"


def plan_rows(cfg) -> list[tuple[str, str]]:
    proto = protocol_name(cfg.synthesis.name, cfg.eval.nonmembers)
    target = cfg.target.name + (f" at {cfg.target.url}" if cfg.target.name == "remote" else "")
    rows = [("protocol", f"{proto} (synthesis={cfg.synthesis.name}, split={cfg.dataset.split}, "
                         f"non-members={cfg.eval.nonmembers})"),
            ("dataset", f"{cfg.dataset.name}({cfg.dataset.get('num_classes', '?')}), per_class={cfg.dataset.per_class}"),
            ("target", f"{target}, defense={cfg.defense.name}"),
            ("method", f"{cfg.method.name}, attack model {cfg.attack.name}, seed {cfg.seed}"),
            ("queries: synthesis", synthesis_queries(cfg)),
            ("queries: in/out, mimic, attack model", "0 (the mimic answers, not the target)"
             if cfg.method.name == "socinf" else "0"),
            ("queries: evaluation", f"{2 * cfg.eval.size} (2·eval.size: members and as many non-members)"),
            ("queries: baselines", "0 (scored on the evaluation answers)" if cfg.method.baselines else "off")]
    if cfg.target.name == "remote" and cfg.target.max_queries:
        rows.append(("query budget", f"target.max_queries={cfg.target.max_queries}: the run stops before exceeding it"))
    return rows


def print_plan(cfg) -> None:
    table = Table(title="socinf run --dry-run: nothing is loaded, queried or trained", show_header=False)
    table.add_column("")
    table.add_column("")
    for key, value in plan_rows(cfg):
        table.add_row(key, value)
    Console().print(table)
