import pytest
from conftest import DATA

from textclf.data.prepare import load_splits
from textclf.data.tokenizer import (
    PAD_ID,
    TOKENIZERS,
    load_tokenizer_file,
    tokenizer_from_json,
    train_tokenizer,
)
from textclf.errors import TextclfError

TEXTS = ["The film was GREAT, really great!", "Don't watch it.", "这家酒店很好", "a plain sentence"] * 10


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_every_kind_trains_with_pad_zero_and_unk(kind):
    tok = train_tokenizer(TEXTS, kind, vocab_size=200)
    assert tok.token_to_id("[PAD]") == PAD_ID
    assert tok.token_to_id("[UNK]") == 1
    ids = tok.encode("The film was great").ids
    assert ids and PAD_ID not in ids


def test_word_tokenizer_splits_punctuation_lowercases_and_cjk_per_character():
    tok = train_tokenizer(TEXTS, "word")
    assert tok.encode("GREAT, film!").tokens == ["great", ",", "film", "!"]
    assert tok.encode("酒店很好").tokens == ["酒", "店", "很", "好"]
    assert tok.encode("zebra").tokens == ["[UNK]"]


def test_chinese_data_tokenizes_per_character():
    splits, _ = load_splits(str(DATA / "chnsenticorp"))
    text = splits["train"]["text"][0]
    tok = train_tokenizer(splits["train"]["text"][:2000], "word")
    tokens = tok.encode(text).tokens
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    assert [t for t in tokens if len(t) == 1 and "\u4e00" <= t <= "\u9fff"] == han


def test_char_tokenizer_one_token_per_character():
    tok = train_tokenizer(TEXTS, "char")
    assert tok.encode("a film").tokens == list("a film")


def test_subword_vocab_size_is_respected():
    tok = train_tokenizer(TEXTS * 5, "wordpiece", vocab_size=60)
    assert tok.get_vocab_size() <= 60
    tok = train_tokenizer(TEXTS * 5, "bpe", vocab_size=60)
    assert tok.get_vocab_size() <= 60


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_json_round_trip_reproduces_the_tokenizer(kind, tmp_path):
    tok = train_tokenizer(TEXTS, kind, vocab_size=300)
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str(), encoding="utf-8")
    again = load_tokenizer_file(str(path))
    for text in TEXTS[:4] + ["unseen words 未见"]:
        assert again.encode(text).ids == tok.encode(text).ids


def test_min_frequency_sends_rare_words_to_unk():
    tok = train_tokenizer(["common common rare"], "word", min_frequency=2)
    assert tok.encode("rare").tokens == ["[UNK]"]
    assert tok.encode("common").tokens == ["common"]


def test_bad_tokenizer_json_is_a_clear_error(tmp_path):
    with pytest.raises(TextclfError, match="not a valid tokenizer"):
        tokenizer_from_json("{not json")
    with pytest.raises(TextclfError, match="cannot read tokenizer file"):
        load_tokenizer_file(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("name", ["sst2", "trec", "chnsenticorp"])
def test_one_regex_splits_exactly_like_whitespace_punctuation_and_cjk_steps(name):
    """The word pre-tokenizer is one regex for speed; its pieces must be those of the three-step pipeline."""
    import datasets

    from textclf.data.tokenizer import _word_pre_tokenizer, word_pre_tokenizer_in_steps

    steps = word_pre_tokenizer_in_steps()
    texts = datasets.load_dataset(str(DATA / name), split="train")["text"][:3000] + [
        "Hi,  it's $5\t— «great»!\u00a0好看吗？한국어 テスト x+y=z… ¿qué? [a]{b}<c> ~`|^_\\"]
    one = _word_pre_tokenizer()
    for text in texts:
        assert one.pre_tokenize_str(text) == steps.pre_tokenize_str(text), text
