"""Records and vectors out, for `textclf predict`, `evaluate --predictions` and `embed`, streamed in chunks.

By the extension of --output (JSON lines on stdout without one):
- .jsonl: one record per text: the input table's columns, then label, score, probs ({label: p}).
- .csv / .tsv / .parquet: the input table's columns, then label, score and one prob_<label> column per
  label (with --top_k, only the k most likely are filled).
Texts that came without a table (arguments, stdin, a .txt file) get a `text` column first. The input's
columns keep their names and order; a column the command adds never replaces one of them: where the
input has a column of one of its names (a labelled test file has `label`), every added name starts with
`pred_` (embed: `emb_`) and the command says so; `--prefix` chooses the prefix, and a name still taken
stops the command before it writes.
Output goes to a temporary file renamed over --output at the end (textclf.files), so a failed command
leaves an earlier file as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable

from textclf.errors import TextclfError
from textclf.files import write_whole
from textclf.serve.predictions import Predictions, in_slices
from textclf.serve.text_input import Chunk

OUTPUTS = (".jsonl", ".csv", ".tsv", ".parquet")


def added_names(added: list[str], columns: Iterable[str], prefix: str | None, fallback: str) -> dict[str, str]:
    """{added name: its name in the output}: `prefix` + the name when a prefix is given; else the name itself,
    or `fallback` + the name where the input has a column of one of the names. A name still taken is a
    one-line error naming --prefix."""
    columns = set(columns)
    for start in [prefix] if prefix is not None else ["", fallback]:
        names = {key: start + key for key in added}
        if not columns & set(names.values()):
            return names
    taken = sorted(columns & set(names.values()))
    raise TextclfError(f"the input already has a column {taken[0]!r}, a name this command writes: pass --prefix to "
                       f"name the added columns ({', '.join(added[:3])}, ...) apart, e.g. --prefix out_")


def renamed(names: dict[str, str]) -> str | None:
    """A line saying that the added columns were prefixed to keep the input's, or None when they were not."""
    moved = [v for k, v in names.items() if k != v]
    return f"the input has columns of the names this command adds: they are written as {', '.join(moved[:3])}" \
        f"{', ...' if len(moved) > 3 else ''} (--prefix chooses the prefix)" if moved else None


