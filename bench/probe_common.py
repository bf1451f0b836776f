"""What every section of ``bench/probe_bad_inputs.py`` shares: how a case is run, classified and counted.

A case ends in one of: "one line" (exit 2 and ``socinf: error: ...``, or a socinf error of one line, or an HTTP
4xx/503 with its reason), "ok" (the fault was survived as documented: a result kept, a job recorded, a budget
held), "traceback" or "silent" (a wrong result, or a fault that went unsaid). Besides, the probe counts the
records billed beyond a budget, the completed results lost, and (``key_occurrences``) every file under the
probe's dirs that holds the API key.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = os.environ.get("SOCINF_DATA_DIR") or str(ROOT.parent / "shared" / "data")
KEY = "probe-key-0123456789abcdef"  # every probe run has it in SOCINF_API_KEY; no file may hold it
SMALL = ["dataset.per_class=200", "eval.size=80", "synthesis.n_records=300", "synthesis.burn_in=30", "mimic.epochs=2",
         "method.baselines=false", "threads=1"]


@dataclass
class Tally:
    kinds: dict = field(default_factory=lambda: {"one line": 0, "ok": 0, "traceback": 0, "silent": 0})
    billed_beyond: int = 0
    results_lost: int = 0
    others: list = field(default_factory=list)  # cases of items other helpers own (printed, not counted)

    def record(self, kind: str, name: str, detail: str = "", owner: str | None = None) -> None:
        line = f"  {kind:9s} {name:52s} {detail[:120]}"
        if owner:
            self.others.append(f"{line}   [{owner}]")
            print(f"{line}   [{owner}: not counted here]")
            return
        self.kinds[kind] += 1
        print(line)

    def lost(self, n: int, name: str) -> None:
        if n:
            self.results_lost += n
            print(f"  LOST      {name}: {n} completed result(s)")


TALLY = Tally()


def env(extra: dict | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOCINF_")}
    return {**environment, "SOCINF_DATA_DIR": DATA, "SOCINF_API_KEY": KEY, "PYTHONPATH": str(ROOT), **(extra or {})}


def socinf(args, tmp: Path, extra_env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socinf_cli", *args], cwd=tmp, env=env(extra_env),
                          capture_output=True, text=True, timeout=timeout)


def last_line(proc) -> str:
    return (proc.stderr.strip().splitlines() or [""])[-1]


def one_line(proc) -> bool:
    text = proc.stdout + proc.stderr
    return proc.returncode == 2 and last_line(proc).startswith("socinf: error:") and "Traceback" not in text


def classify(name: str, proc, expect: str = "one line", owner: str | None = None) -> str:
    """``expect``: "one line" (exit 2, one error line) or "ok" (exit 0)."""
    text = proc.stdout + proc.stderr
    if "Traceback" in text or proc.returncode not in (0, 2):
        kind = "traceback"
    elif expect == "one line":
        kind = "one line" if one_line(proc) else "silent"
    else:
        kind = "ok" if proc.returncode == 0 else "silent"
    TALLY.record(kind, name, last_line(proc) if kind != "ok" else "rc=0", owner)
    return kind


def library_case(name: str, call, owner: str | None = None) -> tuple[str, str]:
    """A library call that must raise a one-line socinf error: (the kind, the message)."""
    from socinf.errors import SocinfError

    try:
        call()
    except SocinfError as exc:
        kind, shown = ("one line", str(exc)) if "\n" not in str(exc) else ("traceback", str(exc).splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - what the probe counts
        kind, shown = "traceback", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        kind, shown = "silent", "returned normally"
    TALLY.record(kind, name, shown, owner)
    return kind, shown


def key_occurrences(root: Path, core: str = KEY) -> list[str]:
    """Files under ``root`` holding the key (or its first 12 characters)."""
    needles = (core.encode(), core[:12].encode())
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(n in data for n in needles):
                    found.append(str(path))
        except OSError:
            pass
    return found


def mount_tmpfs(point: Path, size: str, read_only: bool = False) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if read_only else ""), "tmpfs", str(point)],
                   check=True)
    return point


def unmount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], check=False)
