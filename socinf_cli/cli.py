"""The ``socinf`` command: run, report, serve, export, data; each answers ``-h`` / ``--help`` with its own help.

``run`` and ``serve`` are Hydra apps over the same config tree (``conf/``), so
every override, ``-m`` sweep, ``--cfg job`` and ``--help`` works as Hydra
users expect. Bad input ends in one line, ``socinf: error: ...``, exit 2: Hydra's
own composition errors too (``socinf_cli.overrides``).
"""
from __future__ import annotations

import os
import sys

USAGE = """usage: socinf <command> [args]   (socinf <command> --help: that command's own help)

Does a classifier leak its training data through its answers, how much, and how sure are we?

commands:
  run [overrides]         one membership-inference audit (Hydra overrides; -m sweeps; --dry-run plans, runs nothing)
  report PATH             tables and figures for a run dir or a sweep dir, written to PATH/report/
  serve [overrides]       train a model on the member split and serve it over HTTP (a stand-in prediction API)
  export DIR [overrides]  train it as serve does and write it for MLServer (Open Inference Protocol, target.protocol=v2)
  data fetch|info         download the corpora (SHA-256 checked); where they are, records per label
  --version               the installed version

corpora: downloaded on first use into the data home ($SOCINF_DATA, default the per-user data dir), or read
from a local copy ($SOCINF_DATA_DIR); `socinf data --help`

examples:
  socinf run dataset=tweet target=xgboost
  socinf run -m experiment=table2 seeds=[0,1]
  socinf report multirun/2026-11-29/12-00-00
"""
HELP = ("-h", "--help")
DRY_RUN = ("--dry-run", "plan=true")
MULTIRUN = ("-m", "--multirun")

SECRET_KEYS = ("serve.api_key", "target.api_key")


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"socinf: error: {message}", file=sys.stderr)
    raise SystemExit(2)


# Keys that were renamed: one line naming the replacement instead of Hydra's "not in DatasetConfig".
RENAMED = {"dataset.heldout_fraction": "dataset.attacker_fraction (the share of its side of the non-members the "
                                       "attacker holds; the held-out half is fixed)"}


def _check_renamed(args: list[str]) -> None:
    for arg in args:
        key = arg.split("=", 1)[0].lstrip("+~")
        if key in RENAMED:
            fail(f"{key} was replaced by {RENAMED[key]}")


def _overrides_of(args: list[str]) -> list[str]:
    """The overrides among a Hydra app's arguments (flags such as --cfg job, -m, -p KEY set aside)."""
    from hydra._internal.utils import get_args_parser

    try:
        return list(get_args_parser().parse_known_args(args)[0].overrides)
    except SystemExit:  # a bad flag: Hydra's own parser says so when the app starts
        return []


def _check_args(args: list[str]) -> None:
    """What is wrong on the command line before Hydra starts: secrets, renamed keys, unknown options and keys."""
    from socinf.targets.remote_settings import URL_CREDENTIALS, has_credentials
    from socinf_cli.config import register_configs
    from socinf_cli.overrides import check_overrides

    for arg in args:  # a key on the command line ends up in .hydra/overrides.yaml, the run log and `ps`
        key = arg.split("=", 1)[0].lstrip("+~")
        if key in SECRET_KEYS and "=" in arg:
            fail(f"{key}=... on the command line would be saved in .hydra/ and shown by ps; "
                 "export SOCINF_API_KEY=<key> instead (both keys read it)")
        if key == "target.url" and has_credentials(arg.split("=", 1)[-1]):
            fail(f"target.url: {URL_CREDENTIALS}")
    if any(a in MULTIRUN for a in args) and any(a in ("--cfg", "-c", "--info", "-i") for a in args):
        fail("-m with --cfg shows no sweep: socinf run -m ... --dry-run lists its jobs; --cfg job without -m "
             "shows one job's config")
    register_configs()
    _check_renamed(args)
    check_overrides(_overrides_of(args))


def _hydra_app(task, name: str, args: list[str]) -> None:
    import hydra

    from socinf_cli.conf_tree import config_dir
    from socinf_cli.overrides import config_error, one_line

    _check_args(args)
    # The command names the Hydra job (help header, <name>.log); an env var because an extra
    # override in argv would clash with argparse's handling of flags such as --cfg and -m.
    os.environ["SOCINF_COMMAND"] = name
    sys.argv = [f"socinf {name}"] + args
    started = []

    def job(cfg):
        started.append(True)
        return task(cfg)

    app = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(job)
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises its composition errors (one line below) instead of printing
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM to a sweep (tasks.SweepCheck): the workers are stopped
        print(f"socinf: {name} interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        if started or not config_error(exc):
            raise
        fail(one_line(exc))
    from socinf_cli.tasks import sweep_failures

    problem = sweep_failures()  # a sweep lets every job finish, then says how many failed
    if problem:
        fail(problem)


def _dry_run(args: list[str]) -> None:
    """Compose and validate the run's config like ``socinf run`` would, print the plan; no Hydra run dir. With
    ``-m``: every job of the sweep composed and checked by the sweeper (``sweep_check``), listed, none launched."""
    from socinf_cli.compose import compose
    from socinf_cli.plan import print_plan
    from socinf_cli.validate import validate

    overrides = [a for a in args if a not in DRY_RUN]
    if any(a in MULTIRUN for a in args):
        from socinf_cli import sweep_check
        from socinf_cli.tasks import run_task

        sweep_check.PLAN_ONLY = True
        return _hydra_app(run_task, "run", overrides)
    cfg = compose(overrides)
    validate(cfg)
    print_plan(cfg)


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `socinf --help | head -1`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None


def _main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    if argv[0] in ("--version", "-V"):
        from socinf import __version__

        print(f"socinf {__version__}")
        return
    command, rest = argv[0], argv[1:]
    from socinf.errors import SocinfError

    try:
        if command == "run" and any(a in DRY_RUN for a in rest) and not any(a in HELP for a in rest):
            _dry_run(rest)
        elif command == "run":
            from socinf_cli.tasks import run_task

            _hydra_app(run_task, "run", rest)
        elif command == "serve":
            from socinf_cli.tasks import serve_task

            _hydra_app(serve_task, "serve", rest)
        elif command == "export":
            from socinf_cli.export import export_command

            export_command(rest)
        elif command == "data":
            from socinf_cli.data_cli import data_command

            data_command(rest)
        elif command == "report":
            from socinf_cli.report_cli import report_command

            report_command(rest)
        else:
            fail(f"unknown command {command!r}; expected run, serve, export, data or report (socinf --help)")
    except SocinfError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
