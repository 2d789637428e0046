"""Token ids held in flat arrays, length-bucketed batch sampling and dynamic padding.

Training batches group texts of similar length so that padding is a small share of the tokens;
evaluation batches are sorted by length, and each batch carries `index` so results can be put back
in input order. Under distributed training every rank gets its own disjoint share of the batches,
and all ranks the same number of batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from textclf.data.tokenizer import PAD_ID


class TokenizedSplit(torch.utils.data.Dataset):
    """One split's token ids as a flat array + offsets; `dataset[indices]` is a batch padded with `pad_id`
    (textclf's tokenizers pad with 0; a pretrained model's tokenizer brings its own)."""

    def __init__(self, ids: Sequence[Sequence[int]] | None = None, labels: Sequence[int] | None = None, *,
                 flat: np.ndarray | None = None, offsets: np.ndarray | None = None, pad_id: int = PAD_ID):
        if flat is None:
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            flat = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(offsets[-1]))
        self.flat = np.asarray(flat, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.lengths = np.diff(self.offsets)
        n = len(self.lengths)
        # (N,) class ids, -1 where unlabelled; or, multi-label, (N, labels) 0/1 floats (textclf.data.multilabel)
        if labels is None:
            self.labels = np.full(n, -1, dtype=np.int64)
        else:
            labels = np.asarray(labels)
            self.labels = labels.astype(np.float32 if labels.ndim == 2 else np.int64, copy=False)
        self.pad_id = pad_id

    @classmethod
    def from_arrow(cls, ds, pad_id: int = PAD_ID, num_labels: int | None = None) -> TokenizedSplit:
        """Build from an encoded `datasets.Dataset` (columns `ids`, `label`) without Python loops. A `label`
        column of id lists (multi-label) becomes an (N, num_labels) 0/1 matrix."""
        if ds._indices is not None:
            ds = ds.flatten_indices()
        column = ds.data.column("ids").combine_chunks()
        offsets = column.offsets.to_numpy()
        flat = column.values.to_numpy()[offsets[0]:offsets[-1]]
        label = ds.data.column("label").combine_chunks()
        if num_labels is None:
            labels = label.to_numpy()
        else:
            starts = label.offsets.to_numpy()
            labels = np.zeros((len(ds), num_labels), dtype=np.float32)
            labels[np.repeat(np.arange(len(ds)), np.diff(starts)), label.values.to_numpy()[starts[0]:starts[-1]]] = 1
        return cls(labels=labels, flat=flat, offsets=offsets - offsets[0], pad_id=pad_id)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int | Sequence[int]) -> dict[str, torch.Tensor]:
        return self.__getitems__([i] if np.isscalar(i) else i)

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        indices = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths[indices]
        width = max(int(lengths.max()), 1)
        ids = np.full((len(indices), width), self.pad_id, dtype=np.int64)
        for row, (i, n) in enumerate(zip(indices, lengths)):
            start = self.offsets[i]
            ids[row, :n] = self.flat[start:start + n]
        return {
            "input_ids": torch.from_numpy(ids),  # (B, T), T = longest in the batch
            "lengths": torch.from_numpy(lengths.copy()),  # (B,)
            "labels": torch.from_numpy(self.labels[indices]),  # (B,), -1 where unlabelled; multi-label (B, labels)
            "index": torch.from_numpy(indices),  # (B,) position in the split
        }


def collate_batch(batch):
    """The split already returns a padded batch (`__getitems__`); nothing is left to collate."""
    return batch


class EpochPermutation(torch.utils.data.Sampler):
    """A random order of n indices drawn from (seed, epoch): the same epoch gives the same order.

    It is the `sampler` of `BucketBatchSampler`, where Lightning looks for `set_epoch` (it calls it on
    `batch_sampler.sampler` at the start of every epoch, never on the batch sampler itself)."""

    def __init__(self, n: int, seed: int = 0):
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch])

    def __iter__(self) -> Iterator[int]:
        return iter(self.rng().permutation(self.n).tolist())

    def __len__(self) -> int:
        return self.n


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of indices with similar lengths.

    shuffle=True: permute with (seed, epoch), sort inside chunks of `bucket_batches` batches, cut into
    batches and shuffle the batch order. shuffle=False: sort the whole split by length.
    The epoch lives in `sampler` (an `EpochPermutation`), which Lightning advances every epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_batches: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.bucket_batches = bucket_batches
        self.num_replicas = num_replicas
        self.rank = rank
        self.sampler = EpochPermutation(len(self.lengths), seed)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def all_batches(self) -> list[np.ndarray]:
        """Every batch of the epoch, over all ranks."""
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i:i + bs] for i in range(0, n, bs)]
        rng = self.sampler.rng()
        perm = rng.permutation(n)
        chunk = bs * self.bucket_batches
        batches = []
        for start in range(0, n, chunk):
            part = perm[start:start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches.extend(part[i:i + bs] for i in range(0, len(part), bs))
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.all_batches()
        if self.num_replicas > 1:
            # all ranks must step the same number of times: repeat leading batches to even out
            total = len(self) * self.num_replicas
            batches = batches + batches[: total - len(batches)]
            batches = batches[self.rank::self.num_replicas]
        for b in batches:
            yield b.tolist()

    def __len__(self) -> int:
        # chunks hold whole batches, so bucketing makes as many batches as plain slicing
        return math.ceil(math.ceil(len(self.lengths) / self.batch_size) / self.num_replicas)


def padding_share(lengths: np.ndarray, batches: Sequence[Sequence[int]]) -> float:
    """Share of the token slots in `batches` that are padding."""
    real = padded = 0
    for b in batches:
        lens = lengths[np.asarray(b)]
        real += int(lens.sum())
        padded += int(lens.max()) * len(lens)
    return 1 - real / padded if padded else 0.0
