"""What predict, embed and evaluate show while they work on many texts, and the line each ends with.

On a terminal (stderr is a TTY) a bar counts the texts done, with texts/s and the time left when the
total is known; into a file or a pipe nothing is drawn, so logs stay clean. Either way the command ends
with one line on stderr: how many texts, where the output went, and how fast.
"""

from __future__ import annotations

import os
import sys
import time


class TextProgress:
    """`with TextProgress("predict", total) as bar: ... bar.advance(n)`; `bar.done(where)` prints the last line."""

    def __init__(self, command: str, total: int | None = None, show: bool | None = None):
        self.command, self.total, self.count = command, total, 0
        self.show = sys.stderr.isatty() if show is None else show
        self._bar = self._task = None

    def __enter__(self) -> TextProgress:
        self.started = time.perf_counter()
        if self.show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(f"{self.command}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.command, total=self.total, rate="")
        return self

    def advance(self, n: int) -> None:
        self.count += n
        if self._bar is not None:
            rate = self.count / max(time.perf_counter() - self.started, 1e-9)
            total = max(self.total, self.count) if self.total is not None else None
            self._bar.update(self._task, completed=self.count, total=total, rate=f"{rate:,.0f} texts/s")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
        self.seconds = time.perf_counter() - self.started

    def done(self, where: str | None, what: str = "texts") -> None:
        """`textclf predict: 5,452 texts -> labelled.csv in 1.2s (4,540 texts/s)` on stderr (the time from
        the first text read to the last written)."""
        rate = self.count / max(self.seconds, 1e-9)
        print(f"textclf {self.command}: {self.count:,} {what}{f' -> {where}' if where else ''} in {self.seconds:.1f}s "
              f"({rate:,.0f} texts/s)", file=sys.stderr)


def bar_wanted(output: str | None) -> bool:
    """A bar on a terminal, unless the command's records go to that same terminal (no --output)."""
    return sys.stderr.isatty() and (bool(output) or not sys.stdout.isatty())


def count_texts(path: str | None, given: list[str]) -> int | None:
    """How many texts the input holds, where that is cheap to know: texts given as arguments, a Parquet
    file's row count, the lines of a .txt or .jsonl file (a CSV/TSV line count less its header, a close
    estimate when no text spans lines); None for stdin and .json."""
    if not path:
        return len(given)
    if path == "-" or not os.path.isfile(path):
        return None
    ext = os.path.splitext(path)[1].lower()
    if ext == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # an unreadable file: the reader says what is wrong with it
            return None
    if ext == ".json":
        return None
    with open(path, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    return max(lines - (ext in (".csv", ".tsv")), 0)
