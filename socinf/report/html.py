"""The building blocks of ``report.html``: one self-contained page, readable from disk or as an attachment.

Everything is inline: the CSS below, every figure as a ``data:`` URI (SVG: matplotlib draws its text as paths,
so no font is fetched; PNG for the figures sections wrote to disk), no script, no external font, image, link
or stylesheet. Text is escaped; tables wrap in a scrolling box so no table widens the page.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

CSS = """
:root { --ink: #1d2329; --muted: #5b6670; --rule: #d8dde2; --high: #b3261e; --medium: #c25e00;
        --low: #8a6d00; --none: #1e7b34; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; } h2 { font-size: 1.25rem; margin-top: 2rem; border-top: 2px solid var(--rule);
  padding-top: 0.8rem; } h3 { font-size: 1.05rem; margin-top: 1.4rem; }
p, li, dd, td, th, figcaption { overflow-wrap: anywhere; }
.meta, figcaption, .note { color: var(--muted); font-size: 0.9rem; }
.verdict { border: 2px solid var(--rule); border-left-width: 8px; border-radius: 6px; padding: 12px 14px;
           margin: 12px 0; max-width: 100%; overflow-wrap: anywhere; }
.verdict .headline { font-weight: 700; font-size: 1.1rem; margin: 0 0 6px; }
.verdict .sentence { font-size: 1.02rem; margin: 0 0 8px; }
.severity-high { border-color: var(--high); } .severity-high .headline { color: var(--high); }
.severity-medium { border-color: var(--medium); } .severity-medium .headline { color: var(--medium); }
.severity-low { border-color: var(--low); } .severity-low .headline { color: var(--low); }
.severity-none { border-color: var(--none); } .severity-none .headline { color: var(--none); }
.warnings { margin: 6px 0; padding-left: 1.2rem; } .warnings li { color: #7a4b00; }
.facts { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: 2px 12px; margin: 6px 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
.table-box { max-width: 100%; overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 8px; text-align: right; vertical-align: top;
         white-space: nowrap; }
td.wrap { white-space: normal; min-width: 16em; max-width: 40em; text-align: left; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f5f7; }
figure { margin: 10px 0; } figure img { max-width: 100%; height: auto; display: block; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 0.8rem; max-width: 100%; }
details summary { cursor: pointer; color: var(--muted); }
nav.toc a { margin-right: 12px; }
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


WRAPPED = ("text", "error", "reason", "detail", "message")  # columns of prose: wrapped, not one long line


def table(rows: list[dict], columns: list[str] | None = None, raw: tuple = ()) -> str:
    """An HTML table of ``rows`` (dicts); the cells of ``raw`` columns are HTML already (links)."""
    if not rows:
        return '<p class="note">(none)</p>'
    columns = columns or list(rows[0])
    cells = [[r.get(c, "") if c in raw else esc(r.get(c, "")) for c in columns] for r in rows]
    return grid([esc(c) for c in columns], cells, [c in WRAPPED for c in columns])


def grid(header: list[str], rows: list[list[str]], wrapped: list[bool] | None = None) -> str:
    """A table of cells that are HTML already (``wrapped``: per column, prose that wraps)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    wrapped = wrapped or [False] * len(header)
    body = "".join("<tr>" + "".join(f'<td class="wrap">{c}</td>' if w else f"<td>{c}</td>" for c, w in zip(row, wrapped))
                   + "</tr>" for row in rows)
    return f'<div class="table-box"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def facts(pairs: list[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"


def svg_figure(svg_text: str, alt: str, caption: str = "") -> str:
    data = base64.b64encode(svg_text.encode("utf-8")).decode("ascii")
    return _figure(f"data:image/svg+xml;base64,{data}", alt, caption)


def png_figure(path: Path, caption: str = "") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return _figure(f"data:image/png;base64,{data}", Path(path).stem, caption or Path(path).name)


def _figure(uri: str, alt: str, caption: str) -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{esc(alt)}">{cap}</figure>'


_MD_ROW = re.compile(r"^\|(.*)\|\s*$")


def markdown(text: str) -> str:
    """The Markdown our sections write (headings, paragraphs, pipe tables, images left out) as HTML."""
    out, rows = [], []

    def flush():
        if rows:
            out.append(grid([esc(h) for h in rows[0]], [[esc(c) for c in r] for r in rows[2:]]))
            rows.clear()
    for line in text.splitlines():
        match = _MD_ROW.match(line.strip())
        if match:
            rows.append([c.strip() for c in match.group(1).split("|")])
            continue
        flush()
        stripped = line.strip()
        if not stripped or stripped.startswith("!["):
            continue
        level = len(stripped) - len(stripped.lstrip("#"))
        if level:
            out.append(f"<h{min(level + 2, 6)}>{esc(stripped[level:].strip())}</h{min(level + 2, 6)}>")
        else:
            out.append(f"<p>{esc(stripped.replace('**', ''))}</p>")
    flush()
    return "\n".join(out)
