"""``socinf run ... --dry-run`` (or ``plan=true``): the composed protocol and the target queries each stage
would send, without loading data, querying or training (paper Fig. 2: synthesis -> in/out -> mimic -> attack).
With ``-m``, one row per job of the sweep (its overrides and its queries) and the sweep's total
(``sweep_check.check_jobs`` calls ``print_sweep_plan`` once every job's config is composed and checked).
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from socinf.data.dataset_config import AUTO_SIZE, AUTO_SIZE_MAX
from socinf.protocol import protocol_name

FORMAT_CHAINS_PER_CLASS = 32  # socinf.attacks.synthesis.format_walk's default


def synthesis_bound(cfg) -> int | None:
    """At most how many records synthesis sends the target; None when only the data can tell."""
    s = cfg.synthesis
    if s.name == "population":
        return None  # one per attacker record
    if s.name == "format" and s.accept == "confidence":
        k = cfg.dataset.get("num_classes")
        return None if k is None else FORMAT_CHAINS_PER_CLASS * k + s.max_proposals + s.n_records
    return s.n_records


def synthesis_queries(cfg) -> str:
    s, bound = cfg.synthesis, synthesis_bound(cfg)
    if s.name == "statistics":
        return f"up to {bound} (one per synthetic record: synthesis.n_records)"
    if s.name == "population":
        return "one per attacker record (the attacker split of the corpus)"
    if s.accept == "confidence":
        k = cfg.dataset.get("num_classes") or "k"
        return (f"up to {FORMAT_CHAINS_PER_CLASS}·{k} + {s.max_proposals} + {s.n_records} (walk starts, every "
                f"proposal, the accepted records)")
    return f"up to {bound} (the accepted records; proposals are not sent)"


def eval_queries(cfg) -> tuple[int, str]:
    """(at most how many evaluation records are asked, how that number arises)."""
    if cfg.eval.size == AUTO_SIZE:
        return 2 * AUTO_SIZE_MAX, (f"up to {2 * AUTO_SIZE_MAX} (eval.size=auto: as many members as the data allows, "
                                   f"at most {AUTO_SIZE_MAX}, and as many non-members)")
    return 2 * cfg.eval.size, f"{2 * cfg.eval.size} (2·eval.size: members and as many non-members)"


def query_bounds(cfg) -> dict[str, int | None]:
    """Per stage that asks the target: at most how many records (None: one per attacker record)."""
    bounds = {"synthesis": synthesis_bound(cfg) if cfg.method.name == "socinf" else 0}
    if cfg.method.name in ("lira", "rmia") and cfg.method.reference_data == "synthetic":
        bounds["references"] = synthesis_bound(cfg)  # synthesized, then labelled by the target
    if cfg.method.name == "rmia" and cfg.method.reference_data == "population":
        bounds["rmia_population"] = cfg.method.n_population
    bounds["evaluation"] = eval_queries(cfg)[0]
    return bounds


def plan_rows(cfg) -> list[tuple[str, str]]:
    proto = protocol_name(cfg.synthesis.name, cfg.eval.nonmembers)
    target = cfg.target.name + (f" at {cfg.target.url}" if cfg.target.name == "remote" else "")
    rows = [("protocol", f"{proto} (synthesis={cfg.synthesis.name}, split={cfg.dataset.split}, "
                         f"non-members={cfg.eval.nonmembers})"),
            ("dataset", f"{cfg.dataset.name}({cfg.dataset.get('num_classes', '?')}), per_class={cfg.dataset.per_class}"),
            ("target", f"{target}, defense={cfg.defense.name}"),
            ("method", f"{cfg.method.name}, attack model {cfg.attack.name}, seed {cfg.seed}"),
            ("queries: synthesis", synthesis_queries(cfg) if cfg.method.name == "socinf" else
             "0 (shadow models are trained on the attacker's own records)"),
            ("queries: in/out, mimic, attack model", "0 (the mimic answers, not the target)"
             if cfg.method.name == "socinf" else "0"),
            ("queries: evaluation", eval_queries(cfg)[1]),
            ("queries: baselines", "0 (scored on the evaluation answers)" if cfg.method.baselines else "off")]
    bounds = query_bounds(cfg)
    for stage in ("references", "rmia_population"):
        if stage in bounds:
            rows.insert(-2, (f"queries: {stage}", f"up to {bounds[stage]}" if bounds[stage] is not None
                             else "one per attacker record"))
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


def job_queries(cfg) -> tuple[int, bool]:
    """(at most how many records the job asks the target, whether a stage adds one query per attacker record)."""
    bounds = query_bounds(cfg).values()
    return sum(b for b in bounds if b is not None), any(b is None for b in bounds)


def print_sweep_plan(jobs: list[tuple[int, list[str], object]]) -> None:
    """``socinf run -m ... --dry-run``: every job (number, overrides, composed config) with its queries, and the
    total."""
    common = set.intersection(*(set(o) for _, o, _ in jobs)) if len(jobs) > 1 else set()
    table = Table(title=f"socinf run -m --dry-run: {len(jobs)} jobs; nothing is loaded, queried or trained")
    for col, justify in (("job", "right"), ("overrides", "left"), ("protocol", "left"), ("target queries", "right")):
        table.add_column(col, justify=justify)
    total, open_ended = 0, False
    for num, overrides, cfg in jobs:
        bound, per_record = job_queries(cfg)
        total, open_ended = total + bound, open_ended or per_record
        table.add_row(str(num), " ".join(o for o in overrides if o not in common) or "(defaults)",
                      protocol_name(cfg.synthesis.name, cfg.eval.nonmembers),
                      f"up to {bound:,}" + (" + 1 per attacker record" if per_record else ""))
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))  # a pipe or a file: one row per job, unwrapped
    console.print(table)
    console.print(f"total: up to {total:,} target queries in {len(jobs)} jobs"
                  + (" + 1 per attacker record in the jobs marked so" if open_ended else "")
                  + (f"; every job: {' '.join(sorted(common))}" if common else ""))
