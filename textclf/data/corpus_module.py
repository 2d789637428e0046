"""`CorpusDataModule`: the data of `textclf pretrain`, the unlabelled counterpart of TextDataModule.

setup loads the corpus (textclf.data.corpus), trains the tokenizer on its training text (or reuses a
saved one) with a [MASK] token added, encodes every text whole and cuts it into windows of max_length
tokens, and serves length-bucketed batches exactly as training does (the same sampler and loader).
"""

from __future__ import annotations

import logging
import time
from typing import Optional, Union

import lightning as L
import numpy as np
from tokenizers import Tokenizer

from textclf.data.batching import TokenizedSplit
from textclf.data.corpus import load_corpus, windows
from textclf.data.datamodule import bucketed_loader
from textclf.data.encoding import TextEncoder
from textclf.data.tokenizer import SPECIAL_TOKENS, TOKENIZERS, load_tokenizer_file, train_tokenizer
from textclf.errors import TextclfError, check_at_least, check_between

log = logging.getLogger(__name__)

WINDOW = 256  # tokens a pretraining window holds, by default
MASK = "[MASK]"  # the token that hides a position from a masked-token objective


class CorpusDataModule(L.LightningDataModule):
    def __init__(
        self,
        path: Optional[str] = None,
        name: Optional[str] = None,
        revision: Optional[str] = None,
        files: Optional[dict[str, str]] = None,
        text_column: Optional[Union[str, list[str]]] = None,
        encoding: Optional[str] = None,
        add_train: Optional[str] = None,
        tokenizer: str = "word",
        tokenizer_file: Optional[str] = None,
        vocab_size: int = 30000,
        min_frequency: int = 2,
        lowercase: bool = True,
        max_length: int = WINDOW,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        val_fraction: float = 0.05,
        seed: Optional[int] = None,
        bucket_batches: int = 50,
    ):
        """
        Args:
            path: the corpus: a text file (one text per line), a CSV/TSV/JSONL/Parquet file, a dataset
                folder or a hub id. Its train split is learnt from, its validation split (if any) held out;
                a label column is ignored, a test split never read.
            name: hub config name.
            revision: hub revision.
            files: one file per split, e.g. {train: a.txt}; overrides `path`.
            text_column: text column, or a list joined with a space; detected when unset.
            encoding: file encoding of text/CSV/JSON files that are not UTF-8.
            add_train: a labelled dataset (folder, file or hub id) whose training texts join the corpus (never
                its validation or test texts).
            tokenizer: word, wordpiece, bpe or char (fine-tuning later uses this tokenizer).
            tokenizer_file: a saved tokenizer.json to reuse instead of training one.
            vocab_size: the most tokens the tokenizer may keep.
            min_frequency: tokens seen fewer times become [UNK].
            lowercase: lowercase before tokenizing.
            max_length: window size: longer texts are cut into windows of this many tokens (none is dropped).
            batch_size: windows per training batch.
            eval_batch_size: windows per held-out batch.
            val_fraction: share of the corpus held out when it has no validation split.
            seed: seed of the held-out share; unset: the run's --seed.
            bucket_batches: batches per length-sorting chunk.
        """
        super().__init__()
        if tokenizer not in TOKENIZERS:
            raise TextclfError(f"unknown --data.tokenizer {tokenizer!r}: choose one of {', '.join(TOKENIZERS)}")
        for flag, value, low in (("batch_size", batch_size, 1), ("eval_batch_size", eval_batch_size, 1),
                                 ("max_length", max_length, 2), ("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 2),
                                 ("min_frequency", min_frequency, 1), ("bucket_batches", bucket_batches, 1)):
            check_at_least(f"--data.{flag}", value, low)
        check_between("--data.val_fraction", val_fraction, 0.0, 1.0)
        if path is None and not files:
            raise TextclfError("no corpus given: set --data.path (a text file, data file, dataset folder or hub id)")
        self.save_hyperparameters()
        self.tokenizer: Tokenizer | None = None
        self.splits: dict[str, TokenizedSplit] = {}
        self.tokens: dict[str, int] = {}
        self.setup_seconds = 0.0

    @property
    def source_name(self) -> str:
        import os

        src = self.hparams.path or next(iter(dict(self.hparams.files).values()))
        return os.path.splitext(os.path.basename(os.path.normpath(src)))[0] or "corpus"

    @property
    def tokenizer_json(self) -> str:
        return self.tokenizer.to_str()

    @property
    def mask_id(self) -> int:
        return self.tokenizer.token_to_id(MASK)

    @property
    def preprocessing(self) -> dict:
        # fine-tuning truncates as training does (head+tail); the windows were max_length long
        return {"max_length": self.hparams.max_length, "truncation": "head+tail"}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        start = time.perf_counter()
        hp = self.hparams
        texts = load_corpus(hp.path, hp.name, hp.revision, hp.files, hp.text_column, hp.encoding, hp.add_train,
                            hp.val_fraction, 42 if hp.seed is None else hp.seed)
        if hp.tokenizer_file:
            self.tokenizer = load_tokenizer_file(hp.tokenizer_file)
        else:
            self.tokenizer = train_tokenizer(iter(texts.train), hp.tokenizer, hp.vocab_size, hp.min_frequency, hp.lowercase)
        if self.tokenizer.token_to_id(MASK) is None:
            self.tokenizer.add_special_tokens([MASK])
        whole = TextEncoder(self.tokenizer, 10**9, "head")  # every token: long texts become several windows
        for split, part in (("train", texts.train), ("validation", texts.held_out)):
            enc = whole(part)
            self.splits[split] = TokenizedSplit(flat=enc.flat, offsets=windows(enc.offsets, hp.max_length))
            self.tokens[split] = int(enc.offsets[-1])
            lengths = self.splits[split].lengths
            log.info("%-10s %7d texts, %8d windows, %10d tokens, window mean %.1f", split, len(part), len(lengths),
                     self.tokens[split], float(np.mean(lengths)) if len(lengths) else 0.0)
        self.setup_seconds = time.perf_counter() - start
        log.info("corpus ready in %.1fs: vocabulary %d", self.setup_seconds, self.tokenizer.get_vocab_size())

    def train_dataloader(self):
        return bucketed_loader(self, self.splits["train"], shuffle=True)

    def val_dataloader(self):
        return bucketed_loader(self, self.splits["validation"], shuffle=False)
