"""OpenMP threads that spin at barriers stall on busy cores (an XGBoost target of 200 trees with threads=2 took
131 s instead of 1.4 s beside other work): socinf asks libgomp to sleep instead, before XGBoost is loaded, and
keeps a user's own setting."""
import os
import subprocess
import sys

CODE = ("import os, socinf_cli.cli, socinf.owner.models, xgboost; "
        "print(os.environ.get('OMP_WAIT_POLICY'))")


def _policy(**env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    return subprocess.run([sys.executable, "-c", CODE], env=environ, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_waiting_openmp_threads_sleep_unless_the_user_says_otherwise():
    assert _policy() == "PASSIVE"
    assert _policy(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
