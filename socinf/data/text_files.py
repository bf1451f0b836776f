"""Read a user's labelled texts (``dataset=text``) from CSV, TSV or JSON Lines, strictly.

Every row must carry a non-empty text and a label; the file must be UTF-8. Anything else stops the run with
one line naming the file, the line and the column, and what is expected: a silently skipped row would change
the corpus under the user's feet. What happens after reading (duplicates collapsed, conflicting labels
dropped, keywords chosen on the owner's half) is what the paper's corpora get (``loaders.load_text_corpus``).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from socinf.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

Row = tuple[int, str, str]  # (line number, text, label)


def _decoded(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: the byte at offset {exc.start} ({data[exc.start:exc.start + 1]!r}) is not UTF-8; "
                        "expected a UTF-8 text file (re-save it as UTF-8)") from None


def _label(value, path: Path, line: int, column: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(f"{path}: line {line}: label column {column!r} holds {value!r}; expected a string or an integer")
    label = str(value).strip()
    if not label:
        raise DataError(f"{path}: line {line}: label column {column!r} is empty; every text needs a label")
    return label


def _text(value, path: Path, line: int, column: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{path}: line {line}: text column {column!r} holds {value!r} ({type(value).__name__}); "
                        "expected a string")
    if not value.strip():
        raise DataError(f"{path}: line {line}: text column {column!r} is empty; every row needs a text")
    return value


def _missing(path: Path, role: str, column: str, columns) -> DataError:
    return DataError(f"{path}: no {role} column {column!r} (columns: {', '.join(map(str, columns))}); "
                     f"set dataset.{role}_column")


def _delimited_rows(path: Path, text: str, delimiter: str, text_column: str, label_column: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a header line with {text_column!r} and "
                            f"{label_column!r} columns and one row per text")
        for column, role in ((text_column, "text"), (label_column, "label")):
            if column not in header:
                raise _missing(path, role, column, header)
        ti, li = header.index(text_column), header.index(label_column)
        rows = []
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue  # a blank line
            if len(fields) != len(header):
                raise DataError(f"{path}: line {line}: {len(fields)} fields; the header has {len(header)} "
                                f"(a stray {'tab' if delimiter == chr(9) else 'comma'} or an unclosed quote?)")
            rows.append((line, _text(fields[ti], path, line, text_column), _label(fields[li], path, line, label_column)))
        return rows
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: not readable as {'TSV' if delimiter == chr(9) else 'CSV'} "
                        f"({exc})") from None


def _json_lines_rows(path: Path, text: str, text_column: str, label_column: str) -> list[Row]:
    rows = []
    for line, raw in enumerate(text.split("\n"), 1):  # "\n" only: U+2028 and friends may sit inside a string
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise DataError(f"{path}: line {line}: not a JSON object ({exc}); expected one JSON object per line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {line}: {type(record).__name__}, expected a JSON object per line")
        for column, role in ((text_column, "text"), (label_column, "label")):
            if column not in record:
                raise DataError(f"{path}: line {line}: no {role} field {column!r} (fields: "
                                f"{', '.join(map(str, record))}); set dataset.{role}_column")
        rows.append((line, _text(record[text_column], path, line, text_column),
                     _label(record[label_column], path, line, label_column)))
    return rows


def read_labelled_texts(path: str | Path, text_column: str, label_column: str) -> list[Row]:
    """``(line, text, label)`` for every row of a CSV / TSV / JSON Lines file; ``DataError`` on any bad row."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"dataset.path={path}: expected a .csv, .tsv or .jsonl file of labelled texts")
    if not path.is_file():
        raise DataError(f"dataset.path={path}: no such file")
    text = _decoded(path)
    if kind == "jsonl":
        rows = _json_lines_rows(path, text, text_column, label_column)
    else:
        rows = _delimited_rows(path, text, "," if kind == "csv" else "\t", text_column, label_column)
    if not rows:
        raise DataError(f"{path}: no records; expected one labelled text per row")
    if not any(ch.isalpha() for _, t, _ in rows for ch in t):
        raise DataError(f"{path}: text column {text_column!r} holds no letters in any row (numbers or ids?); "
                        "set dataset.text_column to the column with the texts")
    return rows
