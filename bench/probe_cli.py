"""Section 1 of ``bench/probe_bad_inputs.py`` (issue 11): bad config values, hyper-parameters, CSV tables, secrets
on the command line, a corrupt query cache and planted stage-cache files, each a real `socinf run`."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

from probe_common import SMALL, TALLY, classify, socinf


def _cases(tmp: Path) -> list[list[str]]:
    csvs = {"one class": "a,b,label\n1,0,x\n0,1,x\n1,1,x\n0,0,x\n",
            "inf": "a,b,label\n1,inf,x\n0,1,z\n1,1,x\n0,0,z\n", "0 rows": "a,b,label\n"}
    cases = [[o] for o in ("target.params.max_depth=-4", "mimic.width=50000", "mimic.depth=100", "mimic.lr_g=-1",
                           "mimic.lr_d=nan", "eval.size=999999", "target.max_retries=-1", "serve.api_key=abc",
                           "target.api_key=abc", "threads=0", "synthesis.n_records=-5")]
    cases += [["attack=svm", "attack.params.C=-1"], ["target=mlp", "target.params.hidden_layer_sizes=[-3]"],
              ["target=logistic", "+target.params.bogus=1"], ["target=remote", "target.budget_scope=bogus"],
              ["target=remote", "target.deadline_s=0"]]
    for name, text in csvs.items():
        (tmp / f"{name}.csv").write_text(text)
        cases.append(["dataset=csv", f"dataset.path={tmp / (name + '.csv')}", "eval.size=1"])
    return cases


def probe_cli(tmp: Path) -> None:
    print("1. CLI (each a real `socinf run`)")
    for i, overrides in enumerate(_cases(tmp)):
        classify(" ".join(o.replace(str(tmp) + "/", "") for o in overrides),
                 socinf(["run", *SMALL, *overrides, f"hydra.run.dir={tmp / f'cli{i}'}", f"data.root={tmp / 'data'}"],
                        tmp))
    classify("serve on 0.0.0.0 with SOCINF_API_KEY=change-me",
             socinf(["serve", "serve.host=0.0.0.0", f"hydra.run.dir={tmp / 'weak'}"], tmp,
                    {"SOCINF_API_KEY": "change-me"}))
    # a planted pickle and random bytes in the stage cache: must never run, the run recomputes
    args = ["run", *SMALL, "target=logistic", f"data.root={tmp / 'data'}"]
    socinf([*args, f"hydra.run.dir={tmp / 'clean'}"], tmp)
    marker = tmp / "PWNED"
    evil = pickle.dumps(type("E", (), {"__reduce__": lambda self: (os.system, (f"touch {marker}",))})())  # noqa
    for meta in (tmp / "data" / "cache" / "stages").glob("*/*.json"):
        meta.with_suffix(".npz").write_bytes(evil)
        meta.with_suffix(".pkl").write_bytes(evil)
        meta.write_bytes(os.urandom(200))
    again = socinf([*args, f"hydra.run.dir={tmp / 'again'}"], tmp)
    recomputed = again.returncode == 0 and "stage cache: ignoring" in again.stdout + again.stderr
    TALLY.record("ok" if recomputed and not marker.exists() else "silent",
                 "planted pickle + random bytes in the stage cache", "rc=0, bad entries recomputed, nothing ran"
                 if recomputed else again.stderr[-120:])
    (tmp / "data" / "cache" / "queries.sqlite").write_bytes(b"garbage" * 1000)
    classify("corrupt queries.sqlite (target=remote)",
             socinf(["run", *SMALL, "target=remote", "target.model=logistic", f"data.root={tmp / 'data'}",
                     f"hydra.run.dir={tmp / 'corrupt'}"], tmp))
