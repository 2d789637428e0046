"""`TextDataModule`: the whole data pipeline behind one LightningDataModule.

prepare_data loads (and caches) the source; setup drops empty texts, carves missing splits, trains the
tokenizer on train (or reuses a saved one) and encodes every split. The model reads `vocab_size`,
`num_classes`, `label_names` and `tokenizer_json` from it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional, Union

import datasets
import lightning as L
import numpy as np
from tokenizers import Tokenizer

from textclf.data.batching import BucketBatchSampler, TokenizedSplit, collate_batch
from textclf.data.encoding import TextEncoder, check_truncation, encode_split, length_stats
from textclf.data.prepare import is_multi_label_split, load_splits
from textclf.data.sources import canonical_split, load_raw
from textclf.data.tokenizer import (
    PAD_ID,
    SPECIAL_TOKENS,
    TOKENIZERS,
    GivenTokenizer,
    load_tokenizer_file,
    tokenizer_from_json,
    tokenizer_recipe,
    train_tokenizer,
)
from textclf.errors import TextclfError, check_at_least, check_between

log = logging.getLogger(__name__)


@dataclass
class DataFacts:
    """What the network is sized and started from (textclf.training.module.LitTextClassifier.build)."""

    tokenizer_json: str
    label_names: list[str]
    preprocessing: dict  # max_length, truncation
    source: dict  # where the data came from (TextDataModule.source)
    vocab_size: int
    vocab: Callable[[], dict[str, int]]  # token -> id, for pretrained vectors (built only when asked)
    train_label_counts: list[int]  # for balanced class weights (multi-label: texts with each label)
    multi_label: bool = False  # several labels per text (textclf.data.multilabel)
    train_examples: int = 0


class TextDataModule(L.LightningDataModule):
    def __init__(
        self,
        path: Optional[str] = "data/sst2",
        name: Optional[str] = None,
        revision: Optional[str] = None,
        files: Optional[dict[str, str]] = None,
        text_column: Optional[Union[str, list[str]]] = None,
        label_column: Optional[str] = None,
        encoding: Optional[str] = None,
        tokenizer: str = "word",
        tokenizer_file: Optional[str] = None,
        vocab_size: int = 30000,
        min_frequency: int = 2,
        lowercase: bool = True,
        max_length: int = 512,
        truncation: str = "head+tail",
        batch_size: int = 64,
        eval_batch_size: int = 256,
        val_fraction: float = 0.1,
        test_fraction: float = 0.0,
        seed: Optional[int] = None,
        bucket_batches: int = 50,
        num_workers: int = 0,
        trust_labels: bool = False,
        multi_label: Optional[bool] = None,
        label_delimiter: str = ",",
    ):
        """
        Args:
            path: hub id (stanfordnlp/imdb), dataset folder (data/sst2) or one data file.
            name: hub config name.
            revision: hub revision (branch, tag or commit).
            files: one file per split, e.g. {train: a.csv, test: b.csv}; overrides `path`.
            text_column: text column, or a list joined with a space; detected when unset.
            label_column: label column; detected when unset.
            encoding: file encoding for CSV/TSV/JSON/TXT that are not UTF-8.
            tokenizer: word, wordpiece, bpe or char.
            tokenizer_file: a saved tokenizer.json to reuse instead of training one.
            vocab_size: the most tokens the tokenizer may keep (specials included).
            min_frequency: tokens seen fewer times in train become [UNK].
            lowercase: lowercase before tokenizing.
            max_length: the most tokens per text; longer texts are truncated.
            truncation: which tokens to keep: head, tail or head+tail (a quarter from the start, the rest
                from the end).
            batch_size: training batch size (per device).
            eval_batch_size: batch size of validation, test and prediction.
            val_fraction: share of train carved out as validation when the source has none.
            test_fraction: share of train carved out as test when the source has none (0: no test).
            seed: seed of carved splits; unset: the run's --seed. Batch order follows the run's --seed.
            bucket_batches: batches per length-sorting chunk; larger means less padding, less randomness.
            num_workers: DataLoader workers; 0 collates in the training process (fastest on few cores).
            trust_labels: take the label column's values as classes even where they look like scores or ids
                (numbers with decimals, hundreds of numbers, mostly one example per class).
            multi_label: several labels per text; unset: yes when the label column holds lists (JSON arrays,
                Parquet lists, Sequence(ClassLabel), fastText lines with several tags); true: also cut
                strings at label_delimiter (a CSV's `joy,surprise`); false: one label per text.
            label_delimiter: what separates the labels of a text in a string column (with multi_label true).
        """
        super().__init__()
        if tokenizer not in TOKENIZERS:
            raise TextclfError(f"unknown --data.tokenizer {tokenizer!r}: choose one of {', '.join(TOKENIZERS)}")
        check_truncation(truncation)
        for flag, value, low in (("batch_size", batch_size, 1), ("eval_batch_size", eval_batch_size, 1),
                                 ("max_length", max_length, 1), ("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1),
                                 ("min_frequency", min_frequency, 1), ("bucket_batches", bucket_batches, 1),
                                 ("num_workers", num_workers, 0)):
            check_at_least(f"--data.{flag}", value, low)
        check_between("--data.val_fraction", val_fraction, 0.0, 1.0)
        check_between("--data.test_fraction", test_fraction, 0.0, 1.0)
        self.save_hyperparameters()
        if files:
            self.hparams.path = None  # the files are the data: the default path must not name the run or its errors
        self.tokenizer: Tokenizer | None = None
        self.given: GivenTokenizer | None = None  # a model's own tokenizer (`use_tokenizer`)
        self.label_names: list[str] = []
        self.multi_label = False  # known after setup: several labels per text
        self.splits: dict[str, TokenizedSplit] = {}
        self.stats: dict[str, dict] = {}
        self.texts: dict[str, list[str]] = {}
        self.report_splits = True  # each split's line at INFO (textclf data prints them as a table instead)
        self.setup_seconds = 0.0

    @property
    def source_name(self) -> str:
        """A short name of the data source, used in run directory names."""
        files = dict(self.hparams.files or {})
        train = next((f for split, f in files.items() if canonical_split(split) == "train"), None)
        src = self.hparams.path or train or next(iter(files.values()), "data")
        return os.path.splitext(os.path.basename(os.path.normpath(src)))[0] or "data"

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def tokenizer_json(self) -> str:
        return self.tokenizer.to_str()

    @property
    def max_length(self) -> int:
        """The most tokens a text keeps: --data.max_length, or fewer where a model's tokenizer takes fewer."""
        return min(self.hparams.max_length, self.given.max_length) if self.given else self.hparams.max_length

    @property
    def preprocessing(self) -> dict:
        """What prediction must repeat, besides the tokenizer, to see text as training did (stored in the checkpoint)."""
        pre = {"max_length": self.max_length, "truncation": self.hparams.truncation}
        if self.given:
            pre.update(prefix=list(self.given.prefix), suffix=list(self.given.suffix), pad_id=self.given.pad_id)
        return pre

    @property
    def pad_id(self) -> int:
        return self.given.pad_id if self.given else PAD_ID

    def use_tokenizer(self, given: GivenTokenizer) -> None:
        """Tokenize with a model's own tokenizer (a pretrained model's) instead of training one; before setup."""
        if given.max_length < self.hparams.max_length:
            log.info("max_length %d: the most %s takes (--data.max_length is %d)", given.max_length, given.name,
                     self.hparams.max_length)
        self.given = given

    def facts(self) -> DataFacts:
        """What the model is built from, once the data is set up."""
        return DataFacts(self.tokenizer_json, list(self.label_names), self.preprocessing, self.source,
                         self.tokenizer.get_vocab_size(), self.tokenizer.get_vocab,
                         self.label_counts("train"), self.multi_label, len(self.splits["train"]))

    def label_counts(self, split: str) -> list[int]:
        """Examples of each class in `split` (multi-label: texts that have each label)."""
        labels = self.splits[split].labels
        if labels.ndim == 2:
            return labels.sum(0).astype(int).tolist()
        return np.bincount(labels[labels >= 0], minlength=self.num_classes).tolist()

    @property
    def source(self) -> dict:
        """Where the data came from, so `evaluate` can find it again from the checkpoint alone: local paths
        made absolute (a checkpoint used from another folder still finds them), hub ids as given."""
        hp = self.hparams
        keys = ("path", "name", "revision", "files", "text_column", "label_column", "encoding", "val_fraction",
                "test_fraction", "seed", "multi_label", "label_delimiter")
        source = {k: hp[k] for k in keys}
        local = lambda p: os.path.abspath(p) if isinstance(p, str) and os.path.exists(p) else p  # noqa: E731
        source["path"] = local(source["path"])
        if source["files"]:
            source["files"] = {split: local(f) for split, f in dict(source["files"]).items()}
        return source

    def prepare_data(self) -> None:
        hp = self.hparams
        load_raw(hp.path, hp.name, hp.revision, hp.files, hp.encoding)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return  # idempotent: the CLI sets up before fit to report data errors before writing anything
        start = time.perf_counter()
        hp = self.hparams
        splits, self.label_names = load_splits(**self.source, trust_labels=hp.trust_labels)
        self.multi_label = is_multi_label_split(splits["train"])
        self.tokenizer, tok_key = self._tokenizer(splits["train"])
        pre = self.preprocessing  # one encoder for all splits: its tables are built once
        encoder = TextEncoder(self.tokenizer, self.max_length, hp.truncation, pre.get("prefix", ()), pre.get("suffix", ()))
        for split, ds in splits.items():
            enc = encode_split(ds, encoder, tok_key, split)
            self.splits[split] = TokenizedSplit.from_arrow(enc, self.pad_id,
                                                           len(self.label_names) if self.multi_label else None)
            self.texts[split] = ds["text"][:]
            self.stats[split] = {"examples": ds.num_rows, **length_stats(np.asarray(enc["full_length"]), self.max_length),
                                 "classes": self.label_counts(split)}
            s = self.stats[split]
            log.log(logging.INFO if self.report_splits else logging.DEBUG,
                "%-10s %6d texts, tokens mean %.1f p50 %.0f p95 %.0f max %d, truncated %.1f%%",
                split, s["examples"], s["mean"], s["p50"], s["p95"], s["max"], 100 * s["truncated"],
            )
        self.setup_seconds = time.perf_counter() - start
        log.info("data ready in %.1fs: %d %s %s, vocabulary %d", self.setup_seconds, self.num_classes,
                 "labels (multi-label: several per text)" if self.multi_label else "classes", self.label_names,
                 self.vocab_size)

    def _tokenizer(self, train: datasets.Dataset) -> tuple[Tokenizer, str]:
        hp = self.hparams
        if self.given:
            tok = tokenizer_from_json(self.given.json, self.given.name, pad_id=self.given.pad_id)
            log.info("tokenizer: %s's own (vocabulary %d)", self.given.name, tok.get_vocab_size())
            return tok, datasets.fingerprint.Hasher.hash((self.given.json, self.given.prefix, self.given.suffix))
        if hp.tokenizer_file:
            tok = load_tokenizer_file(hp.tokenizer_file)
            log.info("tokenizer: reused %s (vocabulary %d)", hp.tokenizer_file, tok.get_vocab_size())
            return tok, datasets.fingerprint.Hasher.hash(tok.to_str())
        key = datasets.fingerprint.Hasher.hash(
            (train._fingerprint, tokenizer_recipe(hp.tokenizer, hp.vocab_size, hp.min_frequency, hp.lowercase))
        )
        cache = os.path.join(datasets.config.HF_DATASETS_CACHE, "textclf_tokenizers", f"{key}.json")
        if os.path.exists(cache):
            log.info("tokenizer: %s loaded from cache", hp.tokenizer)
            return load_tokenizer_file(cache), key
        tok = train_tokenizer(iter(train["text"][:]), hp.tokenizer, hp.vocab_size, hp.min_frequency, hp.lowercase)
        log.info("tokenizer: trained %s on %d train texts (vocabulary %d)", hp.tokenizer, train.num_rows, tok.get_vocab_size())
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(cache), delete=False, suffix=".tmp", encoding="utf-8") as f:
            f.write(tok.to_str())
        os.replace(f.name, cache)  # atomic: parallel ranks never read half a file
        return tok, key

    def _loader(self, split: str, shuffle: bool):
        if split not in self.splits:
            return []
        return bucketed_loader(self, self.splits[split], shuffle, self.hparams.num_workers)

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("validation", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)


