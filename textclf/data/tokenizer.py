"""Tokenizers trained on the train split with Hugging Face `tokenizers`, serialised as one JSON string.

`word` splits on whitespace and punctuation and makes every CJK character its own token, so Chinese
works without a segmenter; `wordpiece` and `bpe` learn subwords; `char` keeps one token per character.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from textclf.errors import TextclfError

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
SPECIAL_TOKENS = [PAD, UNK]  # trainers assign ids in this order: [PAD]=0, [UNK]=1

# CJK ideographs, kana and hangul: scripts written without spaces, one token per character.
# A plain (not raw) string: the regex engine gets the characters themselves, not \\U escapes it reads wrongly.
CJK = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"


def _normalizer(lowercase: bool) -> normalizers.Normalizer:
    steps = [normalizers.NFKC()]
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


# Punctuation as the `Punctuation` pre-tokenizer has it: Unicode P* plus every ASCII punctuation sign.
PUNCT = r"\p{P}\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e"
# One token: a CJK character, a punctuation sign, or a run of anything else that is not whitespace.
WORD_PATTERN = f"{CJK}|[{PUNCT}]|[^\\s{CJK[1:-1]}{PUNCT}]+"


def _word_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Whitespace split, punctuation and CJK characters isolated, in one regex pass: the same pieces as
    `word_pre_tokenizer_in_steps()` (a test checks it on real data), faster (bench/README.md)."""
    return pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True)


def word_pre_tokenizer_in_steps() -> pre_tokenizers.PreTokenizer:
    """The word pre-tokenizer's definition as three steps, which the one regex must match (tests, bench)."""
    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated"),
                                    pre_tokenizers.Split(Regex(CJK), behavior="isolated")])


def _build(kind: str, vocab_size: int, min_frequency: int, lowercase: bool):
    common = {"vocab_size": vocab_size, "min_frequency": min_frequency, "special_tokens": SPECIAL_TOKENS, "show_progress": False}
    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = _word_pre_tokenizer()
        trainer = trainers.WordLevelTrainer(**common)
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.pre_tokenizer = _word_pre_tokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(**common)
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK, end_of_word_suffix="</w>"))
        tok.pre_tokenizer = _word_pre_tokenizer()
        tok.decoder = decoders.BPEDecoder(suffix="</w>")
        trainer = trainers.BpeTrainer(end_of_word_suffix="</w>", **common)
    elif kind == "char":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        trainer = trainers.WordLevelTrainer(**common)
    else:
        raise TextclfError(f"unknown tokenizer {kind!r}: choose one of {', '.join(TOKENIZERS)}")
    tok.normalizer = _normalizer(lowercase)
    return tok, trainer


TOKENIZERS = ("word", "wordpiece", "bpe", "char")


def word_recipe(lowercase: bool) -> dict:
    """The untrained `word` tokenizer as JSON (normalizer, pre-tokenizer, model type): what a trained
    tokenizer must match for textclf.data.latin1_words to encode for it."""
    tok, _ = _build("word", 2, 1, lowercase)
    return json.loads(tok.to_str())


def tokenizer_recipe(kind: str, vocab_size: int, min_frequency: int, lowercase: bool) -> str:
    """The untrained tokenizer's JSON (normalizer, pre-tokenizer, model type) and trainer settings:
    a cache key that changes whenever the way of tokenizing changes."""
    tok, _ = _build(kind, vocab_size, min_frequency, lowercase)
    return f"{tok.to_str()}|{vocab_size}|{min_frequency}"


def train_tokenizer(
    texts: Iterable[str] | Iterator[str],
    kind: str = "word",
    vocab_size: int = 30000,
    min_frequency: int = 1,
    lowercase: bool = True,
) -> Tokenizer:
    """Train a tokenizer of `kind` on `texts` (the train split only)."""
    tok, trainer = _build(kind, vocab_size, min_frequency, lowercase)
    tok.train_from_iterator(texts, trainer=trainer)
    if tok.token_to_id(PAD) != PAD_ID or tok.token_to_id(UNK) is None:
        raise AssertionError("special tokens must be [PAD]=0 and [UNK]")
    return tok


@dataclass
class GivenTokenizer:
    """A tokenizer a model brings (a pretrained model's own) instead of one trained on the data."""

    json: str  # the `tokenizers` JSON, without padding or truncation
    prefix: list[int]  # special tokens before every text (BERT's [CLS])
    suffix: list[int]  # and after it ([SEP])
    pad_id: int
    max_length: int  # the most tokens of a text the model takes: its positions less the special tokens
    name: str  # where it came from, for messages


def tokenizer_from_json(text: str, where: str = "tokenizer JSON", pad_id: int | None = None) -> Tokenizer:
    """Rebuild a tokenizer from its JSON string (as stored in a checkpoint or tokenizer.json). A textclf
    tokenizer pads with [PAD] = 0; a model's own (`pad_id` given) with its own pad token."""
    try:
        tok = Tokenizer.from_str(text)
    except Exception as err:
        raise TextclfError(f"{where} is not a valid tokenizer: {str(err).splitlines()[0]}") from err
    if pad_id is None and tok.token_to_id(PAD) != PAD_ID:
        raise TextclfError(f"{where} has no [PAD] token with id 0: train it with textclf")
    return tok


def load_tokenizer_file(path: str) -> Tokenizer:
    """Load a saved tokenizer.json (e.g. from an earlier run) to reuse instead of retraining."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise TextclfError(f"cannot read tokenizer file {path}: {err.strerror}") from err
    return tokenizer_from_json(text, where=path)
