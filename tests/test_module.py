"""The Lightning module (textclf/training/module.py) through real `Trainer.fit` / `validate` runs on TREC:
schedule and warmup, label smoothing, balanced class weights, a hidden head layer, sinusoidal positions,
and pretrained vectors through training."""

import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from conftest import DATA

from textclf.data.datamodule import TextDataModule
from textclf.training.module import LitTextClassifier


@pytest.fixture(scope="module")
def trec():
    dm = TextDataModule(path=str(DATA / "trec"), seed=1, batch_size=32, max_length=32)
    dm.setup("fit")
    return dm


def built(dm, **options) -> LitTextClassifier:
    torch.manual_seed(0)
    model = LitTextClassifier(embedding_dim=16, **options)
    model.build(dm.facts())
    return model


def fit(model, dm, tmp_path, steps=10, epochs=1, callbacks=()):
    trainer = L.Trainer(max_epochs=epochs, limit_train_batches=steps, limit_val_batches=2, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        use_distributed_sampler=False, callbacks=list(callbacks), default_root_dir=tmp_path)
    trainer.fit(model, dm)
    return trainer


class RecordLR(L.Callback):
    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


@pytest.mark.parametrize("schedule", ["cosine", "linear", "constant"])
def test_learning_rate_warms_up_then_follows_the_schedule(trec, tmp_path, schedule):
    record = RecordLR()
    fit(built(trec, encoder="bag", lr=0.01, schedule=schedule, warmup_ratio=0.2), trec, tmp_path, steps=10, epochs=2,
        callbacks=[record])
    total, warmup = 20, 4
    expected = []
    for step in range(total):
        if step < warmup:
            expected.append(0.01 * (step + 1) / warmup)
            continue
        progress = (step - warmup) / (total - warmup)
        factor = {"cosine": 0.5 * (1 + math.cos(math.pi * progress)), "linear": 1 - progress, "constant": 1.0}[schedule]
        expected.append(0.01 * factor)
    assert record.lrs == pytest.approx(expected)


