"""Unlabelled text for `textclf pretrain`: a corpus's texts, its held-out part, and long texts cut into
windows so that pretraining reads every token of them.

A corpus is any source `load_raw` reads (a text file of one text per line, CSV/TSV/JSONL/Parquet files or
folders, a hub dataset). Its train split is the text to learn from and its validation split, if it has
one, the held-out text (else a share of train is held out); a label column is ignored, and a test split
is never read: pretraining on text a model is later tested on would flatter it. A labelled dataset's
training texts may be added (`add_train`): its validation and test texts never are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datasets
import numpy as np

from textclf.data.columns import TEXT_COLUMNS, detect_column
from textclf.data.sources import load_raw
from textclf.errors import TextclfError

log = logging.getLogger(__name__)


@dataclass
class CorpusTexts:
    train: list[str]  # text to learn from
    held_out: list[str]  # text to measure the objective on, never learnt from


def load_corpus(path: str | None, name: str | None = None, revision: str | None = None,
                files: dict[str, str] | None = None, text_column: str | list[str] | None = None,
                encoding: str | None = None, add_train: str | None = None, val_fraction: float = 0.05,
                seed: int = 42) -> CorpusTexts:
    """The corpus's texts (empty ones dropped), with `add_train`'s training texts joined to train."""
    raw = load_raw(path, name, revision, files, encoding, labelled=False)
    where = ", ".join(files.values()) if files else str(path)
    if "test" in raw:
        log.info("corpus %s: its test split is left out (pretraining never reads test text)", where)
    if "train" not in raw:
        raise TextclfError(f"corpus {where} has no train split (it has {', '.join(raw)}): the text to pretrain on "
                           "is its train split, or one file given as --data.path")
    train = _texts(raw["train"], text_column, f"the train split of {where}")
    held_out = _texts(raw["validation"], text_column, f"the validation split of {where}") if "validation" in raw else None
    if add_train:
        added = load_raw(add_train, labelled=True)
        if "train" not in added:
            raise TextclfError(f"--data.add_train {add_train} has no train split (it has {', '.join(added)}): "
                               "give a labelled dataset with one; its validation and test texts are never added")
        extra = _texts(added["train"], None, f"the train split of {add_train}")
        log.info("corpus: %d texts of %s, and %d training texts of %s", len(train), where, len(extra), add_train)
        train = train + extra
    if held_out is None:
        if not 0 < val_fraction < 1:
            raise TextclfError(f"--data.val_fraction must be between 0 and 1, got {val_fraction}")
        order = np.random.default_rng(seed).permutation(len(train))
        n = max(1, int(round(val_fraction * len(train))))
        if n >= len(train):
            raise TextclfError(f"corpus {where} has {len(train)} text(s): too few to hold some out; give more text")
        held_out, train = [train[i] for i in order[:n]], [train[i] for i in np.sort(order[n:])]
    return CorpusTexts(train, held_out)


def _texts(ds: datasets.Dataset, text_column: str | list[str] | None, where: str) -> list[str]:
    if text_column is None:
        columns = [detect_column(ds.column_names, TEXT_COLUMNS, "text", where)]
    else:
        columns = [text_column] if isinstance(text_column, str) else list(text_column)
        for column in columns:
            if column not in ds.column_names:
                raise TextclfError(f"{where} has no text column {column!r}; its columns are {ds.column_names}: "
                                   "set --data.text_column")
    parts = [ds[c][:] for c in columns]
    texts = [" ".join(str(p) for p in row if p) for row in zip(*parts)]
    kept = [t for t in texts if t and not t.isspace()]
    if not kept:
        raise TextclfError(f"every text in {where} is empty: check --data.text_column")
    return kept


def windows(offsets: np.ndarray, size: int) -> np.ndarray:
    """Texts (offsets into one flat array of ids) cut into windows of at most `size` tokens: the windows'
    offsets into the same array. A text of 600 tokens and size 256 gives windows of 256, 256 and 88."""
    lengths = np.diff(offsets)
    pieces = np.maximum((lengths + size - 1) // size, 1)
    starts = np.repeat(offsets[:-1], pieces) + size * (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    ends = np.minimum(starts + size, np.repeat(offsets[1:], pieces))
    return np.concatenate([starts, ends[-1:]]) if len(starts) else offsets[:1].copy()
