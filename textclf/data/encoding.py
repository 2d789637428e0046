"""Text -> token ids (`TextEncoder`), truncated; whole splits with `Dataset.map` (cached by datasets);
token-length statistics."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from textclf.data.latin1_words import Latin1Words
from textclf.data.tokenizer import PAD_ID
from textclf.errors import TextclfError

if TYPE_CHECKING:  # imported where used: prediction encodes without it (a slow import)
    import datasets

log = logging.getLogger(__name__)

TRUNCATION_SIDES = ("head", "tail", "head+tail")


@dataclass
class EncodedTexts:
    """Token ids of N texts, truncated, one text after the other."""

    flat: np.ndarray  # (total,) int64
    offsets: np.ndarray  # (N + 1,) text i is flat[offsets[i]:offsets[i + 1]]
    full_lengths: np.ndarray  # (N,) token counts before truncation

    def lists(self) -> list[list[int]]:
        return [a.tolist() for a in np.split(self.flat, self.offsets[1:-1])]


class TextEncoder:
    """Texts -> token ids, truncated: the one encoding path of training, evaluation and prediction.

    A pretrained model's tokenizer wraps each text in its special tokens (`prefix`, `suffix`: BERT's
    [CLS] ... [SEP]), added after truncation so that they are always there; `max_length` counts the
    text's own tokens. For textclf's `word` tokenizer, Latin-1 texts are encoded by
    textclf.data.latin1_words (the same ids, faster) once a call has FAST_PATH_TEXTS of them; the rest go
    through `tokenizers`."""

    FAST_PATH_TEXTS = 32  # fewer texts take `tokenizers` little time; the fast path first builds its tables (once)

    def __init__(self, tokenizer: Tokenizer, max_length: int, side: str, prefix: Sequence[int] = (),
                 suffix: Sequence[int] = ()):
        check_truncation(side)
        self.tokenizer, self.max_length, self.side = tokenizer, max_length, side
        self.prefix, self.suffix = list(prefix), list(suffix)
        self.pad_id = PAD_ID  # what batches of these ids are padded with (text_encoder_of sets a model's own)
        self._latin1_words: Latin1Words | None | bool = False  # False: not looked for yet

    def latin1_words(self) -> Latin1Words | None:
        if self._latin1_words is False:
            self._latin1_words = Latin1Words.of(self.tokenizer)
        return self._latin1_words

    def __call__(self, texts: Sequence[str]) -> EncodedTexts:
        texts = list(texts)
        parts = []  # (text indices, their ids one after the other, the count of each one's ids)
        rest = np.arange(len(texts))
        if len(texts) >= self.FAST_PATH_TEXTS and (words := self.latin1_words()) is not None:
            covered = np.fromiter(map(words.covers, texts), dtype=bool, count=len(texts))
            parts.append((rest[covered], *words.encode([t for t, c in zip(texts, covered) if c])))
            rest = rest[~covered]
        if len(rest):
            encoded = [e.ids for e in self.tokenizer.encode_batch_fast([texts[i] for i in rest], add_special_tokens=False)]
            counts = np.array([len(ids) for ids in encoded], dtype=np.int64)
            parts.append((rest, np.fromiter((t for ids in encoded for t in ids), dtype=np.int64, count=int(counts.sum())), counts))
        full_lengths = np.zeros(len(texts), dtype=np.int64)
        for indices, _, counts in parts:
            full_lengths[indices] = counts
        starts = np.cumsum(full_lengths) - full_lengths
        full = np.empty(int(full_lengths.sum()), dtype=np.int64)
        for indices, ids, counts in parts:  # each id to its text's place
            full[np.repeat(starts[indices] - (np.cumsum(counts) - counts), counts) + np.arange(len(ids))] = ids
        keep = truncation_mask(full_lengths, self.max_length, self.side)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.minimum(full_lengths, self.max_length), out=offsets[1:])
        flat = full[keep]
        if self.prefix or self.suffix:
            flat, offsets = wrap(flat, offsets, self.prefix, self.suffix)
        return EncodedTexts(flat, offsets, full_lengths)


def wrap(flat: np.ndarray, offsets: np.ndarray, prefix: Sequence[int], suffix: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every text's ids (flat, offsets) with `prefix` before and `suffix` after them."""
    p, s = len(prefix), len(suffix)
    kept = np.diff(offsets)
    new_offsets = np.zeros_like(offsets)
    np.cumsum(kept + p + s, out=new_offsets[1:])
    out = np.empty(int(new_offsets[-1]), dtype=np.int64)
    # each id moves by its text's new start, past the prefix
    out[np.repeat(new_offsets[:-1] + p - offsets[:-1], kept) + np.arange(len(flat))] = flat
    for j, token in enumerate(prefix):
        out[new_offsets[:-1] + j] = token
    for j, token in enumerate(suffix):
        out[new_offsets[1:] - s + j] = token
    return out, new_offsets


def text_encoder_of(tokenizer_json: str, preprocessing: dict, where: str = "the checkpoint") -> TextEncoder:
    """The TextEncoder a checkpoint's archive describes: its tokenizer and preprocessing (max_length,
    truncation, and a model's own special tokens and pad id; archives from before those were recorded
    truncated at the head, and padded with textclf's [PAD] = 0)."""
    from textclf.data.tokenizer import tokenizer_from_json

    pad_id = preprocessing.get("pad_id")
    tokenizer = tokenizer_from_json(tokenizer_json, where, pad_id=pad_id)
    encoder = TextEncoder(tokenizer, int(preprocessing.get("max_length", 512)), preprocessing.get("truncation", "head"),
                          preprocessing.get("prefix", ()), preprocessing.get("suffix", ()))
    encoder.pad_id = PAD_ID if pad_id is None else int(pad_id)
    return encoder


def truncation_mask(lengths: np.ndarray, max_length: int, side: str) -> np.ndarray:
    """Which of the texts' ids (all texts' one after the other) to keep: of a text longer than
    `max_length`, the start (`head`), the end (`tail`), or a quarter from the start and the rest from
    the end (`head+tail`, after Sun et al. 2019, who found it best for long reviews)."""
    n = np.repeat(lengths, lengths)  # each id's text length
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    pos = np.arange(len(n)) - np.repeat(starts, lengths)  # each id's position in its text
    head = {"head": max_length, "tail": 0, "head+tail": max_length // 4}[side]
    return (n <= max_length) | (pos < head) | (pos >= n - (max_length - head))


def check_truncation(side: str) -> None:
    if side not in TRUNCATION_SIDES:
        raise TextclfError(f"unknown --data.truncation {side!r}: choose one of {', '.join(TRUNCATION_SIDES)}")


def encode_split(ds: datasets.Dataset, encoder: TextEncoder, tokenizer_key: str, split: str) -> datasets.Dataset:
    """Add `ids`, `length` (after truncation) and `full_length`; cached under a key of data + tokenizer + settings."""
    import datasets

    # the ids are the same as before the Latin-1 fast path, so "encode-v1" caches stay valid
    key = (ds._fingerprint, tokenizer_key, encoder.max_length, encoder.side, "encode-v1")
    fingerprint = datasets.fingerprint.Hasher.hash(key)
    cached = _cache_exists(ds, fingerprint)

    def encode(batch):
        enc = encoder(batch["text"])
        return {"ids": enc.lists(), "length": np.diff(enc.offsets).tolist(), "full_length": enc.full_lengths.tolist()}

    out = ds.map(encode, batched=True, batch_size=2000, new_fingerprint=fingerprint, desc=f"tokenize ({split})")
    log.debug("%s split: %s", split, "token ids loaded from the datasets cache" if cached else "tokenized")
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
