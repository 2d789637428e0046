"""Texts in, for `textclf predict` and `embed`: stdin or a .txt file (one text per line), or a table (.csv,
.tsv, .jsonl, .json, .parquet) whose text column is detected or named, read in chunks so that a file of
any size fits in memory. Tables are read with pyarrow/json directly, never through the datasets cache.

A table's columns, its text column among them, travel with each text to the output under their own names
and in their order (textclf.serve.record_output adds its columns after them). A file that cannot be
read is a one-line error naming it, and the line or row where that can be told.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator

from textclf.data.json_lines import json_lines
from textclf.errors import TextclfError

CHUNK = 8192  # texts per chunk: read, predicted and written before the next is read
TABLES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
CSV_BLOCK = 1 << 20  # bytes pyarrow parses at once; a longer line takes a larger block (up to MAX_CSV_BLOCK)
MAX_CSV_BLOCK = 1 << 30


class Chunk:
    """Texts (None where empty) with their line/row numbers (from 1) and, from a table, all its columns
    ({} from lines of text)."""

    def __init__(self, texts: list[str | None], first: int, columns: dict[str, list]):
        self.texts, self.first, self.columns = texts, first, columns


def read_chunks(path: str, text_column: str | None = None, encoding: str | None = None,
                chunk: int = CHUNK) -> Iterator[Chunk]:
    """The input in chunks: stdin (`-`), a .txt file, or a table file."""
    if path != "-" and os.path.isdir(path):
        raise TextclfError(f"input {path} is a folder: give a file (a .txt with one text per line, or a table)")
    if path != "-" and not os.path.isfile(path):
        raise TextclfError(f"input file {path} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if path == "-" or ext not in TABLES:
        yield from _lines(path, encoding, chunk)
    elif ext == ".parquet":
        yield from _parquet(path, text_column, chunk)
    elif ext in (".csv", ".tsv"):
        yield from _csv(path, text_column, encoding, chunk, ext == ".tsv")
    else:
        yield from _json(path, text_column, encoding, chunk, ext == ".jsonl")


def _not_utf8(where: str, encoding: str | None) -> TextclfError:
    return TextclfError(f"{where} is not valid {encoding or 'UTF-8'}: set --data.encoding to its encoding "
                        "(e.g. --data.encoding latin-1)")


def _open(path: str, encoding: str | None, **options):
    try:
        return open(path, encoding=encoding or "utf-8", **options)
    except LookupError as err:
        raise TextclfError(f"unknown --data.encoding {encoding!r}: use a Python codec name such as latin-1 or gb18030") from err
    except OSError as err:
        raise TextclfError(f"cannot read {path}: {err.strerror}") from err


def _lines(path: str, encoding: str | None, chunk: int) -> Iterator[Chunk]:
    where = "stdin" if path == "-" else path
    f = sys.stdin if path == "-" else _open(path, encoding)
    try:
        texts, first, seen = [], 1, 0
        for seen, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            texts.append(line if line.strip() else None)
            if len(texts) == chunk:
                yield Chunk(texts, first, {})
                texts, first = [], seen + 1
        if texts:
            yield Chunk(texts, first, {})
        if not seen:
            raise TextclfError(f"{where} has no text: give one text per line")
    except UnicodeDecodeError as err:
        raise _not_utf8(where, encoding) from err
    finally:
        if f is not sys.stdin:
            f.close()


def _from_rows(rows: list[dict], first: int, cols: list[str], names: list[str]) -> Chunk:
    """A chunk of table rows: the text joined from `cols`, every column of `names` kept."""
    texts = []
    for row in rows:
        text = " ".join(str(row[c]) for c in cols if row.get(c) is not None and str(row[c]).strip())
        texts.append(text if text.strip() else None)
    return Chunk(texts, first, {c: [row.get(c) for row in rows] for c in names})


def _text_columns(names: list[str], text_column: str | None, path: str) -> list[str]:
    from textclf.data.columns import resolve_columns

    return resolve_columns(names, text_column, None, path, need_label=False)[0]


def _parquet(path: str, text_column: str | None, chunk: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        names = f.schema_arrow.names
        cols = _text_columns(names, text_column, path)
        first = 1
        for batch in f.iter_batches(batch_size=chunk):
            rows = batch.to_pylist()
            yield _from_rows(rows, first, cols, names)
            first += len(rows)
    except (pa.ArrowException, OSError) as err:
        raise TextclfError(f"{path} is not a readable Parquet file ({str(err).splitlines()[0]}): "
                           "check the file, or give it the extension of its real format") from err


def _csv(path: str, text_column: str | None, encoding: str | None, chunk: int, tsv: bool) -> Iterator[Chunk]:
    """A CSV/TSV file in chunks. A line longer than pyarrow's block is read again with a larger block,
    past the rows already given out."""
    import pyarrow as pa

    try:
        with _open(path, encoding, newline="") as f:
            header = next(csv.reader(f, delimiter="\t" if tsv else ","), [])
    except UnicodeDecodeError as err:
        raise _not_utf8(path, encoding) from err
    except csv.Error as err:
        raise TextclfError(f"{path} cannot be read as {'TSV' if tsv else 'CSV'}: {err}") from err
    cols = _text_columns(header, text_column, path)
    block, given = CSV_BLOCK, 0
    while True:
        try:
            for part in _csv_pass(path, header, cols, encoding, chunk, tsv, block, skip=given):
                given += len(part.texts)
                yield part
            return
        except pa.ArrowInvalid as err:
            if "straddl" in str(err) and block < MAX_CSV_BLOCK:
                block *= 16
                continue
            raise TextclfError(f"{path} cannot be read as {'TSV' if tsv else 'CSV'}: {str(err).splitlines()[0]}") from err


def _csv_pass(path: str, header: list[str], cols: list[str], encoding: str | None, chunk: int, tsv: bool,
              block: int, skip: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(delimiter="\t", quote_char=False) if tsv else pcsv.ParseOptions()
    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(encoding=encoding or "utf8", block_size=block),
                           parse_options=parse,
                           convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header}))
    first, rows, seen = skip + 1, [], 0
    for batch in reader:
        batch_rows = batch.to_pylist()
        seen += len(batch_rows)
        rows += batch_rows[max(0, len(batch_rows) - (seen - skip)):] if seen > skip else []
        while len(rows) >= chunk:
            yield _from_rows(rows[:chunk], first, cols, header)
            first, rows = first + chunk, rows[chunk:]
    if rows:
        yield _from_rows(rows, first, cols, header)


def _json(path: str, text_column: str | None, encoding: str | None, chunk: int, lines: bool) -> Iterator[Chunk]:
    try:
        with _open(path, encoding) as f:
            if lines:
                records = json_lines(f, path)
            else:
                data = json.load(f)
                records = iter(data if isinstance(data, list) else data.get("data", []))
            first, rows, cols, names = 1, [], None, None
            for record in records:
                if cols is None:
                    names = list(record)
                    cols = _text_columns(names, text_column, path)
                rows.append(record)
                if len(rows) == chunk:
                    yield _from_rows(rows, first, cols, names)
                    first, rows = first + chunk, []
            if rows:
                yield _from_rows(rows, first, cols, names)
    except json.JSONDecodeError as err:
        raise TextclfError(f"{path} is not valid JSON: {err}") from err
    except UnicodeDecodeError as err:
        raise _not_utf8(path, encoding) from err
