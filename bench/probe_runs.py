"""Section 4 of ``bench/probe_bad_inputs.py`` (issue 20): runs and sweeps. A rerun with a typo into a completed run
dir (Why 1), an API key with stray whitespace (Why 2), kill -9 of a joblib sweep worker (Why 6), `socinf export`
(Why 8), split settings out of range (Why 12), a tiny evaluation set (Why 13, issue 24's), and relatives."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from probe_common import KEY, ROOT, SMALL, TALLY, classify, env, last_line, socinf

RUN = [*SMALL, "target=logistic"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "run.log"}


def probe_reruns(tmp: Path) -> None:
    """Case 1: a copy of a completed run dir, rerun into with a typo: every file of the result must stay."""
    socinf(["run", *RUN, f"hydra.run.dir={tmp / 'done'}", f"data.root={tmp / 'data'}"], tmp)
    for i, typo in enumerate(["eval.size=999999", "mimic.lr_g=-1", "dataset.member_fraction=0.999",
                              "dataset.min_df=1000000"]):
        copy = tmp / f"rerun{i}"
        shutil.copytree(tmp / "done", copy)
        before = _files(copy)
        proc = socinf(["run", *RUN, typo, f"hydra.run.dir={copy}", f"data.root={tmp / 'data'}"], tmp)
        label = "case 1" if i < 2 else "relative"
        classify(f"{label}: rerun into a completed dir with {typo}", proc)
        changed = [k for k in set(before) | set(_files(copy)) if before.get(k) != _files(copy).get(k)]
        TALLY.lost(int(any(k in ("metrics.json", "job.json", "membership_scores.csv") for k in changed)), typo)
        if changed:
            TALLY.record("silent", f"  ... and it changed {sorted(changed)}")


def probe_other_jobs_dir(tmp: Path) -> None:
    """Relative: a sweep job failing in a dir that holds another job's complete result."""
    sweep = [f"hydra.sweep.dir={tmp / 'sweep-other'}", f"data.root={tmp / 'data'}"]
    socinf(["run", "-m", *RUN, "seed=0", *sweep], tmp)
    before = _files(tmp / "sweep-other" / "0")
    proc = socinf(["run", "-m", *RUN, "seed=0", "dataset.member_fraction=0.999", *sweep], tmp)
    classify("relative: a sweep job failing in another job's complete dir", proc)
    after = _files(tmp / "sweep-other" / "0")
    TALLY.lost(int(any(after.get(k) != before[k] for k in ("metrics.json", "job.json", "membership_scores.csv"))),
               "another job's result")


def probe_keys(tmp: Path) -> None:
    """Case 2 and relatives: a key with stray whitespace or a control character, a URL with a password."""
    for i, (name, key) in enumerate({"case 2: a trailing newline": KEY + "\n", "case 2: a trailing space": KEY + " ",
                                     "relative: a tab inside": KEY[:8] + "\t" + KEY[8:],
                                     "relative: a non-ASCII character": KEY + "é"}.items()):
        sweep = tmp / f"keys{i}"
        proc = socinf(["run", "-m", *SMALL, "target=remote", "target.model=logistic", "seed=0",
                       f"hydra.sweep.dir={sweep}", f"data.root={tmp / 'data'}"], tmp, {"SOCINF_API_KEY": key})
        classify(f"{name} in SOCINF_API_KEY (a sweep)", proc)
        record = sweep / "0" / "failed.json"  # absent when the sweep's check refused the job before it ran
        failure = json.loads(record.read_text())["error"] if record.exists() else last_line(proc)
        if record.exists():
            socinf(["report", str(sweep)], tmp)
        if "attempts" in failure or "Illegal header" in failure:  # the review: 7 attempts, ~12 s, key quoted
            TALLY.record("silent", f"  ... {name}: retried", failure[:100])
    proc = socinf(["run", *RUN, "target=remote", "target.url=http://user:hunter2-secret@127.0.0.1:9",
                   f"target.server_dir={tmp}", f"hydra.run.dir={tmp / 'creds'}"], tmp)
    classify("relative: target.url=http://user:password@host", proc)
    if "hunter2-secret" in proc.stderr or (tmp / "creds").exists():
        TALLY.record("silent", "  ... the password was shown or saved")


