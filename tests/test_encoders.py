"""Every registered encoder and pooling: forward/backward, padding invariance, sizes, init."""

import ast
import inspect

import pytest
import torch
from conftest import DATA
from torch import nn

from textclf import encoders
from textclf.encoders import ENCODERS, build_encoder
from textclf.errors import TextclfError
from textclf.model import TextClassifier

POOLINGS = [(name, pooling) for name, cls in ENCODERS.items() for pooling in cls.poolings]


@pytest.fixture(scope="module")
def sst2_batch():
    """A real batch of SST-2 sentences, tokenized with a tokenizer trained on its train split."""
    from textclf.data.datamodule import TextDataModule

    dm = TextDataModule(str(DATA / "sst2"), batch_size=16)
    dm.setup()
    return dm, next(iter(dm.train_dataloader()))


def small_model(encoder, vocab, pooling=None, **kw):
    torch.manual_seed(0)
    return TextClassifier(encoder=encoder, embedding_dim=32, hidden_size=24, num_heads=4, ff_dim=48, pooling=pooling,
                          num_embeddings=vocab, num_classes=3, label_names=["a", "b", "c"], max_positions=300, **kw)


@pytest.mark.parametrize("name", list(ENCODERS))
def test_forward_backward_on_real_batch_reaches_every_parameter(name, sst2_batch):
    dm, batch = sst2_batch
    model = small_model(name, dm.vocab_size, num_layers=2)
    logits = model(batch["input_ids"], batch["lengths"])
    assert logits.shape == (batch["input_ids"].shape[0], 3)
    torch.nn.functional.cross_entropy(logits, batch["labels"]).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("name,pooling", POOLINGS)
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_padding_never_changes_the_output(name, pooling, packed, sst2_batch):
    dm, batch = sst2_batch
    if packed and name not in ("rnn", "lstm", "gru"):
        pytest.skip("packing applies to RNNs only")
    model = small_model(name, dm.vocab_size, pooling=pooling, num_layers=2, packed=packed).eval()
    n = int(batch["lengths"].min())
    short = batch["input_ids"][batch["lengths"].argmin(), :n]
    longer = torch.randint(2, dm.vocab_size, (3, 4 * n + 40))
    padded = torch.zeros(4, longer.shape[1], dtype=torch.long)
    padded[0, :n] = short
    padded[1:] = longer
    with torch.no_grad():
        alone = model(short[None], torch.tensor([n]))
        in_batch = model(padded, torch.tensor([n, *[longer.shape[1]] * 3]))
    torch.testing.assert_close(alone[0], in_batch[0], atol=1e-5, rtol=0)


def recurrent_weights(name, size=32):
    enc = build_encoder(name, 16, hidden_size=size, num_layers=1, bidirectional=False)
    return sum(p.numel() for n, p in enc.named_parameters() if "weight_hh" in n)


def test_recurrent_weights_lstm_gru_rnn_are_4_3_1():
    lstm, gru, rnn = (recurrent_weights(n) for n in ("lstm", "gru", "rnn"))
    assert (lstm / rnn, gru / rnn) == (4, 3)


def test_orthogonal_init_gives_orthogonal_recurrent_blocks():
    for name in ("rnn", "gru", "lstm"):
        enc = build_encoder(name, 16, hidden_size=24, num_layers=2, init="orthogonal")
        for pname, p in enc.named_parameters():
            if "weight_hh" in pname:
                for g in range(enc.gates):
                    w = p[g * 24:(g + 1) * 24]
                    torch.testing.assert_close(w @ w.T, torch.eye(24), atol=1e-5, rtol=0)
            elif ".bias" in pname and name != "lstm":
                assert p.abs().sum() == 0


def test_default_init_is_not_orthogonal():
    enc = build_encoder("gru", 16, hidden_size=24, init="default")
    w = enc.layers[0][0].weight_hh_l0[:24]
    assert not torch.allclose(w @ w.T, torch.eye(24), atol=1e-2)


def test_lstm_forget_bias_is_set_on_every_layer_and_direction():
    enc = build_encoder("lstm", 16, hidden_size=24, num_layers=2, forget_bias=1.0)
    assert len(enc.kernels()) == 4  # 2 layers x 2 directions
    for pname, p in enc.named_parameters():
        if "bias_ih" in pname:
            assert torch.all(p[24:48] == 1.0)
        if "bias_hh" in pname:
            assert torch.all(p[24:48] == 0.0)


def test_output_dim_sizes_the_head():
    for name in ENCODERS:
        model = small_model(name, 100, bidirectional=True)
        assert model.head[-1].in_features == model.encoder.output_dim
    assert small_model("gru", 100).encoder.output_dim == 48  # 2 directions x 24


def test_unknown_encoder_and_pooling_list_the_known_ones():
    with pytest.raises(TextclfError, match="unknown encoder 'cnn': choose one of bag, rnn, lstm, gru, transformer"):
        build_encoder("cnn", 8)
    with pytest.raises(TextclfError, match="choose one of last, mean, max, attention"):
        build_encoder("gru", 8, pooling="cls")


def test_no_python_loop_over_time_steps_in_any_forward():
    """Encoders run fused kernels on whole sequences: their forward methods contain no loop over T."""
    for cls in {*ENCODERS.values(), encoders.SelfAttention, encoders.TransformerBlock}:
        tree = ast.parse(inspect.getsource(cls.forward).strip().replace("\n    ", "\n"))
        loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))]
        # the only loops allowed are over layers (Transformer blocks, stacked RNN layers)
        assert all(any(w in ast.unparse(n.target) for w in ("block", "layer")) for n in loops if isinstance(n, ast.For)), cls
        assert not [n for n in loops if isinstance(n, ast.While)]
    assert issubclass(ENCODERS["gru"].cell, nn.GRU) and issubclass(ENCODERS["lstm"].cell, nn.LSTM)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_pooled_states_match_torchs_packed_bidirectional_kernel(name, pooling, num_layers):
    """Our per-direction kernels, pooled direction by direction, equal torch's bidirectional kernel on
    packed input with its (B, T, 2H) outputs pooled in reading order (`last`: its final states)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from textclf.pooling import MaskedPooling

    torch.manual_seed(0)
    enc = build_encoder(name, 8, hidden_size=6, num_layers=num_layers, pooling=pooling).eval()
    ref = enc.cell(8, 6, num_layers=num_layers, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for i, layer in enumerate(enc.layers):
            for d, rnn in enumerate(layer):
                for n, p in rnn.named_parameters():
                    getattr(ref, n.replace("l0", f"l{i}") + ("_reverse" if d else "")).copy_(p)
    x, lengths = torch.randn(3, 7, 8), torch.tensor([7, 2, 5])
    mask = torch.arange(7)[None] < lengths[:, None]
    with torch.no_grad():
        out, h = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        if pooling == "last":
            h = h[0] if name == "lstm" else h
            expected = torch.cat([h[-2], h[-1]], -1)
        else:
            pool = enc.pool if pooling == "attention" else MaskedPooling(pooling, 12)
            expected = pool(pad_packed_sequence(out, batch_first=True)[0], mask)
        torch.testing.assert_close(enc(x, lengths, mask), expected, atol=1e-6, rtol=1e-5)