class Writer:
    """Records to --output (or stdout), in the format its extension names, via a temporary file.
    `prefix` starts the name of every column the command adds."""

    def __init__(self, path: str | None, label_names: list[str], prefix: str | None = None):
        ext = os.path.splitext(path)[1].lower() if path else ".jsonl"
        if path and ext not in OUTPUTS:
            raise TextclfError(f"--output {path}: write {', '.join(OUTPUTS)} (e.g. --output predictions.csv)")
        self.path, self.ext, self.labels, self.prefix = path, ext, label_names, prefix
        self.tmp = f"{path}.tmp-{os.getpid()}" if path else None
        self._parquet = self._csv = self._names = None
        self.renamed: str | None = None  # says how the added columns were named apart from the input's
        self.file = sys.stdout if not path else None
        if path and ext != ".parquet":
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                self.file = open(self.tmp, "w", encoding="utf-8", newline="")
            except OSError as err:
                raise TextclfError(f"cannot write {path}: {err.strerror}") from err

    def _plan(self, record: dict, columns: dict[str, list]) -> dict[str, str]:
        """The added columns' output names: the record's keys (its text only without a table), the
        probabilities as `probs` (JSON lines) or one prob_<label> column each."""
        added = [k for k in record if k != "probs" and not (columns and k == "text")]
        added += ["probs"] if self.ext == ".jsonl" else [f"prob_{name}" for name in self.labels]
        return added_names(added, columns, self.prefix, "pred_")

    def write(self, records: list[dict], columns: dict[str, list]) -> None:
        if not records:
            return
        if self._names is None:
            self._names = self._plan(records[0], columns)
            self.renamed = renamed(self._names) if self.prefix is None else None
        names = self._names
        if self.ext == ".jsonl":
            lines = io.StringIO()
            for i, r in enumerate(records):
                own = {names[k]: v for k, v in r.items() if k in names}
                lines.write(json.dumps({**{c: v[i] for c, v in columns.items()}, **own}, ensure_ascii=False, default=str))
                lines.write("\n")
            self.file.write(lines.getvalue())
            return
        table = dict(columns)
        table.update({names[k]: [r[k] for r in records] for k in records[0] if k in names})
        for key in ("labels", "gold"):  # a multi-label record's label lists: one cell of names, comma-separated
            if key in names and self.ext != ".parquet" and any(isinstance(v, list) for v in table[names[key]]):
                table[names[key]] = [",".join(v) if isinstance(v, list) else v for v in table[names[key]]]
        for name in self.labels:
            table[names[f"prob_{name}"]] = [(r["probs"] or {}).get(name) for r in records]
        if self.ext == ".parquet":
            self._write_parquet(table)
            return
        if self._csv is None:
            self._csv = csv.writer(self.file, delimiter="\t" if self.ext == ".tsv" else ",")
            self._csv.writerow(list(table))
        self._csv.writerows(zip(*table.values()))

    def _write_parquet(self, table: dict[str, list]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._parquet is None:
            lists = {k for k in ("gold", "labels") if k in self._names
                     and any(isinstance(v, list) for v in table[self._names[k]])}  # multi-label: lists of names
            known = {**{self._names[k]: pa.string() for k in ("text", "gold", "label", "labels") if k in self._names},
                     **{self._names[k]: pa.list_(pa.string()) for k in lists},
                     **{self._names[k]: pa.float64() for k in self._names if k == "score" or k.startswith("prob_")},
                     **({self._names["correct"]: pa.bool_()} if "correct" in self._names else {})}
            fields = []
            for name, values in table.items():
                kind = known.get(name) or pa.array(values).type
                fields.append(pa.field(name, pa.string() if pa.types.is_null(kind) else kind))
            try:
                self._parquet = pq.ParquetWriter(self.tmp, pa.schema(fields))
            except OSError as err:
                raise TextclfError(f"cannot write {self.path}: {err}") from err
        self._parquet.write_table(pa.table(table, schema=self._parquet.schema))

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
                   strict: bool = False, top_k: int | None = None, batch_size: int | None = None,
                   progress=None, threshold: float | None = None) -> list[int]:
    """Predict every chunk and write its records; returns the line/row numbers of the empty texts, which
    get a null prediction (with `strict`, the first is an error naming it). `source` and `where`
    ("line" or "row") name the input in messages. `progress(n)` is called as each n texts are done."""
    empty = []
    for chunk in chunks:
        blank = [i for i, t in enumerate(chunk.texts) if t is None or not t.strip()]
        if blank and strict:
            raise TextclfError(f"{where} {chunk.first + blank[0]} of {source} is empty: "
                               "fill it in or remove it, or drop --strict to get a null prediction for it")
        empty += [chunk.first + i for i in blank]
        keep = [i for i, t in enumerate(chunk.texts) if t is not None and t.strip()]
        found = {}
        if keep:  # in slices where a progress display follows (textclf.serve.predictions.in_slices)
            texts = [chunk.texts[i] for i in keep]
            probs = in_slices(lambda t: clf.predict_proba(t, batch_size), texts, progress)
            found = dict(zip(keep, clf.records(texts, probs, top_k, threshold)))
        if progress is not None and blank:
            progress(len(blank))
        records = [found.get(i) or clf.empty_record(t) for i, t in enumerate(chunk.texts)]
        writer.write(records, chunk.columns)
    return empty


def vector_names(columns: dict[str, list], prefix: str | None) -> dict[str, str]:
    """The columns embed adds to a Parquet file: `vector`, and `text` without an input table."""
    return added_names(["vector"] if columns else ["text", "vector"], columns, prefix, "emb_")


def write_vectors(path: str | None, vectors, texts: list[str], columns: dict[str, list], prefix: str | None = None) -> None:
    """vectors.npy, or a Parquet table or JSON lines (on stdout without a path) of the input table's columns
    (or the text, without a table) and a `vector` column; an earlier file stays whole if the write fails."""
    import numpy as np

    names = vector_names(columns, prefix)
    table = dict(columns) if columns else {names["text"]: texts}

    def json_lines(f) -> None:
        for i, row in enumerate(vectors.tolist()):
            record = {**{c: v[i] for c, v in table.items()}, names["vector"]: [round(x, 6) for x in row]}
            f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def write(tmp: str) -> None:
        if path.lower().endswith(".npy"):
            with open(tmp, "wb") as f:
                np.save(f, vectors)
        elif path.lower().endswith(".jsonl"):
            with open(tmp, "w", encoding="utf-8") as f:
                json_lines(f)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            vector = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
            pq.write_table(pa.table({**table, names["vector"]: vector}), tmp)

    if path is None:
        json_lines(sys.stdout)
    else:
        write_whole(path, write)
