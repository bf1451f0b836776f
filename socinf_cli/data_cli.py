"""``socinf data fetch`` and ``socinf data info``."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from socinf.errors import SocinfError

CORPORA = ("tweet", "weibo", "clue")
INFO_VIEWS = {"tweet": (4, 2), "weibo": (3, 5), "clue": (7,)}


def _split_args(args: list[str]) -> tuple[list[str], list[str]]:
    overrides = [a for a in args if "=" in a]
    return [a for a in args if "=" not in a], overrides


def data_command(args: list[str]) -> None:
    from socinf_cli.compose import compose
    from socinf_cli.paths import data_root

    if not args or args[0] not in ("fetch", "info"):
        raise SocinfError("usage: socinf data fetch [tweet|weibo|clue|all] [data.url_base=...] | socinf data info [data.dir=...]")
    positional, overrides = _split_args(args[1:])
    cfg = compose(overrides)
    root = data_root(cfg)
    wanted = positional or ["all"]
    corpora = CORPORA if "all" in wanted else wanted
    for name in corpora:
        if name not in CORPORA:
            raise SocinfError(f"unknown corpus {name!r}; expected one of {', '.join(CORPORA)} or all")
    if args[0] == "info" and cfg.dataset.name == "text" and not positional:
        return text_info(cfg)
    if args[0] == "fetch":
        from socinf.data.fetch import fetch

        for name in corpora:
            path = fetch(name, root, url_base=cfg.data.url_base)
            Console().print(f"{name}: all files present and SHA-256 verified in {path}")
    else:
        info(corpora, cfg, root)


def info(corpora, cfg, root) -> None:
    from socinf.data.fetch import verify_report
    from socinf.data.loaders import load_corpus

    console = Console()
    for name in corpora:
        report = verify_report(name, cfg.data.dir, root)
        files = Table(title=f"{name}: files", show_header=True)
        for col in ("file", "status", "path"):
            files.add_column(col)
        for fname, path, status in report:
            files.add_row(fname, {"ok": "[green]SHA-256 OK[/]", "missing": "[red]missing[/]", "bad": "[red]WRONG HASH[/]"}.get(status, status), str(path))
        console.print(files)
        if any(status != "ok" for _, _, status in report):
            console.print(f"[red]{name}: fix with `socinf data fetch {name}` or data.dir=/folder/with/the/files (env SOCINF_DATA_DIR)[/]")
            continue
        corpus_dir = report[0][1].parent
        for k in INFO_VIEWS[name]:
            console.print(counts_table(f"{name}({k})", load_corpus(name, k, corpus_dir, None, 0)))


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
