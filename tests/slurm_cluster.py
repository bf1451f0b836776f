"""A real single-node SLURM cluster (Debian's slurm-wlm + munge) in a temp dir, for the `slurm` tests.

Everything lives under one folder: its own munge key, socket, pid and log; its own slurm.conf
(passed to the daemons with -f and to every client through $SLURM_CONF), state and spool dirs,
logs, and ports picked free at start, so it never touches /etc/slurm, /run/munge or a cluster
another user runs on the same machine. Runs as root without cgroups (proctrack/linuxproc,
task/none). `SlurmCluster.stop()` cancels its jobs and ends the three daemons by PID.

Usable by hand too:  python tests/slurm_cluster.py  (starts a cluster, prints its SLURM_CONF, waits
for Ctrl-C).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "sinfo", "squeue", "scancel", "sacct")


def _which(name: str) -> str | None:
    # the daemons live in /usr/sbin, which a non-login shell does not always have on PATH
    sbin = f"/usr/sbin/{name}"
    return shutil.which(name) or (sbin if os.access(sbin, os.X_OK) else None)


def missing_binaries() -> list[str]:
    """The SLURM / munge programs this machine lacks (empty: a cluster can be started)."""
    return [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def node_line() -> tuple[int, int]:
    """(CPUs, RealMemory in MB) of this machine, as `slurmd -C` reports them."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(tok.split("=", 1) for tok in out.split() if "=" in tok)
    return int(fields["CPUs"]), int(fields["RealMemory"])


# submitit learns a job's state only from `sacct -o JobID,State,NodeList --parsable2 -j ID ...`
# (submitit/slurm/slurm.py, SlurmInfoWatcher; no squeue fallback).  Without slurmdbd the real sacct
# answers "Slurm accounting storage is disabled"; submitit logs "Bypassing sacct error", keeps the
# state UNKNOWN (= not done) and so waits forever for a job that ended without a result (scancel,
# time limit).  `sacct --completion` (jobcomp/filetxt) does not list array tasks by their array id.
# So this cluster puts a `sacct` first on PATH that answers that one query from slurmctld itself:
# squeue --states=all shows every job, array tasks as 12_3 / 12_[4-7%2], with the same state names.
SACCT = """#!/bin/sh
fmt=""; ids=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) fmt="$2"; shift ;;
    -j) ids="$ids${ids:+,}$2"; shift ;;
    --parsable2) ;;
    *) echo "test-cluster sacct: only submitit's query is answered, not $1" >&2; exit 1 ;;
  esac
  shift
done
[ "$fmt" = "JobID,State,NodeList" ] || { echo "test-cluster sacct: unsupported -o '$fmt'" >&2; exit 1; }
echo "JobID|State|NodeList"
exec squeue --states=all --noheader --format='%i|%T|%N' ${ids:+--jobs=$ids}
"""


@dataclass
class SlurmCluster:
    root: Path
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, a `socinf run` that submits) needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf), "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    def client(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=check, timeout=timeout)

    def log(self, name: str) -> str:
        path = self.root / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def write_conf(self) -> None:
        cpus, memory = node_line()
        ctld_port, slurmd_port = _free_ports(2)
        d = self.root
        lines = [
            "ClusterName=socinftest",
            f"SlurmctldHost={self.node}(127.0.0.1)",  # no name lookup needed
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={d / 'munge' / 'munge.socket'}",  # our munged, not /run/munge's
            "SlurmUser=root",
            "SlurmdUser=root",
            f"StateSaveLocation={d / 'state'}",
            f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={d / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={d / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # no cgroups in a container: track job processes through /proc, bind no tasks
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "DefMemPerCPU=1024",  # a job that asks for no memory must not take the whole node
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1",  # start queued jobs within a second, not the default minute
            "ReturnToService=2",
            # No slurmdbd, so no accounting storage: see SACCT below for how submitit still gets job
            # states.  MinJobAge keeps an ended job (and its state) in slurmctld for 10 minutes.
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={d / 'log' / 'jobcomp.log'}",
            "MinJobAge=600",
            # scancel: SIGTERM, then SIGKILL KillWait s later (default 30).  submitit ignores SIGTERM
            # (SLURM's preemption notice), so a cancelled job runs on that long, and longer: the signals
            # reach the job seconds after scancel returns (measured ~4.7 s on a loaded 2-core machine,
            # KillWait 0 or 2 alike), so a test must not count on a job's own work outlasting them.
            "KillWait=2",
            "InactiveLimit=0",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN",
            f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 60) -> "SlurmCluster":
        for sub in ("munge", "state", "spool", "run", "log", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "bin" / "sacct").write_text(SACCT)
        (self.root / "bin" / "sacct").chmod(0o755)
        # munged refuses a key or a socket dir others can read or write
        (self.root / "munge").chmod(0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.write_conf()
        m = self.root / "munge"
        self._spawn("munged", [_which("munged"), "--foreground", f"--socket={m / 'munge.socket'}",
                               f"--key-file={key}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={self.root / 'log' / 'munged.log'}", f"--seed-file={m / 'munged.seed'}",
                               "--force"])
        self._wait(lambda: (m / "munge.socket").exists(), timeout, "munged socket")
        # -D: stay in the foreground, so the PID we hold is the daemon's; -c / -i: start from a clean state
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-c", "-i", "-f", str(self.conf)])
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])

        def node_idle() -> bool:
            out = self.client("sinfo", "-h", "-N", "-o", "%N %t", check=False, timeout=10).stdout.split()
            return out[-1:] == ["idle"]

        self._wait(node_idle, timeout, f"node {self.node} idle in sinfo")
        return self

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.root / "log" / f"{name}.out", "wb")
        self.processes[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                env={**os.environ, **self.env})

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for {what}:\n"
                                       f"{self.log(name)[-2000:]}{(self.root / 'log' / f'{name}.out').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"SLURM test cluster: no {what} after {timeout:.0f} s; logs in {self.root / 'log'}")
            time.sleep(0.2)

    def job_ids(self) -> list[str]:
        out = self.client("squeue", "-h", "-o", "%A", check=False).stdout
        return out.split()

    def cancel_all(self, timeout: float = 30) -> None:
        """scancel every job of this cluster (by id) and wait until none is left running."""
        ids = self.job_ids()
        if ids:
            self.client("scancel", *ids, check=False)
        deadline = time.monotonic() + timeout
        while self.job_ids() and time.monotonic() < deadline:
            time.sleep(0.5)

    def stop(self) -> None:
        if self.processes.get("slurmctld") and self.processes["slurmctld"].poll() is None:
            self.cancel_all()
        # slurmd before slurmctld, munged last: each needs the next to shut down cleanly
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


if __name__ == "__main__":
    import sys
    import tempfile

    if missing_binaries():
        sys.exit(f"slurm_cluster: missing {', '.join(missing_binaries())} (apt-get install slurm-wlm munge)")
    cluster = SlurmCluster(Path(tempfile.mkdtemp(prefix="socinf-slurm-"))).start()
    print(f"export SLURM_CONF={cluster.conf}  # Ctrl-C or kill {os.getpid()} stops the cluster", flush=True)

    def _stop(signum, frame):
        raise SystemExit(0)

    # SIGTERM too: a background job of a non-interactive shell ignores SIGINT
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        signal.pause()
    finally:
        cluster.stop()
