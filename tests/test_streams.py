import threading
import time

import numpy as np
import pytest
import torch

from textclf import load_classifier
from textclf.streams import MIN_BATCHES_PER_STREAM, run_batches


def test_streams_run_every_batch_on_one_thread_each_and_restore_the_setting():
    threads_before = torch.get_num_threads()
    seen = {}

    def run(batch):
        time.sleep(0.01)  # long enough for the other stream to take the next batch
        seen[batch] = (threading.get_ident(), torch.get_num_threads())

    run_batches(run, list(range(8)), streams=2)
    assert sorted(seen) == list(range(8))
    assert len({ident for ident, _ in seen.values()}) == 2
    assert {n for _, n in seen.values()} == {1}
    assert torch.get_num_threads() == threads_before


@pytest.mark.parametrize("streams, batches", [(1, 9), (2, 2 * MIN_BATCHES_PER_STREAM - 1)])
def test_one_stream_or_few_batches_run_in_the_calling_thread_with_all_threads(streams, batches):
    seen = []
    run_batches(lambda b: seen.append((b, threading.get_ident(), torch.get_num_threads())), list(range(batches)),
                streams=streams)
    assert seen == [(b, threading.get_ident(), torch.get_num_threads()) for b in range(batches)]


def test_an_error_in_a_stream_is_raised_and_the_setting_restored():
    threads_before = torch.get_num_threads()

    def run(batch):
        if batch == 5:
            raise ValueError("batch 5 failed")

    with pytest.raises(ValueError, match="batch 5 failed"):
        run_batches(run, list(range(8)), streams=2)
    assert torch.get_num_threads() == threads_before


@pytest.mark.parametrize("fold", [True, False])
def test_streamed_predictions_equal_batches_in_turn(trained_run, fold):
    ckpt = str(trained_run[0] / "best.ckpt")  # a one-layer BiGRU
    texts = ["an utterly charming , hilarious film .", "dull", "the plot is a mess and the acting wooden .",
             "not bad at all", "a film that never quite finds its feet , but the cast is wonderful"] * 9
    clf = load_classifier(ckpt, fold=fold)
    clf.streams = 1
    in_turn = clf.predict_proba(texts, batch_size=4)
    clf.streams = 2
    streamed = clf.predict_proba(texts, batch_size=4)  # 12 batches over 2 streams
    np.testing.assert_allclose(streamed, in_turn, atol=1e-6)
    assert not torch.is_inference_mode_enabled()  # inference mode stayed inside the streams
