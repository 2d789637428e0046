"""`LitTextClassifier`: the Lightning module that trains a `TextNetwork` (textclf.model.network): its
options, loss, metrics, optimiser and schedule, and the archive written into every checkpoint.

The network is sized by the data (vocabulary, labels), so it is built by `build` once the data is
set up (textclf.training.run does this before fitting); a checkpoint rebuilds it from the archive
alone (`load_module`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

import lightning as L
import torch
import torch.nn.functional as F

from textclf.data.tokenizer import GivenTokenizer
from textclf.errors import TextclfError, check_at_least, check_between, check_positive
from textclf.model.checkpoint import (
    CHECKPOINT_KEY,
    MULTI,
    SINGLE,
    Archive,
    read_checkpoint,
    refuse_pretraining,
    upgrade,
    weights_of,
)
from textclf.model.embedding import vectors_dim
from textclf.model.encoders import encoder_class, encoder_options, resolve_options
from textclf.model.encoders.pretrained import load_pretrained_weights, pretrained_parts
from textclf.model.multilabel_metrics import THRESHOLD_CHOICES
from textclf.model.network import NetworkConfig, TextNetwork
from textclf.model.pretrained_run import load_into, read_pretraining_run
from textclf.training.optimization import SCHEDULES, optimiser_and_schedule
from textclf.training.pretrained_start import check_pretrained, run_tokenizer, unfreeze
from textclf.training.scores import stage_metrics

if TYPE_CHECKING:
    from textclf.data.datamodule import DataFacts

log = logging.getLogger(__name__)

# the pooling of a classifier fine-tuned from a `textclf pretrain` run: max pooling over states trained on
# masked tokens fine-tunes worse than from scratch; their mean fine-tunes better (bench/README.md)
RUN_POOLING = "mean"
MONITOR = "val_f1"  # what checkpoints and early stopping select on: validation macro-F1
# The options that belong to one encoder or another (textclf.model.encoders); unset, the encoder's default.
ENCODER_OPTIONS = ("hidden_size", "num_layers", "bidirectional", "pooling", "nonlinearity", "init", "forget_bias",
                   "num_heads", "ff_dim", "positions", "max_positions")


class LitTextClassifier(L.LightningModule):
    def __init__(
        self,
        encoder: Optional[str] = None,
        embedding_dim: Optional[int] = None,
        dropout: float = NetworkConfig.dropout,
        embedding_dropout: float = NetworkConfig.embedding_dropout,
        word_dropout: float = NetworkConfig.word_dropout,
        bigrams: int = NetworkConfig.bigrams,
        head_hidden: int = NetworkConfig.head_hidden,
        hidden_size: Optional[int] = None,
        num_layers: Optional[int] = None,
        bidirectional: Optional[bool] = None,
        pooling: Optional[str] = None,
        nonlinearity: Optional[str] = None,
        init: Optional[str] = None,
        forget_bias: Optional[float] = None,
        num_heads: Optional[int] = None,
        ff_dim: Optional[int] = None,
        positions: Optional[str] = None,
        max_positions: Optional[int] = None,
        lr: float = 5e-3,
        weight_decay: float = 0.1,
        schedule: str = "cosine",
        warmup_ratio: float = 0.05,
        label_smoothing: float = 0.0,
        class_weights: Optional[str] = None,
        pretrained_vectors: Optional[str] = None,
        freeze_embeddings: bool = False,
        pretrained: Optional[str] = None,
        pretrained_lr: Optional[float] = None,
        layer_decay: float = 1.0,
        freeze_pretrained: bool = False,
        gradual_unfreezing: bool = False,
        thresholds: str = "per_label",
    ):
        """
        Args:
            encoder: one of bag, rnn, lstm, gru, transformer, pretrained; default gru, or pretrained with
                --model.pretrained.
            embedding_dim: token vector size (also the Transformer's width); default 128, or the size of
                --model.pretrained_vectors.
            dropout: on the pooled vector and in the head; between RNN layers and inside Transformer blocks.
            embedding_dropout: dropout on token vectors.
            word_dropout: share of tokens replaced by [UNK] while training.
            bigrams: buckets of hashed token-bigram vectors added to the token vectors (fastText); 0: none.
            head_hidden: width of one hidden layer in the head (0: a linear head).
            hidden_size: (rnn, lstm, gru) state size per direction; default 128.
            num_layers: (rnn, lstm, gru, transformer) stacked layers; default 1.
            bidirectional: (rnn, lstm, gru) run both ways, the pooled vector holds both; default true.
            pooling: last, mean, max, attention (rnn, lstm, gru; default max); cls, mean, max, attention
                (transformer; default attention; pretrained: default mean); mean, max, attention (bag; default mean);
                from a pretraining run: default mean.
            nonlinearity: (rnn) tanh or relu; default tanh.
            init: (rnn, lstm, gru) weight init: default (PyTorch's), xavier, orthogonal.
            forget_bias: (lstm) forget-gate bias (Jozefowicz et al. 2015); default 1.0.
            num_heads: (transformer) attention heads; default 4.
            ff_dim: (transformer) feed-forward width; default 256.
            positions: (transformer) learned or sinusoidal; default learned.
            max_positions: (transformer) position table size; default the data's max_length.
            lr: peak AdamW learning rate.
            weight_decay: AdamW weight decay (not on biases, norms or embeddings).
            schedule: after linear warmup: cosine or linear decay to 0, or constant.
            warmup_ratio: share of all training steps spent warming up.
            label_smoothing: cross-entropy label smoothing (multi-label: targets moved that far towards 0.5).
            class_weights: null, or balanced (weights inverse to train class frequency; multi-label: each
                label's positives weighted by its negatives over its positives).
            pretrained_vectors: word2vec/GloVe text file to start the embedding from.
            freeze_embeddings: keep the pretrained vectors fixed during training.
            pretrained: what to fine-tune: a `textclf pretrain` run directory (its encoder, sizes, tokenizer,
                embedding and encoder weights), or a Hugging Face model (hub id, or a folder with config.json,
                the weights and tokenizer.json: the pretrained encoder). Its tokenizer replaces --data.tokenizer.
            pretrained_lr: peak learning rate of the pretrained parts (lr is the new pooling's and head's);
                default 1e-4 for a Hugging Face model, lr for a pretraining run.
            layer_decay: (Hugging Face model) each layer below the top learns at this times the rate above.
            freeze_pretrained: keep the pretrained parts fixed: train pooling and head only.
            gradual_unfreezing: (pretraining run) ULMFiT's schedule: epoch 1 trains pooling and head, each
                later epoch one more encoder layer from the top, then the embedding too.
            thresholds: (multi-label) decision thresholds chosen on validation: per_label (each label's own, on
                its F1) or global (one for every label, on macro-F1).
        """
        super().__init__()
        encoder = check_pretrained(encoder, pretrained, word_dropout=word_dropout, bigrams=bigrams,
                                   pretrained_vectors=pretrained_vectors, freeze_pretrained=freeze_pretrained,
                                   layer_decay=layer_decay, gradual_unfreezing=gradual_unfreezing,
                                   embedding_dim=embedding_dim, choices=dict(
                                       hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                                       nonlinearity=nonlinearity, num_heads=num_heads, ff_dim=ff_dim,
                                       positions=positions, max_positions=max_positions))
        encoder_class(encoder)
        if schedule not in SCHEDULES:
            raise TextclfError(f"unknown --model.schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if thresholds not in THRESHOLD_CHOICES:
            raise TextclfError(f"unknown --model.thresholds {thresholds!r}: choose one of {', '.join(THRESHOLD_CHOICES)}")
        if class_weights not in (None, "balanced"):
            raise TextclfError(f"unknown --model.class_weights {class_weights!r}: use balanced or leave it unset")
        for flag, value, low in (("embedding_dim", embedding_dim, 1), ("hidden_size", hidden_size, 1),
                                 ("num_layers", num_layers, 1), ("num_heads", num_heads, 1), ("ff_dim", ff_dim, 1),
                                 ("head_hidden", head_hidden, 0), ("bigrams", bigrams, 0), ("max_positions", max_positions, 1)):
            check_at_least(f"--model.{flag}", value, low)
        check_between("--model.dropout", dropout, 0.0, 1.0)
        check_between("--model.embedding_dropout", embedding_dropout, 0.0, 1.0)
        check_between("--model.word_dropout", word_dropout, 0.0, 1.0)
        check_between("--model.label_smoothing", label_smoothing, 0.0, 1.0)
        check_between("--model.warmup_ratio", warmup_ratio, 0.0, 1.0, high_included=True)
        check_positive("--model.lr", lr)
        if pretrained_lr is not None:
            check_positive("--model.pretrained_lr", pretrained_lr)
        check_between("--model.layer_decay", layer_decay, 0.0, 1.0, high_included=True)
        check_positive("--model.layer_decay", layer_decay)
        check_at_least("--model.weight_decay", weight_decay, 0.0)
        if freeze_embeddings and not pretrained_vectors:
            raise TextclfError("--model.freeze_embeddings needs --model.pretrained_vectors (a frozen random embedding learns nothing)")
        self.save_hyperparameters()
        self.hparams.encoder = encoder  # resolved: the arguments as given may leave it unset
        resolve_options(encoder, self.encoder_choices())  # an option this encoder does not take: an error now
        self.network: TextNetwork | None = None
        self.archive: Archive | None = None
        self._pretrained_parts: tuple[dict, GivenTokenizer] | None = None
        # a `textclf pretrain` run to start from (its encoder is the one resolved above), None otherwise
        self.from_run = pretrained if pretrained and encoder != "pretrained" else None

    def encoder_choices(self) -> dict:
        """The encoder options set by the user (None: unset)."""
        return {key: self.hparams[key] for key in ENCODER_OPTIONS}

    # -- building ---------------------------------------------------------------------------

    def given_tokenizer(self) -> GivenTokenizer | None:
        """The tokenizer the model brings (a pretrained model's own), to tokenize the data with; None: the
        data module trains one."""
        if self.from_run:
            return run_tokenizer(self.from_run)
        return self._pretrained()[1] if self.hparams.pretrained else None

    def _pretrained(self) -> tuple[dict, GivenTokenizer]:
        """The pretrained model's architecture and tokenizer, read once from its folder or the hub."""
        if self._pretrained_parts is None:
            self._pretrained_parts = pretrained_parts(self.hparams.pretrained)
        return self._pretrained_parts

    def build(self, data: DataFacts) -> None:
        """Size the network from the data, start its embedding (or load the pretrained model) and class
        weights, and keep the archive."""
        hp = self.hparams
        options = self.encoder_choices()
        if "max_positions" in encoder_options(hp.encoder) and options["max_positions"] is None:
            options["max_positions"] = data.preprocessing["max_length"]
        width = hp.embedding_dim or (vectors_dim(hp.pretrained_vectors) if hp.pretrained_vectors else NetworkConfig.embedding_dim)
        run = read_pretraining_run(self.from_run) if self.from_run else None
        if run:  # the run's sizes; pooling is the classifier's own (a new part): mean unless told (bench/README.md)
            width = run.network.embedding_dim
            options = {**run.network.encoder_options, "pooling": options["pooling"] or RUN_POOLING, "init": None,
                       "forget_bias": None}
            options = {k: v for k, v in options.items() if v is not None}
        elif hp.pretrained:
            options.update(architecture=self._pretrained()[0], source=hp.pretrained)
        config = NetworkConfig(hp.encoder, data.vocab_size, len(data.label_names), width, hp.embedding_dropout,
                               hp.dropout, hp.head_hidden, hp.word_dropout, hp.bigrams, resolve_options(hp.encoder, options))
        self.set_network(Archive(config, data.tokenizer_json, data.label_names, data.preprocessing, data.source,
                                 MULTI if data.multi_label else SINGLE))
        if run:
            load_into(self.network, run)
            log.info("embedding and %s encoder from the pretraining run %s", hp.encoder, run.path)
            if hp.freeze_pretrained:
                for name, p in self.network.named_parameters():
                    p.requires_grad_(not name.startswith(("embedding.", "encoder.")) or name.startswith(
                        ("encoder.pool.", "encoder.cls")))
        elif hp.pretrained:
            load_pretrained_weights(self.network.encoder, hp.pretrained)
            self.network.encoder.body.requires_grad_(not hp.freeze_pretrained)
        if hp.pretrained_vectors:
            self.network.embedding.load_vectors(hp.pretrained_vectors, data.vocab(), hp.freeze_embeddings)
        if hp.class_weights == "balanced":
            counts = torch.tensor(data.train_label_counts, dtype=torch.float32)
            if data.multi_label:  # BCE's pos_weight: a label's positives count as much as its negatives
                self.class_weight.copy_((data.train_examples - counts) / counts.clamp(min=1))
            else:
                self.class_weight.copy_(counts.sum() / (len(counts) * counts.clamp(min=1)))
            log.info("balanced class weights: %s", [round(w, 3) for w in self.class_weight.tolist()])
        counts = self.network.parameter_counts()
        log.info("parameters: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    def set_network(self, archive: Archive) -> None:
        """A new network of the archive's config, with the loss weights and metrics it needs."""
        self.archive = archive
        self.network = TextNetwork(archive.network)
        num_classes = archive.network.num_classes
        self.register_buffer("class_weight", torch.ones(num_classes))
        metrics = stage_metrics(num_classes, self.multi_label, archive.thresholds)
        self.train_metrics, self.val_metrics, self.test_metrics = metrics["train"], metrics["val"], metrics["test"]

    @property
    def multi_label(self) -> bool:
        return self.archive is not None and self.archive.task == MULTI

    def configure_model(self) -> None:
        if self.network is None:
            raise TextclfError("the network is not built: call build() with the data before fitting")

    # -- training -----------------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.network(input_ids, lengths)  # (B, T), (B,) -> (B, C) logits

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["lengths"])
        labels = batch["labels"]
        if self.multi_label:  # a sigmoid per label; `class_weight` weighs each label's positives
            smooth = self.hparams.label_smoothing
            loss = F.binary_cross_entropy_with_logits(
                logits, labels * (1 - smooth) + 0.5 * smooth,
                pos_weight=self.class_weight if self.hparams.class_weights == "balanced" else None)
        else:
            loss = F.cross_entropy(logits, labels, weight=self.class_weight, label_smoothing=self.hparams.label_smoothing)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits.detach(), labels)
        bs = labels.shape[0]
        self.log(f"{stage}_loss", loss.detach(), on_step=False, on_epoch=True, batch_size=bs, sync_dist=stage != "train",
                 prog_bar=stage == "train")
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=bs, prog_bar=stage == "val")
        return loss

    def on_train_epoch_start(self) -> None:
        if self.hparams.gradual_unfreezing and not self.hparams.freeze_pretrained:
            layers = self.archive.network.encoder_options.get("num_layers", 1)
            frozen = unfreeze(self, self.current_epoch, layers)
            log.info("epoch %d: %s", self.current_epoch + 1, f"{', '.join(frozen)} frozen" if frozen else "every layer trains")

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    # -- optimisation -----------------------------------------------------------------------

    def configure_optimizers(self):
        return optimiser_and_schedule(self, self.trainer.estimated_stepping_batches)

    # -- checkpoint archive -----------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.archive.to_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        upgrade(checkpoint)  # a checkpoint of an earlier format, e.g. when an older run is resumed


def load_module(path: str, map_location="cpu") -> LitTextClassifier:
    """Rebuild a `LitTextClassifier` (options, network, weights, archive) from one file, in eval mode."""
    ckpt = read_checkpoint(path, map_location)
    refuse_pretraining(ckpt, path)
    options = {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}  # _: LightningCLI's
    if options.get("encoder") != "pretrained" and options.get("pretrained"):
        # fine-tuned from a pretraining run: the weights are all in the file, the run is not needed
        options.update(pretrained=None, gradual_unfreezing=False, freeze_pretrained=False)
    module = LitTextClassifier(**options)
    module.set_network(Archive.from_dict(ckpt[CHECKPOINT_KEY]))
    with weights_of(path):
        module.load_state_dict(ckpt["state_dict"])
    return module.eval()


# The options of one kind of encoder only, as flags that unset them: a comparison gives them to every run
# and unsets them for the runs of the other kind.
PRETRAINED_ONLY = {"pretrained": "null", "layer_decay": "1.0", "freeze_pretrained": "false",
                   "gradual_unfreezing": "false"}
SCRATCH_ONLY = {"word_dropout": "0.0", "bigrams": "0", "pretrained_vectors": "null", "freeze_embeddings": "false"}
