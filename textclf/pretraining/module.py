"""`LitPretrainer`: the Lightning module of `textclf pretrain`: an embedding and an encoder (the ones a
classifier has, textclf.model.masked_lm.ContextNetwork) trained on a self-supervised objective, with the
archive that `textclf train --model.pretrained RUN_DIR` starts a classifier from.

Its options are `textclf train`'s for the embedding and the encoder, so a pretrained encoder is sized as
one trained from scratch; the learning rate warms up and decays over the budget spent (not over steps:
a time budget has no known number of steps).
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import lightning as L
import torch

from textclf.errors import TextclfError, check_at_least, check_between, check_positive
from textclf.model.checkpoint import CHECKPOINT_KEY, PRETRAIN, Archive
from textclf.model.encoders import encoder_options, resolve_options
from textclf.model.masked_lm import (
    MASK_RATE,
    OBJECTIVES,
    ContextNetwork,
    TokenPredictor,
    language_model_loss,
    masked_token_loss,
    perplexity,
)
from textclf.model.network import NetworkConfig
from textclf.training.optimization import adamw, decays

log = logging.getLogger(__name__)

ENCODERS = ("rnn", "lstm", "gru", "transformer")  # those with context to learn (bag has none; pretrained has it)
RECURRENT = ("rnn", "lstm", "gru")
PRETRAIN_KEY = "textclf_pretraining"  # the checkpoint's record of the objective and the budget spent
MONITOR = "val_loss"  # best.ckpt: the lowest held-out loss per predicted token


class LitPretrainer(L.LightningModule):
    def __init__(
        self,
        encoder: str = "gru",
        objective: str = "mlm",
        mask_rate: float = MASK_RATE,
        embedding_dim: int = NetworkConfig.embedding_dim,
        dropout: float = 0.1,
        embedding_dropout: float = 0.1,
        hidden_size: Optional[int] = None,
        num_layers: Optional[int] = None,
        bidirectional: Optional[bool] = None,
        nonlinearity: Optional[str] = None,
        init: Optional[str] = None,
        forget_bias: Optional[float] = None,
        num_heads: Optional[int] = None,
        ff_dim: Optional[int] = None,
        positions: Optional[str] = None,
        max_positions: Optional[int] = None,
        lr: float = 2e-3,
        weight_decay: float = 0.01,
        warmup: float = 0.05,
    ):
        """
        Args:
            encoder: rnn, lstm, gru or transformer.
            objective: mlm (masked tokens, every encoder) or lm (forward and backward next-token language
                models, ELMo/ULMFiT; rnn, lstm, gru with one layer).
            mask_rate: (mlm) share of tokens chosen to predict (80% shown as [MASK], 10% random, 10% kept).
            embedding_dim: token vector size (also the Transformer's width).
            dropout: between RNN layers and inside Transformer blocks.
            embedding_dropout: dropout on token vectors.
            hidden_size: (rnn, lstm, gru) state size per direction; default 128.
            num_layers: stacked layers; default 1.
            bidirectional: (rnn, lstm, gru) default true (mlm needs both directions to see both sides).
            nonlinearity: (rnn) tanh or relu.
            init: (rnn, lstm, gru) default, xavier or orthogonal.
            forget_bias: (lstm) forget-gate bias.
            num_heads: (transformer) attention heads.
            ff_dim: (transformer) feed-forward width.
            positions: (transformer) learned or sinusoidal.
            max_positions: (transformer) the position table's size: the most tokens a classifier fine-tuned
                from this run reads. Default --data.max_length (the pretraining window); a larger one lets
                fine-tuning read longer texts, its positions past the window learnt there.
            lr: peak AdamW learning rate.
            weight_decay: AdamW weight decay (matrices only).
            warmup: share of the budget spent warming the learning rate up; then cosine decay to 0.
        """
        super().__init__()
        if encoder not in ENCODERS:
            raise TextclfError(f"textclf pretrain trains the encoders with context: choose --model.encoder from "
                               f"{', '.join(ENCODERS)} (got {encoder!r})")
        if objective not in OBJECTIVES:
            raise TextclfError(f"unknown --model.objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
        if objective == "lm":
            if encoder not in RECURRENT:
                raise TextclfError("--model.objective lm is for the recurrent encoders (rnn, lstm, gru): use mlm "
                                   "for the transformer")
            if (num_layers or 1) > 1 or bidirectional is False:
                raise TextclfError("--model.objective lm needs one bidirectional layer (stacked layers mix the two "
                                   "directions, so each would see the token it predicts): use --model.objective mlm")
        check_between("--model.mask_rate", mask_rate, 0.0, 1.0)
        check_positive("--model.mask_rate", mask_rate)
        check_between("--model.dropout", dropout, 0.0, 1.0)
        check_between("--model.embedding_dropout", embedding_dropout, 0.0, 1.0)
        check_between("--model.warmup", warmup, 0.0, 1.0)
        check_positive("--model.lr", lr)
        check_at_least("--model.weight_decay", weight_decay, 0.0)
        check_at_least("--model.embedding_dim", embedding_dim, 1)
        check_at_least("--model.max_positions", max_positions, 1)
        self.save_hyperparameters()
        resolve_options(encoder, self.encoder_choices())  # an option this encoder does not take: an error now
        self.network: ContextNetwork | None = None
        self.predictor: TokenPredictor | None = None
        self.archive: Archive | None = None
        self.mask_id = -1
        self.spent = lambda: 0.0  # the budget's share spent (BudgetCallback.spent), set by the run

    def encoder_choices(self) -> dict:
        keys = ("hidden_size", "num_layers", "bidirectional", "nonlinearity", "init", "forget_bias", "num_heads",
                "ff_dim", "positions", "max_positions")
        return {key: self.hparams[key] for key in keys}

    def build(self, tokenizer_json: str, vocab_size: int, mask_id: int, preprocessing: dict, source: dict) -> None:
        hp = self.hparams
        options = self.encoder_choices()
        if "max_positions" in encoder_options(hp.encoder) and options["max_positions"] is None:
            options["max_positions"] = preprocessing["max_length"]  # given: at least the window (run.py)
        config = NetworkConfig(hp.encoder, vocab_size, 0, hp.embedding_dim, hp.embedding_dropout, hp.dropout,
                               encoder_options=resolve_options(hp.encoder, options))
        self.archive = Archive(config, tokenizer_json, [], preprocessing, source, PRETRAIN)
        self.network = ContextNetwork(config)
        self.predictor = TokenPredictor(self.network.encoder.output_dim, hp.embedding_dim, vocab_size)
        self.mask_id = mask_id
        counts = self.network.parameter_counts()
        log.info("parameters: embedding %s, encoder %s, token predictor %s", f"{counts['embedding']:,}",
                 f"{counts['encoder']:,}", f"{sum(p.numel() for p in self.predictor.parameters()):,}")

    def configure_model(self) -> None:
        if self.network is None:
            raise TextclfError("the network is not built: call build() with the corpus before fitting")

    def _loss(self, batch: dict, generator: torch.Generator | None = None):
        ids, lengths = batch["input_ids"], batch["lengths"]
        if self.hparams.objective == "lm":
            return language_model_loss(self.network, self.predictor, ids, lengths)
        return masked_token_loss(self.network, self.predictor, ids, lengths, self.mask_id, self.hparams.mask_rate,
                                 generator)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, correct, n = self._loss(batch)
        mean = loss / max(n, 1)
        self.log("train_loss", mean.detach(), on_step=True, on_epoch=True, batch_size=max(n, 1), prog_bar=True)
        return mean

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        # the same tokens are masked at every validation (a generator seeded by the batch), so passes compare
        generator = torch.Generator(device=batch["input_ids"].device).manual_seed(batch_idx)
        loss, correct, n = self._loss(batch, generator)
        # means weighted by the tokens predicted: the epoch's value is over every held-out prediction
        self.log_dict({"val_loss": loss / max(n, 1), "val_acc": correct.float() / max(n, 1)}, on_step=False,
                      on_epoch=True, batch_size=max(n, 1), sync_dist=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        loss = self.trainer.callback_metrics.get("val_loss")
        if loss is not None:
            self.log("val_perplexity", perplexity(loss), prog_bar=True)

    def configure_optimizers(self):
        hp = self.hparams
        groups: dict[bool, list[torch.Tensor]] = {True: [], False: []}
        for name, p in self.named_parameters():
            groups[decays(name, p) and not name.startswith("predictor.bias")].append(p)
        optimizer = adamw([{"params": groups[True], "weight_decay": hp.weight_decay},
                           {"params": groups[False], "weight_decay": 0.0}], hp.lr)

        def factor(_step: int) -> float:
            spent = self.spent()
            if spent < hp.warmup:
                return max(spent / hp.warmup, 0.01)
            return 0.5 * (1 + math.cos(math.pi * min((spent - hp.warmup) / max(1 - hp.warmup, 1e-9), 1.0)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.archive.to_dict()
        checkpoint[PRETRAIN_KEY] = {"objective": self.hparams.objective, "mask_id": self.mask_id}
