"""Tiny Hugging Face models for tests: random weights, a few thousand parameters, a real tokenizer.json,
in the layout of a model folder (config.json, model.safetensors, tokenizer files), so that the pretrained
encoder is tested without downloading or installing any published weights."""

from __future__ import annotations

from pathlib import Path

SPECIALS = {"bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]}


def tiny_config(kind: str = "bert", vocab_size: int = 1000, max_positions: int = 128):
    import transformers

    common = {"vocab_size": vocab_size, "max_position_embeddings": max_positions}
    if kind == "bert":
        return transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=64, **common)
    if kind == "roberta":  # positions from pad_id + 1, pad id 1
        return transformers.RobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                          pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                          vocab_size=vocab_size, max_position_embeddings=max_positions + 2)
    if kind == "distilbert":
        return transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, **common)
    raise ValueError(kind)


def tiny_architecture(vocab_size: int, kind: str = "bert", max_positions: int = 512) -> dict:
    """The plain-values config of a tiny model: what a checkpoint stores as the pretrained encoder's architecture."""
    return tiny_config(kind, vocab_size, max_positions).to_dict()


def tiny_tokenizer(texts: list[str], kind: str = "bert", vocab_size: int = 1000):
    """A WordPiece (BERT, DistilBERT) or byte-level BPE (RoBERTa) tokenizer trained on `texts`, wrapped in the
    model's special tokens, as transformers' fast tokenizer."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = SPECIALS["roberta" if kind == "roberta" else "bert"]
    if kind == "roberta":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
        return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                    unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                                    cls_token="<s>", sep_token="</s>", model_max_length=128)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                                model_max_length=128)


def tiny_model_folder(folder: Path, texts: list[str], kind: str = "bert", seed: int = 0) -> Path:
    """Write a tiny model folder (random weights) whose tokenizer is trained on `texts`; returns it."""
    import torch
    import transformers

    tokenizer = tiny_tokenizer(texts, kind)
    torch.manual_seed(seed)
    model = transformers.AutoModel.from_config(tiny_config(kind, len(tokenizer)))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
