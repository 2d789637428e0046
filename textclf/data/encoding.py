"""Text -> token ids with `Dataset.map` (cached by datasets), truncation, and token-length statistics."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from textclf.errors import TextclfError

if TYPE_CHECKING:  # imported where used: prediction encodes without it (about 1 s less start-up)
    import datasets

log = logging.getLogger(__name__)

TRUNCATION_SIDES = ("head", "tail", "head+tail")


def truncate(ids: list[int], max_length: int, side: str) -> list[int]:
    """Keep `max_length` ids: the start (`head`), the end (`tail`), or a quarter from the start and the
    rest from the end (`head+tail`, after Sun et al. 2019, who found it best for long reviews)."""
    if len(ids) <= max_length:
        return ids
    if side == "head":
        return ids[:max_length]
    if side == "tail":
        return ids[-max_length:]
    head = max_length // 4
    return ids[:head] + ids[len(ids) - (max_length - head):]


def encode_texts(tokenizer: Tokenizer, texts: list[str], max_length: int, side: str) -> list[list[int]]:
    """Token ids of each text, truncated; the one encoding path of training, evaluation and prediction."""
    return [truncate(e.ids, max_length, side) for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


def check_truncation(side: str) -> None:
    if side not in TRUNCATION_SIDES:
        raise TextclfError(f"unknown --data.truncation {side!r}: choose one of {', '.join(TRUNCATION_SIDES)}")


def encode_split(
    ds: datasets.Dataset, tokenizer: Tokenizer, tokenizer_key: str, max_length: int, side: str, split: str
) -> datasets.Dataset:
    """Add `ids`, `length` (after truncation) and `full_length`; cached under a key of data + tokenizer + settings."""
    import datasets

    check_truncation(side)
    fingerprint = datasets.fingerprint.Hasher.hash((ds._fingerprint, tokenizer_key, max_length, side, "encode-v1"))
    cached = _cache_exists(ds, fingerprint)

    def encode(batch):
        full = tokenizer.encode_batch_fast(batch["text"], add_special_tokens=False)
        ids = [truncate(e.ids, max_length, side) for e in full]
        return {"ids": ids, "length": [len(x) for x in ids], "full_length": [len(e.ids) for e in full]}

    out = ds.map(encode, batched=True, batch_size=2000, new_fingerprint=fingerprint, desc=f"tokenize ({split})")
    log.info("%s split: %s", split, "token ids loaded from the datasets cache" if cached else "tokenized")
    return out


def _cache_exists(ds: datasets.Dataset, fingerprint: str) -> bool:
    if not ds.cache_files:
        return False
    folder = os.path.dirname(ds.cache_files[0]["filename"])
    return os.path.exists(os.path.join(folder, f"cache-{fingerprint}.arrow"))


def length_stats(full_lengths: np.ndarray, max_length: int) -> dict[str, float]:
    """Mean, median, p95 and max token count before truncation, and the share of texts truncated."""
    return {
        "mean": float(full_lengths.mean()),
        "p50": float(np.percentile(full_lengths, 50)),
        "p95": float(np.percentile(full_lengths, 95)),
        "max": int(full_lengths.max()),
        "truncated": float((full_lengths > max_length).mean()),
    }
