"""The `word` tokenizer's ids for Latin-1 texts (English and most Western European text), computed with
numpy: the same ids as `tokenizers`, several times faster.

textclf's `word` tokenizer (textclf.data.tokenizer) normalizes with NFKC (and lowercase), cuts the text
into single punctuation signs and runs of other non-space characters, and looks each piece up in its
vocabulary. On Latin-1 characters all three steps act one character at a time, so a table of 256
entries, read off the tokenizer itself, says what each byte becomes and whether it is a space, stands
alone or joins a run. A whole batch of texts is then tokenized with a few array operations: the piece
bounds from the byte classes, and each piece of up to 16 bytes, packed into two 64-bit words, looked up
in a hash table of the vocabulary.

It is a second implementation of the `word` tokenizer: tests/test_latin1_words.py fails if the two
ever give different ids (every Latin-1 character, real datasets) or if the tokenizer's recipe changes
(`word_recipe`). Figures: bench/README.md. Texts it does not cover exactly (a character beyond Latin-1 or one NFKC expands, such as ½ or ´, a NUL
byte, a special token such as [UNK] written out) and other tokenizers go through `tokenizers`; tests
check the ids on every Latin-1 character and on real datasets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import compress

import numpy as np
from tokenizers import Tokenizer

from textclf.data.tokenizer import UNK, word_recipe

SPACE, ALONE, JOINS = 0, 1, 2  # byte classes: splits, a piece by itself (punctuation), joins a run
CHUNK_CHARS = 1 << 18  # characters per pass: chunks that stay in cache were measured faster than one pass
PACKED_BYTES = 16  # longer pieces, rare in natural text, are looked up one by one in the vocabulary dict
# MASKS[k] keeps the first k bytes of a little-endian 64-bit word
MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: multiply, keep the top bits


def _pack(data: bytes, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces data[start:start + length] (at most 16 bytes) as two little-endian 64-bit words each,
    zero-padded (no piece holds a NUL byte); longer pieces keep their first 16 bytes."""
    padded = data + b"\0" * PACKED_BYTES
    # every byte offset's next 8 bytes as one word: unaligned loads, with 16 bytes of slack at the end
    words8 = np.ndarray((len(data) + 8,), dtype="<u8", buffer=padded, strides=(1,))
    lo = words8[starts] & MASKS[np.minimum(lengths, 8)]
    hi = words8[starts + 8] & MASKS[np.clip(lengths - 8, 0, 8)]
    return lo, hi


