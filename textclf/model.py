"""`TextClassifier`: the Lightning module that trains the network of textclf.network (token ids ->
embedding -> encoder -> pooled vector -> dropout -> head -> logits): loss, metrics, optimiser, archive.

The network is built in `configure_model`, once the DataModule has trained the tokenizer and knows
the labels; those sizes are then recorded in the hyperparameters, so a checkpoint rebuilds the model
without any data (see `textclf.checkpoint`).
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from textclf.encoders import ENCODERS
from textclf.errors import TextclfError, check_at_least, check_between, check_positive
from textclf.network import CHECKPOINT_FORMAT, CHECKPOINT_KEY, NetworkParts

log = logging.getLogger(__name__)

SCHEDULES = ("cosine", "linear", "constant")


class TextClassifier(NetworkParts, L.LightningModule):
    def __init__(
        self,
        encoder: str = "gru",
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.3,
        embedding_dropout: float = 0.2,
        pooling: Optional[str] = None,
        nonlinearity: str = "tanh",
        init: str = "default",
        packed: bool = False,
        side_by_side: bool = True,
        forget_bias: Optional[float] = 1.0,
        num_heads: int = 4,
        ff_dim: int = 256,
        positions: str = "learned",
        max_positions: Optional[int] = None,
        head_hidden: int = 0,
        lr: float = 2e-3,
        weight_decay: float = 0.01,
        schedule: str = "cosine",
        warmup_ratio: float = 0.05,
        label_smoothing: float = 0.0,
        class_weights: Optional[str] = None,
        pretrained_vectors: Optional[str] = None,
        freeze_embeddings: bool = False,
        num_embeddings: Optional[int] = None,
        num_classes: Optional[int] = None,
        label_names: Optional[list[str]] = None,
    ):
        """
        Args:
            encoder: one of bag, rnn, lstm, gru, transformer.
            embedding_dim: token vector size (also the Transformer's width).
            hidden_size: RNN state size per direction.
            num_layers: stacked RNN or Transformer layers.
            bidirectional: run RNNs both ways (the pooled vector holds both).
            dropout: between RNN layers, inside Transformer blocks, and on the pooled vector.
            embedding_dropout: dropout on token vectors.
            pooling: last, mean, max, attention (RNNs); cls, mean, max, attention (transformer);
                mean, max, attention (bag). Unset: the encoder's measured default.
            nonlinearity: tanh or relu, for the vanilla rnn.
            init: RNN weight init: default (PyTorch's), xavier, orthogonal.
            packed: RNNs run on PackedSequences instead of the padded batch (same outputs; slower on CPU).
            side_by_side: on CPU, run the two directions of each RNN layer at the same time, one thread
                each (same outputs up to float rounding; faster with 2+ cores).
            forget_bias: LSTM forget-gate bias (Jozefowicz et al. 2015: 1.0); null keeps the init's.
            num_heads: Transformer attention heads.
            ff_dim: Transformer feed-forward width.
            positions: Transformer positions: learned or sinusoidal.
            max_positions: Transformer positions; unset: the data's max_length.
            head_hidden: width of one hidden layer in the head (0: a linear head).
            lr: peak AdamW learning rate.
            weight_decay: AdamW weight decay (not on biases, norms or embeddings).
            schedule: after linear warmup: cosine or linear decay to 0, or constant.
            warmup_ratio: share of all training steps spent warming up.
            label_smoothing: cross-entropy label smoothing.
            class_weights: null, or balanced (weights inverse to train class frequency).
            pretrained_vectors: word2vec/GloVe text file to start the embedding from.
            freeze_embeddings: keep the embedding fixed during training.
            num_embeddings: vocabulary size, set from the tokenizer (leave unset).
            num_classes: set from the data (leave unset).
            label_names: set from the data (leave unset).
        """
        super().__init__()
        if encoder not in ENCODERS:
            raise TextclfError(f"unknown encoder {encoder!r}: choose one of {', '.join(ENCODERS)} (--model.encoder)")
        if schedule not in SCHEDULES:
            raise TextclfError(f"unknown --model.schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if class_weights not in (None, "balanced"):
            raise TextclfError(f"unknown --model.class_weights {class_weights!r}: use balanced or leave it unset")
        for flag, value, low in (("embedding_dim", embedding_dim, 1), ("hidden_size", hidden_size, 1),
                                 ("num_layers", num_layers, 1), ("num_heads", num_heads, 1), ("ff_dim", ff_dim, 1),
                                 ("head_hidden", head_hidden, 0), ("max_positions", max_positions, 1)):
            check_at_least(f"--model.{flag}", value, low)
        check_between("--model.dropout", dropout, 0.0, 1.0)
        check_between("--model.embedding_dropout", embedding_dropout, 0.0, 1.0)
        check_between("--model.label_smoothing", label_smoothing, 0.0, 1.0)
        check_between("--model.warmup_ratio", warmup_ratio, 0.0, 1.0, high_included=True)
        check_positive("--model.lr", lr)
        check_at_least("--model.weight_decay", weight_decay, 0.0)
        self.save_hyperparameters()
        self.take_archive(None)  # no tokenizer, preprocessing or source yet: configure_model sets them
        if num_embeddings is not None:
            self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        hp = self.hparams
        self.build_network(hp)
        self.register_buffer("class_weight", torch.ones(hp.num_classes))
        metrics = MetricCollection(
            {"acc": MulticlassAccuracy(hp.num_classes, average="micro"), "f1": MulticlassF1Score(hp.num_classes, average="macro")}
        )
        self.train_metrics = metrics.clone(prefix="train_")
        self.val_metrics = metrics.clone(prefix="val_")
        self.test_metrics = metrics.clone(prefix="test_")

    @property
    def built(self) -> bool:
        return hasattr(self, "encoder")

    def configure_model(self) -> None:
        """Size the network from the DataModule (tokenizer, labels) the first time it is needed."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is not None and getattr(dm, "tokenizer", None) is not None:
            self.tokenizer_json = dm.tokenizer_json
            self.preprocessing = dm.preprocessing
            self.data_source = dm.source
        if self.built:
            return
        if dm is None:
            raise TextclfError("TextClassifier needs a TextDataModule to size itself (vocabulary, labels)")
        self.hparams.num_embeddings = dm.vocab_size
        self.hparams.num_classes = dm.num_classes
        self.hparams.label_names = list(dm.label_names)
        if self.hparams.max_positions is None:
            self.hparams.max_positions = dm.hparams.max_length
        self._build()
        if self.hparams.pretrained_vectors:
            self.embedding.load_vectors(self.hparams.pretrained_vectors, dm.tokenizer.get_vocab(), self.hparams.freeze_embeddings)
        elif self.hparams.freeze_embeddings:
            raise TextclfError("--model.freeze_embeddings needs --model.pretrained_vectors (a frozen random embedding learns nothing)")
        if self.hparams.class_weights == "balanced":
            counts = torch.bincount(torch.as_tensor(dm.splits["train"].labels), minlength=self.hparams.num_classes).float()
            self.class_weight.copy_(counts.sum() / (len(counts) * counts.clamp(min=1)))
            log.info("balanced class weights: %s", [round(w, 3) for w in self.class_weight.tolist()])
        counts = self.parameter_counts()
        log.info("parameters: %s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    # -- training -----------------------------------------------------------------------------
    # forward (ids, lengths -> logits) and parameter_counts come from NetworkParts

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["lengths"])
        labels = batch["labels"]
        loss = F.cross_entropy(logits, labels, weight=self.class_weight, label_smoothing=self.hparams.label_smoothing)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits.detach(), labels)
        bs = labels.shape[0]
        self.log(f"{stage}_loss", loss.detach(), on_step=False, on_epoch=True, batch_size=bs, sync_dist=stage != "train")
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=bs, prog_bar=stage == "val")
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    # -- optimisation -----------------------------------------------------------------------

    def configure_optimizers(self):
        hp = self.hparams
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            # weight decay on matrices only: not on biases, norms, embeddings or position tables
            (decay if p.ndim >= 2 and not name.startswith("embedding") and "positions" not in name else no_decay).append(p)
        # fused: one kernel over all tensors (on CPU the default is a Python loop per tensor: 27 ms of a
        # ~450 ms BiGRU step on IMDB, most of it on the 30,000 x 128 embedding)
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in decay + no_decay)
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=hp.lr,
            fused=fused or None,
        )
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = int(hp.warmup_ratio * total)
        schedule = hp.schedule

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if schedule == "constant":
                return 1.0
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            return 0.5 * (1 + math.cos(math.pi * progress)) if schedule == "cosine" else 1 - progress

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- checkpoint archive -----------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "tokenizer": self.tokenizer_json,
            "label_names": list(self.hparams.label_names),
            "preprocessing": dict(self.preprocessing),
            "data": dict(self.data_source),
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.take_archive(checkpoint.get(CHECKPOINT_KEY))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location="cpu", **kwargs) -> TextClassifier:
        """Rebuild the model, tokenizer and labels from one checkpoint file, loaded with weights_only=True."""
        from textclf.checkpoint import load_model

        return load_model(checkpoint_path, map_location=map_location)
