"""Prediction batches run as parallel streams on the CPU: one batch per core, each op on one thread.

torch splits every op of a batch across its intra-op threads. The ops of a prediction pass are many
and small (layer norms, activations, the steps of an RNN), and each split costs a fork and a join,
so the threads wait on each other. Running whole batches side by side instead, each Python thread
with one intra-op thread, keeps every core busy on its own batch (torch releases the GIL inside its
kernels). Measured on 2 cores, model time for 1,000 IMDB reviews, batches in turn -> as streams
(best of 4, taking turns): Transformer 1.08 -> 0.97-1.03 s and 1.30 -> 1.05-1.15 s; BiLSTM through
torch's kernels 1.02 -> 0.86 s, BiGRU 1.13 -> 1.01 s; folded BiLSTM 0.75-0.89 -> 0.56-0.66 s. The
folded BiGRU and vanilla RNN do not gain (0.50 -> 0.49-0.56 s, 0.16 -> 0.18 s), so they stay in turn
(`textclf.folded_rnn.FoldedRNN.streamed`).

With few batches the streams lose: the last batch leaves the other cores idle. So they run only
with at least `MIN_BATCHES_PER_STREAM` batches per stream, and callers should hand over the costliest
batches first (predict: the longest). Transformer, texts/s in turn / as streams (shortest first) / as
streams (longest first): 100 IMDB reviews (4 batches) 502 / 351 / 471; 300 (10 batches) 545 / 586 / 624.

The threads setting is process-wide: for the call it is 1, then restored. One streamed call runs
at a time in a process (a lock), so calls from several user threads cannot undo each other's setting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
_ONE_AT_A_TIME = threading.Lock()
MIN_BATCHES_PER_STREAM = 4


def run_batches(run: Callable[[T], object], batches: Sequence[T], streams: int) -> None:
    """`run(batch)` for every batch: `streams` at a time, each on one intra-op thread, or (streams 1,
    or under MIN_BATCHES_PER_STREAM batches a stream) one after the other on all of them. `run` must
    not depend on the order of the batches, nor on thread-local state set by the caller (inference
    mode and autocast are per thread: set them inside `run`). An exception in a batch is raised here."""
    if streams <= 1 or len(batches) < MIN_BATCHES_PER_STREAM * streams:
        for batch in batches:
            run(batch)
        return
    with _ONE_AT_A_TIME:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(streams, thread_name_prefix="textclf-stream") as pool:
                for _ in pool.map(run, batches):  # consumed, so that an error is raised
                    pass
        finally:
            torch.set_num_threads(threads)