def byte_tables(tokenizer: Tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """What the tokenizer's normalizer makes of each Latin-1 character (a byte, or -1 where it is not
    one Latin-1 character, or NUL) and the class its pre-tokenizer gives the result, asked one
    character at a time."""
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer else (lambda s: s)
    to = np.full(256, -1, dtype=np.int16)
    cls = np.full(256, JOINS, dtype=np.uint8)
    for b in range(1, 256):
        c = normalize(chr(b))
        if len(c) != 1 or ord(c) > 255 or c == "\0":
            continue
        pieces = [p for p, _ in tokenizer.pre_tokenizer.pre_tokenize_str(f"a{c}a")]
        kind = {("a", "a"): SPACE, ("a", c, "a"): ALONE, (f"a{c}a",): JOINS}.get(tuple(pieces))
        if kind is not None:
            to[b], cls[b] = ord(c), kind
    return to, cls


class Latin1Words:
    """Token ids of Latin-1 texts for a `word` tokenizer: `Latin1Words.of(tokenizer)`, then `encode(texts)`
    for the texts that `covers(text)`."""

    def __init__(self, tokenizer: Tokenizer, vocab: dict[str, int], unk_id: int, special_tokens: Sequence[str]):
        self.vocab, self.unk_id = vocab, unk_id
        # `tokenizers` matches a special token written out whole (case aside, to be safe): not covered
        self.specials = re.compile("|".join(re.escape(t) for t in special_tokens) or "(?!)", re.IGNORECASE)
        self.special_starts = {t[0].lower() for t in special_tokens if t} | {t[0].upper() for t in special_tokens if t}
        to, self.cls = byte_tables(tokenizer)
        self.to = to.clip(min=0).astype(np.uint8)  # byte -> normalized byte
        # texts with any character the tables do not cover (beyond Latin-1: by the range) go to `tokenizers`
        self.uncovered = re.compile("[^" + "".join(re.escape(chr(b)) for b in range(256) if to[b] >= 0) + "]")
        self.ascii_covered = bool((to[1:128] >= 0).all())  # then an ASCII text needs only the NUL check
        # no tuple per entry: tens of thousands of new containers would set off a full garbage collection
        keep = [bool(w) and len(w) <= PACKED_BYTES and max(w) <= "\xff" and "\0" not in w for w in vocab]
        bits = max(4, (4 * sum(keep)).bit_length())  # a table 4-8x the vocabulary: short probes
        self.shift, self.slot_mask = np.uint64(64 - bits), (1 << bits) - 1
        self.lo = np.zeros(1 << bits, dtype=np.uint64)
        self.hi = np.zeros(1 << bits, dtype=np.uint64)
        self.ids = np.full(1 << bits, -1, dtype=np.int64)  # -1: an empty slot
        if any(keep):
            self._insert(list(compress(vocab, keep)), list(compress(vocab.values(), keep)))

    @classmethod
    def of(cls, tokenizer: Tokenizer) -> Latin1Words | None:
        """The fast path for a tokenizer built by textclf's `word` recipe, else None (other kinds, and
        anything configured differently, keep `tokenizers`)."""
        spec = json.loads(tokenizer.to_str())
        model = spec.get("model") or {}
        if model.get("type") != "WordLevel" or model.get("unk_token") != UNK or UNK not in model.get("vocab", {}):
            return None
        recipes = [word_recipe(lowercase) for lowercase in (False, True)]
        if not any(spec.get("normalizer") == r["normalizer"] and spec.get("pre_tokenizer") == r["pre_tokenizer"]
                   for r in recipes):
            return None
        if any(spec.get(k) for k in ("post_processor", "truncation", "padding")):
            return None
        vocab = model["vocab"]
        return cls(tokenizer, vocab, vocab[UNK], [t["content"] for t in spec.get("added_tokens", [])])

    def covers(self, text: str) -> bool:
        """Whether `encode` gives this text the tokenizer's ids: Latin-1 characters the tables cover,
        and no special token written out (`tokenizers` would match it whole)."""
        if text.isascii() and self.ascii_covered:
            if "\0" in text:
                return False
        elif self.uncovered.search(text):  # beyond Latin-1 too
            return False
        return not (any(c in text for c in self.special_starts) and self.specials.search(text))

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of all texts one after the other (int64) and the count of each text's ids."""
        chunks, chunk, size = [], [], 0
        for t in texts:
            chunk.append(t)
            size += len(t)
            if size >= CHUNK_CHARS:
                chunks.append(self._encode(chunk))
                chunk, size = [], 0
        if chunk or not chunks:
            chunks.append(self._encode(chunk))
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if not texts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        # a space between texts: no piece runs from one text into the next
        buf = self.to[np.frombuffer(" ".join(texts).encode("latin-1"), dtype=np.uint8)]  # normalized
        data = buf.tobytes()
        cls = self.cls.take(buf)
        joins, alone = cls == JOINS, cls == ALONE
        joins_before = np.concatenate(([False], joins[:-1]))
        joins_after = np.concatenate((joins[1:], [False]))
        starts = np.flatnonzero(alone | (joins & ~joins_before))  # (P,) pieces in text order
        ends = np.flatnonzero(alone | (joins & ~joins_after)) + 1
        lengths = ends - starts
        ids = self._lookup(*_pack(data, starts, lengths))
        long = np.flatnonzero(lengths > PACKED_BYTES)
        if len(long):
            text, get = data.decode("latin-1"), self.vocab.get
            ids[long] = [get(text[a:b], self.unk_id) for a, b in zip(starts[long].tolist(), ends[long].tolist())]

        text_starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum([len(t) + 1 for t in texts[:-1]], out=text_starts[1:])
        which = np.searchsorted(text_starts, starts, side="right") - 1  # (P,) the text of each piece
        return ids, np.bincount(which, minlength=len(texts)).astype(np.int64)

    def _slots(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return ((lo ^ (hi * _MIX)) * _MIX) >> self.shift  # uint64 products wrap, as hashing wants

    def _insert(self, pieces: Sequence[str], ids: Sequence[int]) -> None:
        """Linear probing, all pieces at once: each round, the first piece aimed at each free slot takes
        it, and the rest move one slot on (every slot they pass is taken, as lookups expect)."""
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        starts = np.zeros(len(pieces), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        lo, hi = _pack("".join(pieces).encode("latin-1"), starts, lengths)
        ids = np.asarray(ids, dtype=np.int64)
        slots = self._slots(lo, hi).astype(np.int64)
        pending = np.arange(len(pieces))
        while len(pending):
            free = pending[self.ids[slots[pending]] < 0]
            _, first = np.unique(slots[free], return_index=True)
            won = free[first]
            self.lo[slots[won]], self.hi[slots[won]], self.ids[slots[won]] = lo[won], hi[won], ids[won]
            placed = np.zeros(len(pieces), dtype=bool)
            placed[won] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + 1) & self.slot_mask

    def _lookup(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Vocabulary ids of packed pieces (the unknown id where absent), probing all pieces at once."""
        ids = np.full(len(lo), self.unk_id, dtype=np.int64)
        slots = self._slots(lo, hi).astype(np.int64)
        pending = np.arange(len(lo))
        while len(pending):
            found = self.ids[slots]
            hit = (found >= 0) & (self.lo[slots] == lo[pending]) & (self.hi[slots] == hi[pending])
            ids[pending[hit]] = found[hit]
            probe = (found >= 0) & ~hit  # the slot holds another piece: try the next one
            pending, slots = pending[probe], (slots[probe] + 1) & self.slot_mask
        return ids