def probe_worker_kill(tmp: Path) -> None:
    """Case 6: kill -9 of one joblib worker of a 3-job sweep, then resume=true."""
    args = ["run", "-m", *RUN, "seed=0,1,2", f"hydra.sweep.dir={tmp / 'killed'}", f"data.root={tmp / 'data'}"]
    with open(tmp / "killed.err", "w+") as err:
        parent = subprocess.Popen([sys.executable, "-m", "socinf_cli", *args], cwd=tmp, env=env(),
                                  stdout=subprocess.DEVNULL, stderr=err)
        marker = tmp / "killed" / "0" / ".running.json"
        while not marker.exists() and parent.poll() is None:
            time.sleep(0.05)
        os.kill(json.loads(marker.read_text())["pid"], signal.SIGKILL)
        parent.wait(600)
        err.seek(0)
        proc = subprocess.CompletedProcess(args, parent.returncode, "", err.read())
    classify("case 6: kill -9 of one joblib worker", proc)
    failure = json.loads((tmp / "killed" / "0" / "failed.json").read_text())
    others = all((tmp / "killed" / str(i) / "metrics.json").exists() for i in (1, 2))
    TALLY.record("ok" if failure.get("signal") == "SIGKILL" and others else "silent",
                 "  ... the killed job recorded, the other two complete", failure.get("error", "")[:100])
    classify("  ... resume=true completes it", socinf([*args, "resume=true"], tmp), expect="ok")


def probe_export_and_splits(tmp: Path) -> None:
    export = ["serve.model=logistic", "dataset.per_class=100", "eval.size=20", "threads=1", f"data.root={tmp / 'data'}"]
    for flag in ("--help", "-h"):
        proc = socinf(["export", flag], tmp)
        ok = proc.returncode == 0 and "usage" in proc.stdout.lower() and not (tmp / flag).exists()
        TALLY.record("ok" if ok else "silent", f"case 8: socinf export {flag}", proc.stdout.strip()[:80],
                     owner="issue 21")
    (tmp / "a-file").write_text("x")
    classify("case 8: export into an existing file", socinf(["export", str(tmp / "a-file"), *export], tmp))
    from probe_server import start

    server, _ = start(tmp, "live", [])
    try:
        split = (tmp / "live" / "membership_split.json").read_bytes()
        classify("case 8: export into a live socinf serve dir", socinf(["export", str(tmp / "live"), *export], tmp))
        if (tmp / "live" / "membership_split.json").read_bytes() != split:
            TALLY.record("silent", "  ... the live server's membership_split.json was replaced")
    finally:
        server.terminate()
        server.wait(15)
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "notes.txt").write_text("mine")
    classify("relative: export into a non-empty foreign dir", socinf(["export", str(tmp / "foreign"), *export], tmp))
    for setting in ("dataset.member_fraction=0.999", "dataset.attacker_fraction=0.0001", "dataset.min_df=1000000",
                    "dataset.member_fraction=0.001"):
        classify(f"{'case 12' if setting != 'dataset.member_fraction=0.001' else 'relative'}: {setting}",
                 socinf(["run", *RUN, setting, f"hydra.run.dir={tmp / 'split'}", f"data.root={tmp / 'data'}"], tmp))


def probe_tiny_eval(tmp: Path) -> None:
    proc = socinf(["run", *RUN, "eval.size=1", f"hydra.run.dir={tmp / 'tiny'}", f"data.root={tmp / 'data'}"], tmp)
    metrics = json.loads((tmp / "tiny" / "metrics.json").read_text()) if (tmp / "tiny" / "metrics.json").exists() else {}
    ci = ((metrics.get("strongest") or {}).get("by_auc") or {}).get("auc_ci95")
    honest = proc.returncode == 2 or (ci is not None and ci[0] <= 0.0 and ci[1] >= 1.0)
    TALLY.record("ok" if honest else "silent", "case 13: eval.size=1", f"AUC 95% CI {ci}", owner="issue 24")


def probe_runs(tmp: Path) -> None:
    print("4. runs and sweeps (real `socinf run`, `socinf report`, `socinf export`)")
    sys.path.insert(0, str(ROOT / "bench"))
    probe_reruns(tmp)
    probe_other_jobs_dir(tmp)
    probe_keys(tmp)
    probe_worker_kill(tmp)
    probe_export_and_splits(tmp)
    probe_tiny_eval(tmp)
