"""``socinf data fetch`` and ``socinf data info``: the corpora in the data home or a local copy."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from socinf.data.dataset_config import SUPPORTED_CLASSES
from socinf.errors import DataError, SocinfError

CORPORA = tuple(SUPPORTED_CLASSES)  # the pinned corpora
INFO_VIEWS = {"tweet": (4, 2), "weibo": (3, 5), "clue": (7,)}
USAGE = """usage: socinf data fetch [tweet|weibo|clue|all] [key=value ...]
       socinf data info  [tweet|weibo|clue|all] [key=value ...]

  fetch   download the corpora from their commit-pinned URLs into the data home, SHA-256 checked
          (socinf run does this itself on first use: data.download_if_missing=true)
  info    where each corpus is read from, every file's SHA-256, records per label, duplicates removed;
          exits 2 when a requested corpus is missing or has a wrong file

  data home: $SOCINF_DATA or data.root=DIR (default: the per-user data dir); a read-only local copy:
  $SOCINF_DATA_DIR or data.dir=DIR (read instead of the home when set); a mirror: data.url_base=URL
"""
STATUS = {"ok": "[green]SHA-256 OK[/]", "missing": "[red]missing[/]", "bad": "[red]WRONG HASH[/]"}


def _parse(args: list[str]) -> tuple[str, list[str], list[str]]:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        raise SystemExit(0)
    if args[0] not in ("fetch", "info"):
        raise SocinfError(f"data {args[0]!r}: expected 'socinf data fetch' or 'socinf data info' (socinf data --help)")
    if any(a in ("-h", "--help") for a in args[1:]):
        print(USAGE, end="")
        raise SystemExit(0)
    positional = [a for a in args[1:] if "=" not in a]
    corpora = list(CORPORA) if not positional or "all" in positional else positional
    for name in corpora:
        if name not in CORPORA:
            raise SocinfError(f"unknown corpus {name!r}; expected one of {', '.join(CORPORA)} or all")
    return args[0], corpora, [a for a in args[1:] if "=" in a]


def data_command(args: list[str]) -> None:
    from socinf_cli.compose import compose
    from socinf_cli.paths import data_root

    action, corpora, overrides = _parse(args)
    cfg = compose(overrides)
    home = data_root(cfg)
    if action == "info" and cfg.dataset.name == "text" and len(overrides) == len(args) - 1:
        return text_info(cfg)  # `socinf data info dataset=text dataset.path=...`: the user's own file
    if action == "fetch":
        fetch_corpora(corpora, cfg, home)
    else:
        info(corpora, cfg, home)


def fetch_corpora(corpora, cfg, home) -> None:
    from socinf.data.fetch import check_folder, corpus_folder, fetch
    from socinf.data.registry import corpus_files

    console = Console()
    for name in corpora:
        if cfg.data.dir:
            folder = corpus_folder(name, cfg.data.dir, home)
            bad = [r for r in check_folder(name, folder) if r.status != "ok"]
            if not bad:
                console.print(f"{name}: already present and SHA-256 verified in data.dir / SOCINF_DATA_DIR "
                              f"({folder}); nothing to download")
                continue
            raise DataError(f"{name}: data.dir / SOCINF_DATA_DIR={cfg.data.dir} is set but {bad[0].path} is "
                            f"{'missing' if bad[0].status == 'missing' else 'wrong (SHA-256 mismatch)'}; runs read "
                            f"the local copy when it is set: restore it, or unset SOCINF_DATA_DIR to fetch into {home}")
        before = {r.pinned.name for r in check_folder(name, corpus_folder(name, None, home)) if r.status == "ok"}
        folder = fetch(name, home, url_base=cfg.data.url_base)
        n_new = len(corpus_files(name).files) - len(before)
        console.print(f"{name}: {'downloaded ' + str(n_new) + ' file(s); ' if n_new else ''}all files present "
                      f"and SHA-256 verified in {folder}")


def info(corpora, cfg, home) -> None:
    from socinf.data.fetch import check_folder, corpus_folder

    console = Console()
    console.print(f"data home: {home}" + (f"   local copy (read instead): {cfg.data.dir}" if cfg.data.dir else ""))
    broken = []
    for name in corpora:
        folder = corpus_folder(name, cfg.data.dir, home)
        rows = check_folder(name, folder)
        files = Table(title=f"{name}: files in {folder}", show_header=True)
        for col in ("file", "status"):
            files.add_column(col)
        for r in rows:
            files.add_row(r.pinned.name, STATUS[r.status])
        console.print(files)
        if any(r.status != "ok" for r in rows):
            broken.append(name)
            continue
        _print_counts(console, name, folder)
    if broken:
        fix = ("restore the files in SOCINF_DATA_DIR or unset it" if cfg.data.dir
               else f"run 'socinf data fetch {' '.join(broken)}'")
        raise DataError(f"{', '.join(broken)}: missing or wrong files (see above); {fix}")


def _print_counts(console, name: str, folder) -> None:
    from socinf.data.loaders import load_corpus

    for k in INFO_VIEWS[name]:
        console.print(counts_table(f"{name}({k})", load_corpus(name, k, folder, None, 0)))


def counts_table(title: str, corpus) -> Table:
    counts = Table(title=f"{title}: {len(corpus)} records after deduplication")
    counts.add_column("label")
    counts.add_column("records", justify="right")
    for label, n in corpus.counts().items():
        counts.add_row(label, str(n))
    for key, n in corpus.dedup.items():
        counts.add_row(f"[dim]{key}[/]", str(n))
    return counts


def text_info(cfg) -> None:
    """``socinf data info dataset=text dataset.path=...``: the user's file as the audit will read it."""
    from socinf.data.loaders import load_text_corpus

    ds = cfg.dataset
    if not ds.path:
        raise SocinfError("dataset.path=null: socinf data info dataset=text needs dataset.path=/path/to/texts.csv")
    corpus = load_text_corpus(ds.path, ds.text_column, ds.label_column, ds.language)
    Console().print(counts_table(f"{ds.path} ({ds.language})", corpus))
