"""JSON lines read one object per line, with the number of a line that is not one (training data and
predict's input both read them; no `datasets` import, so predict on texts stays quick to start)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from textclf.errors import TextclfError


def json_lines(lines: Iterable[str], path: str) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file, one per non-blank line; a line that is not one is a one-line
    error naming it."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise TextclfError(f"{path} line {number} is not valid JSON ({err.msg}): fix that line; a .jsonl file "
                               "holds one JSON object per line") from err
        if not isinstance(value, dict):
            raise TextclfError(f"{path} line {number} is a JSON {type(value).__name__}, not an object: a .jsonl file "
                               "holds one JSON object per line")
        yield value
