"""The files of `textclf predict`, `evaluate --predictions` and `embed`, streamed in chunks so that a file of
any size fits in memory.

Input: a .txt file or stdin (one text per line), or a table (.csv, .tsv, .jsonl, .json, .parquet) whose
text column is detected or named; the table's other columns (ids, say) travel with each text into the
output. Tables are read with pyarrow/json directly, never through the datasets cache.

Output, by the extension of --output (JSON lines on stdout without one):
- .jsonl: one record per text: the input's other columns, then text, label, score, probs ({label: p}).
- .csv / .tsv / .parquet: the other columns, text, label, score, and one prob_<label> column per label
  (with --top_k, only the k most likely are filled).
An empty text gets a record with null label, score and probs (counted and reported); with `strict`
it is an error naming its line or row. The output is written to a temporary file renamed over --output
at the end, so a failed command leaves an earlier file as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator

from textclf.errors import TextclfError
from textclf.serve.predictions import Predictions

CHUNK = 8192  # texts per chunk: read, predicted and written before the next is read
TABLES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
OUTPUTS = (".jsonl", ".csv", ".tsv", ".parquet")


class Chunk:
    """Texts (None where empty) with their line/row numbers (from 1) and the table's other columns."""

    def __init__(self, texts: list[str | None], first: int, columns: dict[str, list]):
        self.texts, self.first, self.columns = texts, first, columns


def read_chunks(path: str, text_column: str | None = None, encoding: str | None = None,
                chunk: int = CHUNK) -> Iterator[Chunk]:
    """The input in chunks: stdin (`-`), a .txt file, or a table file."""
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


def _lines(path: str, encoding: str | None, chunk: int) -> Iterator[Chunk]:
    where = "stdin" if path == "-" else path
    try:
        f = sys.stdin if path == "-" else open(path, encoding=encoding or "utf-8")
    except LookupError as err:
        raise TextclfError(f"unknown --data.encoding {encoding!r}: use a Python codec name such as latin-1 or gb18030") from err
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
        raise TextclfError(f"{where} is not valid {encoding or 'UTF-8'}: set --data.encoding to its encoding "
                           "(e.g. --data.encoding latin-1)") from err
    finally:
        if f is not sys.stdin:
            f.close()


def _from_rows(rows: list[dict], first: int, cols: list[str]) -> Chunk:
    texts = []
    for row in rows:
        text = " ".join(str(row[c]) for c in cols if row.get(c) is not None and str(row[c]).strip())
        texts.append(text if text.strip() else None)
    others = [c for c in (rows[0] if rows else {}) if c not in cols]
    return Chunk(texts, first, {c: [row.get(c) for row in rows] for c in others})


def _text_columns(names: list[str], text_column: str | None, path: str) -> list[str]:
    from textclf.data.columns import resolve_columns

    return resolve_columns(names, text_column, None, path, need_label=False)[0]


def _parquet(path: str, text_column: str | None, chunk: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    cols = _text_columns(f.schema_arrow.names, text_column, path)
    first = 1
    for batch in f.iter_batches(batch_size=chunk):
        rows = batch.to_pylist()
        yield _from_rows(rows, first, cols)
        first += len(rows)


def _csv(path: str, text_column: str | None, encoding: str | None, chunk: int, tsv: bool) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        with open(path, encoding=encoding or "utf-8", newline="") as f:
            header = next(csv.reader(f, delimiter="\t" if tsv else ","), [])
    except UnicodeDecodeError as err:
        raise TextclfError(f"{path} is not valid {encoding or 'UTF-8'}: set --data.encoding to its encoding "
                           "(e.g. --data.encoding latin-1)") from err
    cols = _text_columns(header, text_column, path)
    parse = pcsv.ParseOptions(delimiter="\t", quote_char=False) if tsv else pcsv.ParseOptions()
    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(encoding=encoding or "utf8", block_size=1 << 20),
                           parse_options=parse,
                           convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header}))
    first, rows = 1, []
    try:
        for batch in reader:
            rows += batch.to_pylist()
            while len(rows) >= chunk:
                yield _from_rows(rows[:chunk], first, cols)
                first, rows = first + chunk, rows[chunk:]
    except pa.ArrowInvalid as err:
        raise TextclfError(f"{path} cannot be read as {'TSV' if tsv else 'CSV'}: {str(err).splitlines()[0]}") from err
    if rows:
        yield _from_rows(rows, first, cols)


def _json(path: str, text_column: str | None, encoding: str | None, chunk: int, lines: bool) -> Iterator[Chunk]:
    try:
        with open(path, encoding=encoding or "utf-8") as f:
            if lines:
                records = (json.loads(line) for line in f if line.strip())
            else:
                data = json.load(f)
                records = iter(data if isinstance(data, list) else data.get("data", []))
            first, rows, cols = 1, [], None
            for record in records:
                cols = cols or _text_columns(list(record), text_column, path)
                rows.append(record)
                if len(rows) == chunk:
                    yield _from_rows(rows, first, cols)
                    first, rows = first + chunk, []
            if rows:
                yield _from_rows(rows, first, cols)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TextclfError(f"{path} is not valid {'JSON lines' if lines else 'JSON'} in {encoding or 'UTF-8'}: "
                           f"{err} (set --data.encoding if it is not UTF-8)") from err


