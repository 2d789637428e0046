import numpy as np
import pytest
from conftest import DATA

from textclf.data.encoding import TRUNCATION_SIDES, TextEncoder
from textclf.data.latin1_words import Latin1Words
from textclf.data.prepare import load_splits
from textclf.data.tokenizer import train_tokenizer


def truncated(ids: list[int], max_length: int, side: str) -> list[int]:
    if len(ids) <= max_length:
        return ids
    head = {"head": max_length, "tail": 0, "head+tail": max_length // 4}[side]
    return ids[:head] + ids[len(ids) - (max_length - head):]


@pytest.fixture(scope="module")
def mixed():
    """English (the Latin-1 fast path), Chinese and a written-out [UNK] (`tokenizers`), interleaved."""
    en, _ = load_splits(str(DATA / "sst2"))
    zh, _ = load_splits(str(DATA / "chnsenticorp"))
    texts = [t for pair in zip(en["train"]["text"][:300], zh["train"]["text"][:300]) for t in pair]
    texts[6] = "a [UNK] in the text"  # in place of an English text
    tok = train_tokenizer(en["train"]["text"][:] + zh["train"]["text"][:2000], "word")
    return tok, texts


@pytest.mark.parametrize("side", TRUNCATION_SIDES)
@pytest.mark.parametrize("max_length", [1, 9, 512])
def test_ids_are_tokenizers_ids_truncated(mixed, side, max_length):
    tok, texts = mixed
    enc = TextEncoder(tok, max_length, side)(texts)
    full = [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]
    assert enc.lists() == [truncated(ids, max_length, side) for ids in full]
    assert enc.full_lengths.tolist() == [len(ids) for ids in full]
    assert np.diff(enc.offsets).tolist() == [min(len(ids), max_length) for ids in full]


def test_the_fast_path_serves_large_calls_only(mixed, monkeypatch):
    tok, texts = mixed
    calls = []
    encode = Latin1Words.encode
    monkeypatch.setattr(Latin1Words, "encode", lambda self, t: calls.append(len(t)) or encode(self, t))
    encoder = TextEncoder(tok, 64, "head")
    encoder(texts[:TextEncoder.FAST_PATH_TEXTS - 1])
    assert calls == []
    encoder(texts)
    assert calls == [299]  # the English texts but the one with [UNK]; Chinese goes to tokenizers
