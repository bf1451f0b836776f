"""Issue #11 defect 2, as a user met it: `socinf run target.max_queries=N` twice in the same run dir.

Before #11 each process counted from zero, so the second run paid another N records to the server.
"""
from __future__ import annotations

import json

from socinf_runner import socinf

FAST = ["dataset=tweet", "dataset.per_class=300", "eval.size=100", "synthesis.n_records=600", "synthesis.burn_in=50",
        "mimic.epochs=3", "method.baselines=false", "threads=1", "target=remote", "target.model=logistic"]


def test_budget_holds_across_two_runs_in_the_same_run_dir(tmp_path, shared_data_dir):
    run = tmp_path / "run"
    args = ["run", *FAST, "target.max_queries=700", "target.batch_size=100", "target.query_cache=false",
            f"hydra.run.dir={run}", f"data.root={tmp_path / 'data'}", f"cache.dir={tmp_path / 'stages'}"]
    billed = []
    for attempt in range(2):
        proc = socinf(args, tmp_path, shared_data_dir)
        assert proc.returncode == 2, proc.stderr[-2000:]
        line = proc.stderr.strip().splitlines()[-1]
        assert line.startswith("socinf: error: target.max_queries=700: the next batch of"), line
        assert "a rerun pays again" in line and "cached," not in line  # target.query_cache=false: no answers kept
        billed.append(json.loads((run / "server" / "stats.json").read_text())["records"])
    assert billed == [700, 0]  # the second run found the budget spent and sent nothing
