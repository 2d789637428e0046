import numpy as np
import pytest
from conftest import DATA

from textclf.data.batching import BucketBatchSampler, TokenizedSplit, padding_share
from textclf.data.tokenizer import PAD_ID


@pytest.fixture(scope="module")
def lengths():
    import datasets

    texts = datasets.load_dataset(str(DATA / "chnsenticorp"), split="train")["text"][:]
    return np.array([min(len(t), 256) for t in texts])  # real, skewed lengths (characters, truncated at 256)


def test_every_example_exactly_once_per_epoch(lengths):
    s = BucketBatchSampler(lengths, 64, seed=3)
    for epoch in (0, 1):
        s.set_epoch(epoch)
        seen = np.concatenate(list(s))
        assert sorted(seen.tolist()) == list(range(len(lengths)))
        assert len(list(s)) == len(s)


def test_same_order_for_same_seed_and_epoch_different_otherwise(lengths):
    a, b = BucketBatchSampler(lengths, 64, seed=3), BucketBatchSampler(lengths, 64, seed=3)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(a) != list(BucketBatchSampler(lengths, 64, seed=4))


def test_bucketing_cuts_padding_far_below_plain_shuffled_batches(lengths):
    s = BucketBatchSampler(lengths, 64, seed=0)
    bucketed = padding_share(lengths, list(s))
    perm = np.random.default_rng(0).permutation(len(lengths))
    plain = padding_share(lengths, [perm[i:i + 64] for i in range(0, len(perm), 64)])
    assert bucketed < 0.05 < 0.3 < plain


def test_two_ranks_get_disjoint_shards_of_equal_size(lengths):
    n = 64 * 100  # 100 batches: divisible by two ranks, no batch repeated
    r0 = list(BucketBatchSampler(lengths[:n], 64, seed=1, num_replicas=2, rank=0))
    r1 = list(BucketBatchSampler(lengths[:n], 64, seed=1, num_replicas=2, rank=1))
    assert len(r0) == len(r1) == 50
    s0, s1 = set(np.concatenate(r0).tolist()), set(np.concatenate(r1).tolist())
    assert not s0 & s1
    assert s0 | s1 == set(range(n))


def test_ranks_step_equally_when_batches_do_not_divide(lengths):
    n = 64 * 7 + 5  # 8 batches... 3 ranks
    counts = [len(list(BucketBatchSampler(lengths[:n], 64, num_replicas=3, rank=r))) for r in range(3)]
    assert counts == [3, 3, 3]
    assert all(len(BucketBatchSampler(lengths[:n], 64, num_replicas=3, rank=r)) == 3 for r in range(3))


def test_eval_batches_sorted_by_length_and_index_restores_order():
    split = TokenizedSplit([[5, 6, 7], [8], [9, 10]], labels=[1, 0, 1])
    batches = list(BucketBatchSampler(split.lengths, 2, shuffle=False))
    assert batches == [[1, 2], [0]]
    batch = split[batches[0]]
    assert batch["input_ids"].tolist() == [[8, PAD_ID], [9, 10]]
    assert batch["lengths"].tolist() == [1, 2]
    assert batch["labels"].tolist() == [0, 1]
    assert batch["index"].tolist() == [1, 2]


def test_a_real_fit_reshuffles_every_epoch(tmp_path):
    """Lightning advances the batch order through `batch_sampler.sampler.set_epoch`: each epoch of a real
    `Trainer.fit` sees its own order, and with limit_train_batches its own subset."""
    import lightning as L

    from textclf.data.datamodule import TextDataModule
    from textclf.training.module import LitTextClassifier

    class RecordBatches(L.Callback):
        def __init__(self):
            self.seen: dict[int, list[list[int]]] = {}

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.seen.setdefault(trainer.current_epoch, []).append(batch["index"].tolist())

    dm = TextDataModule(path=str(DATA / "trec"), seed=7, batch_size=32)
    record = RecordBatches()
    trainer = L.Trainer(max_epochs=3, limit_train_batches=10, limit_val_batches=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        use_distributed_sampler=False, callbacks=[record], default_root_dir=tmp_path)
    dm.setup("fit")
    model = LitTextClassifier(encoder="bag")
    model.build(dm.facts())
    trainer.fit(model, dm)
    epochs = [record.seen[e] for e in range(3)]
    assert all(len(batches) == 10 for batches in epochs)
    subsets = [sorted(i for b in batches for i in b) for batches in epochs]
    assert subsets[0] != subsets[1] != subsets[2] != subsets[0]
    # each epoch's order is the one (seed, epoch) gives, so a resumed run repeats it
    sampler = BucketBatchSampler(dm.splits["train"].lengths, 32, seed=dm.train_dataloader().batch_sampler.sampler.seed)
    for epoch, batches in enumerate(epochs):
        sampler.set_epoch(epoch)
        assert batches == [b for b, _ in zip(sampler, range(10))]