class Writer:
    """Records to --output (or stdout), in the format its extension names, via a temporary file."""

    def __init__(self, path: str | None, label_names: list[str]):
        ext = os.path.splitext(path)[1].lower() if path else ".jsonl"
        if path and ext not in OUTPUTS:
            raise TextclfError(f"--output {path}: write {', '.join(OUTPUTS)} (e.g. --output predictions.csv)")
        self.path, self.ext, self.labels = path, ext, label_names
        self.tmp = f"{path}.tmp-{os.getpid()}" if path else None
        self._parquet = self._csv = None
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if ext == ".parquet":
            self.file = None
        else:
            self.file = open(self.tmp, "w", encoding="utf-8", newline="") if path else sys.stdout

    def write(self, records: list[dict], columns: dict[str, list]) -> None:
        if self.ext == ".jsonl":
            lines = io.StringIO()
            for i, r in enumerate(records):
                lines.write(json.dumps({**{c: v[i] for c, v in columns.items()}, **r}, ensure_ascii=False, default=str))
                lines.write("\n")
            self.file.write(lines.getvalue())
            return
        own = ["text", *(k for k in (records[0] if records else {}) if k not in ("text", "label", "score", "probs")),
               "label", "score"]  # evaluate's records add the gold label
        table = {c: v for c, v in columns.items() if c not in own}
        table.update({k: [r[k] for r in records] for k in own})
        for name in self.labels:
            table[f"prob_{name}"] = [(r["probs"] or {}).get(name) for r in records]
        if self.ext == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                known = {"text": pa.string(), "gold": pa.string(), "label": pa.string(), "score": pa.float64(),
                         **{f"prob_{n}": pa.float64() for n in self.labels}}
                fields = []
                for name, values in table.items():
                    kind = known.get(name) or pa.array(values).type
                    fields.append(pa.field(name, pa.string() if pa.types.is_null(kind) else kind))
                self._parquet = pq.ParquetWriter(self.tmp, pa.schema(fields))
            self._parquet.write_table(pa.table(table, schema=self._parquet.schema))
            return
        if self._csv is None:
            self._csv = csv.writer(self.file, delimiter="\t" if self.ext == ".tsv" else ",")
            self._csv.writerow(list(table))
        self._csv.writerows(zip(*table.values()))

    def close(self, ok: bool) -> None:
        """Rename the finished file over --output (ok), or remove it (a failure: --output is untouched)."""
        if self._parquet is not None:
            self._parquet.close()
        if self.file is not None and self.file is not sys.stdout:
            self.file.close()
        if self.tmp and os.path.exists(self.tmp):
            if ok:
                os.replace(self.tmp, self.path)
            else:
                os.remove(self.tmp)


def predict_chunks(clf: Predictions, chunks: Iterable[Chunk], writer: Writer, source: str, where: str,
                   strict: bool = False, top_k: int | None = None, batch_size: int | None = None) -> list[int]:
    """Predict every chunk and write its records; returns the line/row numbers of the empty texts, which
    get a null prediction (with `strict`, the first is an error naming it). `source` and `where`
    ("line" or "row") name the input in messages."""
    empty = []
    for chunk in chunks:
        blank = [i for i, t in enumerate(chunk.texts) if t is None or not t.strip()]
        if blank and strict:
            raise TextclfError(f"{where} {chunk.first + blank[0]} of {source} is empty: "
                               "fill it in or remove it, or drop --strict to get a null prediction for it")
        empty += [chunk.first + i for i in blank]
        keep = [i for i, t in enumerate(chunk.texts) if t is not None and t.strip()]
        found = dict(zip(keep, clf.predict([chunk.texts[i] for i in keep], top_k=top_k, batch_size=batch_size)
                         if keep else []))
        records = [found.get(i) or {"text": t or "", "label": None, "score": None, "probs": None}
                   for i, t in enumerate(chunk.texts)]
        writer.write(records, chunk.columns)
    return empty


def write_vectors(path: str, vectors, texts: list[str], columns: dict[str, list]) -> None:
    """vectors.npy, or a Parquet table of the text, the input's other columns and the vectors; an earlier
    file stays whole if the write fails."""
    import numpy as np

    from textclf.model.checkpoint import write_whole

    def write(tmp: str) -> None:
        if path.lower().endswith(".npy"):
            with open(tmp, "wb") as f:
                np.save(f, vectors)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = {"text": texts, **{c: v for c, v in columns.items() if c != "text"},
                 "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])}
        pq.write_table(pa.table(table), tmp)

    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_whole(path, write)
    except OSError as err:
        raise TextclfError(f"cannot write {path}: {err.strerror}") from err