def bucketed_loader(dm: L.LightningDataModule, data: TokenizedSplit, shuffle: bool, num_workers: int = 0):
    """The DataLoader of a data module's split (training's and pretraining's): length-bucketed batches of
    its batch_size (shuffled) or eval_batch_size, sharded over the trainer's ranks."""
    world, rank = (dm.trainer.world_size, dm.trainer.global_rank) if dm.trainer is not None else (1, 0)
    sampler = BucketBatchSampler(
        data.lengths,
        dm.hparams.batch_size if shuffle else dm.hparams.eval_batch_size,
        shuffle=shuffle,
        seed=_shuffle_seed(dm.hparams.seed),
        bucket_batches=dm.hparams.bucket_batches,
        num_replicas=world,
        rank=rank,
    )
    return _loader(data, sampler, num_workers)


def _shuffle_seed(data_seed: int | None) -> int:
    """Batch order follows the run's seed (set by seed_everything), so runs that share one data split
    (--data.seed) still differ in batch order from seed to seed, as seeds should."""
    return int(os.environ.get("PL_GLOBAL_SEED", data_seed or 0))


def _loader(data: TokenizedSplit, sampler: BucketBatchSampler, num_workers: int = 0):
    import torch

    # A generator of its own: the loader draws its workers' base seed from it, not from the global
    # random state that dropout uses. Lightning creates the iterator at a different moment when a run
    # resumes, so a draw from the global state there would shift every dropout mask after a resume.
    return torch.utils.data.DataLoader(
        data, batch_sampler=sampler, collate_fn=collate_batch, num_workers=num_workers,
        persistent_workers=num_workers > 0, generator=torch.Generator().manual_seed(sampler.sampler.seed),
    )
