"""The folded RNN (textclf.serve.speed.folded_rnn), a second implementation of the RNN cells: the model's own
results (so this fails if torch's gate layout or the encoders change), and used only where it applies."""

import numpy as np
import pytest
import torch

from textclf import load_classifier
from textclf.model.network import NetworkConfig, TextNetwork
from textclf.serve.speed.folded_rnn import FoldedRNN, can_fold

VOCAB = 300


def _model(encoder="gru", **options) -> TextNetwork:
    torch.manual_seed(0)
    return TextNetwork(NetworkConfig(encoder, VOCAB, 3, encoder_options=options)).eval()


def _batch():
    # unsorted, with ties, a text of one token, an empty one (the model reads it as one pad slot) and
    # every text shorter than the batch's width, whose padding must not be read
    lengths = torch.tensor([5, 17, 1, 17, 9, 0, 12, 3])
    ids = torch.randint(1, VOCAB, (len(lengths), 20))
    ids[torch.arange(20)[None, :] >= lengths[:, None]] = 0
    return ids, lengths


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
@pytest.mark.parametrize("encoder,nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("gru", "tanh"), ("lstm", "tanh")])
def test_folded_logits_equal_the_models(encoder, nonlinearity, pooling, bidirectional):
    rnn_options = {"nonlinearity": nonlinearity} if encoder == "rnn" else {}
    model = _model(encoder=encoder, pooling=pooling, bidirectional=bidirectional, **rnn_options)
    ids, lengths = _batch()
    with torch.inference_mode():
        expected = model(ids, lengths)
        folded = FoldedRNN(model)(ids, lengths)
    assert folded.shape == expected.shape == (len(lengths), 3)
    torch.testing.assert_close(folded, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("options", [
    {"encoder": "gru", "pooling": "attention"},  # scores the states in reading order: not kept as a running value
    {"encoder": "gru", "num_layers": 2},
    {"encoder": "transformer"},
    {"encoder": "bag"},
])
def test_not_folded_where_it_does_not_apply(options):
    assert not can_fold(_model(**options))


def test_not_folded_with_hashed_bigrams():
    # a token's input then depends on the token before it, which a per-token table cannot hold
    torch.manual_seed(0)
    model = TextNetwork(NetworkConfig("gru", VOCAB, 3, bigrams=100)).eval()
    assert can_fold(_model(encoder="gru")) and not can_fold(model)


def test_not_folded_when_the_table_would_be_too_large(monkeypatch):
    import textclf.serve.speed.folded_rnn

    model = _model(encoder="gru")
    assert can_fold(model)
    table_bytes = 2 * VOCAB * 3 * 128 * 4  # directions x vocabulary x gates x hidden, fp32
    monkeypatch.setattr(textclf.serve.speed.folded_rnn, "MAX_TABLE_BYTES", table_bytes - 1)
    assert not can_fold(model)


def test_classifier_folds_on_cpu_fp32_only_with_the_same_probabilities(trained_run):
    ckpt = str(trained_run[0] / "best.ckpt")  # a one-layer BiGRU with max pooling
    texts = ["an utterly charming , hilarious film .", "dull", "the plot is a mess and the acting wooden ."] * 7
    folded = load_classifier(ckpt)
    kernels = load_classifier(ckpt, fold=False)
    assert isinstance(folded.forward, FoldedRNN) and kernels.forward is kernels.model
    np.testing.assert_allclose(folded.predict_proba(texts), kernels.predict_proba(texts), atol=1e-5)
    np.testing.assert_allclose(folded.predict_proba(texts, batch_size=4), kernels.predict_proba(texts), atol=1e-5)
    # bf16 autocast and int8 quantization run the model (or its quantized copy) itself
    assert not isinstance(load_classifier(ckpt, precision="bf16").forward, FoldedRNN)
    assert not isinstance(load_classifier(ckpt, quantize=True).forward, FoldedRNN)


def test_a_trained_bigram_checkpoint_predicts_as_its_network(tmp_path, monkeypatch):
    from conftest import ROOT, TINY

    from textclf.training.module import load_module
    from textclf.training.run import train

    monkeypatch.chdir(ROOT)
    run = tmp_path / "bigrams"
    train(["--config", "configs/trec.yaml", "--model.bigrams", "5000", "--run_dir", str(run), *TINY])
    clf = load_classifier(run / "best.ckpt")
    assert not isinstance(clf.forward, FoldedRNN)
    texts = ["What is the capital of France ?", "Who wrote Hamlet ?", "How many feet in a mile ?"]
    network = load_module(run / "best.ckpt").network.eval()
    table = network.embedding.bigrams.weight
    assert table.shape == (5000, 128) and table.abs().sum() > 0  # trained, saved and loaded
    data = clf.encode(texts)
    batch = data[list(range(len(texts)))]
    with torch.inference_mode():
        expected = torch.softmax(network(batch["input_ids"], batch["lengths"]), -1).numpy()
    np.testing.assert_allclose(clf.predict_proba(texts), expected, atol=1e-5)
