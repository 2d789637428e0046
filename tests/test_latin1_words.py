import numpy as np
import pytest
from conftest import DATA

from textclf.data.latin1_words import PACKED_BYTES, Latin1Words
from textclf.data.prepare import load_splits
from textclf.data.tokenizer import TOKENIZERS, train_tokenizer

LATIN1 = [chr(b) for b in range(1, 256)]


def hf_ids(tok, texts):
    return [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]


def fast_ids(words, texts):
    ids, counts = words.encode(texts)
    return [a.tolist() for a in np.split(ids, np.cumsum(counts)[:-1])]


@pytest.fixture(scope="module")
def sst2_texts():
    splits, _ = load_splits(str(DATA / "sst2"))
    return [t for s in splits.values() for t in s["text"]]


@pytest.fixture(scope="module", params=[True, False], ids=["lowercase", "cased"])
def word_tokenizer(request, sst2_texts):
    # every Latin-1 character in the vocabulary, alone and inside a word, so that ids are not all [UNK]
    extra = [f"{c} x{c}y {c.upper()}{c}" for c in LATIN1] + ["Supercalifragilisticexpialidocious " * 3]
    return train_tokenizer(sst2_texts[:3000] + extra, "word", lowercase=request.param)


def test_every_latin1_character_in_context_gets_the_tokenizers_ids(word_tokenizer):
    words = Latin1Words.of(word_tokenizer)
    texts = [t for c in LATIN1 for t in (c, f"x{c}y", f"A{c}{c} B.", f"{c}word{c}", f"Ab{c}", f"  {c}\t{c}CD ")]
    texts += ["", " ", "\r\n", "end"]  # texts without a piece, between others
    covered = [t for t in texts if words.covers(t)]
    assert fast_ids(words, covered) == hf_ids(word_tokenizer, covered)
    # all of ASCII but NUL, accented letters, NBSP, C1 controls (a space, \x85, among them) are covered;
    # characters NFKC expands (½, ´, µ to Greek) and NUL are not
    assert all(words.covers(c) for c in "aZ9 ,\t\x7féÉß\xa0\x85\x96«¿")
    assert not any(words.covers(c) for c in "½´µ\0€中")


def test_every_vocabulary_entry_is_found_in_the_hash_table(word_tokenizer):
    words = Latin1Words.of(word_tokenizer)
    vocab = {w: i for w, i in word_tokenizer.get_vocab().items() if words.covers(w) and w not in ("[PAD]", "[UNK]")}
    pieces = [w for w in vocab if hf_ids(word_tokenizer, [w]) == [[vocab[w]]]]  # entries that are one piece
    assert len(pieces) > 5000
    assert fast_ids(words, pieces) == [[vocab[w]] for w in pieces]
    assert max(map(len, pieces)) > PACKED_BYTES  # the dict path for long pieces is exercised too


def test_real_data_gets_the_same_ids_as_tokenizers(word_tokenizer, sst2_texts):
    splits, _ = load_splits(str(DATA / "trec"))
    texts = sst2_texts + [t for s in splits.values() for t in s["text"]]
    words = Latin1Words.of(word_tokenizer)
    covered = [t for t in texts if words.covers(t)]
    assert len(covered) > 0.99 * len(texts)
    assert fast_ids(words, covered) == hf_ids(word_tokenizer, covered)


def test_special_tokens_written_out_are_left_to_tokenizers(word_tokenizer):
    words = Latin1Words.of(word_tokenizer)
    assert not words.covers("a [UNK] film") and not words.covers("[pad]")
    assert words.covers("a [U N K] film")
    assert hf_ids(word_tokenizer, ["[UNK]"]) == [[1]]  # why: tokenizers matches it whole


@pytest.mark.parametrize("kind", [k for k in TOKENIZERS if k != "word"])
def test_other_tokenizers_keep_tokenizers(kind, sst2_texts):
    assert Latin1Words.of(train_tokenizer(sst2_texts[:500], kind, vocab_size=300)) is None


def test_a_word_tokenizer_configured_differently_keeps_tokenizers(sst2_texts):
    from tokenizers import normalizers

    tok = train_tokenizer(sst2_texts[:500], "word")
    assert Latin1Words.of(tok) is not None
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    assert Latin1Words.of(tok) is None