def _val_loss_by_hand(model, dm, **loss_options) -> float:
    """The validation loss computed here from the network's logits over the whole validation split."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for batch in dm.val_dataloader():
            logits = model(batch["input_ids"], batch["lengths"])
            total += F.cross_entropy(logits, batch["labels"], **loss_options).item() * len(batch["labels"])
            n += len(batch["labels"])
    return total / n


def test_label_smoothing_is_the_loss_validate_reports(trec):
    model = built(trec, encoder="bag", label_smoothing=0.3)
    logged = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False).validate(
        model, trec, verbose=False)[0]["val_loss"]
    assert logged == pytest.approx(_val_loss_by_hand(model, trec, label_smoothing=0.3), rel=1e-4)
    assert logged != pytest.approx(_val_loss_by_hand(model, trec), rel=1e-3)


def test_balanced_class_weights_are_inverse_to_train_frequency(trec):
    model = built(trec, encoder="bag", class_weights="balanced")
    counts = torch.bincount(torch.as_tensor(trec.splits["train"].labels), minlength=trec.num_classes).float()
    weights = counts.sum() / (len(counts) * counts)
    torch.testing.assert_close(model.class_weight, weights)
    assert weights.max() / weights.min() > 5  # TREC's classes are far from balanced
    logged = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False).validate(
        model, trec, verbose=False)[0]["val_loss"]
    # torch's weighted mean divides each batch by its summed weights; validate averages batches by size
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for batch in trec.val_dataloader():
            loss = F.cross_entropy(model(batch["input_ids"], batch["lengths"]), batch["labels"], weight=weights)
            total, n = total + loss.item() * len(batch["labels"]), n + len(batch["labels"])
    assert logged == pytest.approx(total / n, rel=1e-4)


def test_a_hidden_head_layer_is_built_and_trained(trec, tmp_path):
    model = built(trec, encoder="bag", head_hidden=24)
    linears = [m for m in model.network.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 24), (24, trec.num_classes)]
    before = [m.weight.detach().clone() for m in linears]
    fit(model, trec, tmp_path, steps=5)
    assert all(not torch.equal(b, m.weight) for b, m in zip(before, linears))


def test_sinusoidal_positions_are_the_fixed_table_and_order_matters(trec):
    model = built(trec, encoder="transformer", positions="sinusoidal").eval()
    enc = model.network.encoder
    assert not any("positions" in name for name, _ in model.named_parameters())  # fixed, not learned
    assert not any("positions" in key for key in model.state_dict())  # and rebuilt, not stored
    table = enc.positions
    assert table.shape == (trec.hparams.max_length + 1, 16)
    torch.testing.assert_close(table[0, 0::2], torch.zeros(8))  # sin(0)
    torch.testing.assert_close(table[0, 1::2], torch.ones(8))  # cos(0)
    torch.testing.assert_close(table[3, 0], torch.tensor(math.sin(3.0)))
    ids = torch.tensor([[5, 9, 14, 22]])
    with torch.no_grad():
        forward, backward = model(ids, torch.tensor([4])), model(ids.flip(1), torch.tensor([4]))
    assert not torch.allclose(forward, backward)  # the order of the words reaches the output


@pytest.mark.parametrize("freeze", [True, False])
def test_pretrained_vectors_start_the_embedding_and_freeze_keeps_them(trec, tmp_path, freeze):
    vocab = trec.tokenizer.get_vocab()
    words = ["what", "who", "how", "city"]
    vectors = {w: [float(i + 1)] * 16 for i, w in enumerate(words)}
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()), encoding="utf-8")
    model = built(trec, encoder="gru", pretrained_vectors=str(path), freeze_embeddings=freeze, hidden_size=8)
    weight = model.network.embedding.embed.weight
    for w, v in vectors.items():
        assert weight[vocab[w]].tolist() == v
    fit(model, trec, tmp_path, steps=5)
    changed = [not torch.equal(weight[vocab[w]], torch.tensor(v)) for w, v in vectors.items()]
    assert not any(changed) if freeze else all(changed)


class RecordEmbeddingInput(L.Callback):
    """The ids the token table reads, in training and in validation, next to the batch's own ids."""

    def __init__(self):
        self.seen = {"train": [], "val": []}
        self.stage = "train"

    def on_fit_start(self, trainer, pl_module):
        pl_module.network.embedding.embed.register_forward_hook(
            lambda module, args, out: self.seen[self.stage].append(args[0].clone()))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.stage = "train"
        self.seen.setdefault("train_batches", []).append(batch["input_ids"].clone())

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.stage = "val"
        self.seen.setdefault("val_batches", []).append(batch["input_ids"].clone())


def test_word_dropout_replaces_tokens_by_unk_in_training_only(trec, tmp_path):
    record = RecordEmbeddingInput()
    fit(built(trec, encoder="bag", word_dropout=0.3), trec, tmp_path, steps=10, callbacks=[record])
    fed, given = torch.cat([t.flatten() for t in record.seen["train"]]), torch.cat(
        [t.flatten() for t in record.seen["train_batches"]])
    real = given != 0
    assert torch.equal(fed[~real], given[~real])  # padding stays padding
    changed = fed[real] != given[real]
    assert (fed[real][changed] == 1).all()  # a dropped token becomes [UNK]
    share = changed.float().mean().item()
    assert 0.25 < share < 0.32  # 0.3 of the tokens, less the ones that were [UNK] already
    val_fed = torch.cat([t.flatten() for t in record.seen["val"]])
    assert torch.equal(val_fed, torch.cat([t.flatten() for t in record.seen["val_batches"]]))


def test_hashed_bigrams_train_and_make_a_bag_see_word_order(trec, tmp_path):
    model = built(trec, encoder="bag", bigrams=1000, lr=0.05)
    table = model.network.embedding.bigrams.weight
    assert table.shape == (1000, 16) and not table.any()  # starts as the unigram model
    fit(model, trec, tmp_path, steps=10)
    assert model.network.embedding.bigrams.weight.abs().sum() > 0
    model.eval()
    ids, lengths = torch.tensor([[5, 6, 7, 8]]), torch.tensor([4])
    swapped = torch.tensor([[8, 7, 6, 5]])
    with torch.no_grad():
        assert not torch.allclose(model(ids, lengths), model(swapped, lengths))  # a bag of bigrams is not a bag of words
        plain = built(trec, encoder="bag").eval()
        assert torch.allclose(plain(ids, lengths), plain(swapped, lengths), atol=1e-6)
