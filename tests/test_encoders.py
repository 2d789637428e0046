"""Every registered encoder and pooling: forward/backward, padding invariance, sizes, init, options."""

import pytest
import torch
from conftest import DATA
from tiny_bert import tiny_architecture
from torch import nn
from torch.overrides import TorchFunctionMode

from textclf.errors import TextclfError
from textclf.model import speed
from textclf.model.encoders import ENCODERS, build_encoder, encoder_options, option_names
from textclf.model.network import NetworkConfig, TextNetwork
from textclf.training.module import ENCODER_OPTIONS, LitTextClassifier

POOLINGS = [(name, pooling) for name, cls in ENCODERS.items() for pooling in cls.poolings]


@pytest.fixture(scope="module")
def sst2_batch():
    """A real batch of SST-2 sentences, tokenized with a tokenizer trained on its train split."""
    from textclf.data.datamodule import TextDataModule

    dm = TextDataModule(str(DATA / "sst2"), batch_size=16)
    dm.setup()
    return dm, next(iter(dm.train_dataloader()))


SMALL = {"hidden_size": 24, "num_heads": 4, "ff_dim": 48, "max_positions": 300}


def small_model(encoder, vocab, **options):
    """A small network of `encoder` with 3 classes; of SMALL and `options`, only what the encoder takes (the
    pretrained encoder: a tiny random BERT, tests/tiny_bert.py)."""
    torch.manual_seed(0)
    small = {**SMALL, "architecture": tiny_architecture(vocab, max_positions=600) if encoder == "pretrained" else None}
    taken = {k: v for k, v in {**small, **options}.items() if k in encoder_options(encoder) and v is not None}
    return TextNetwork(NetworkConfig(encoder, vocab, 3, embedding_dim=32, encoder_options=taken))


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
    model = small_model(name, dm.vocab_size, pooling=pooling, num_layers=2).eval()
    n = int(batch["lengths"].min())
    short = batch["input_ids"][batch["lengths"].argmin(), :n]
    longer = torch.randint(2, dm.vocab_size, (3, 4 * n + 40))
    padded = torch.zeros(4, longer.shape[1], dtype=torch.long)
    padded[0, :n] = short
    padded[1:] = longer
    with torch.no_grad(), speed.switched(packed_rnn=packed):
        alone = model(short[None], torch.tensor([n]))
        in_batch = model(padded, torch.tensor([n, *[longer.shape[1]] * 3]))
    torch.testing.assert_close(alone[0], in_batch[0], atol=1e-5, rtol=0)


# weight blocks per layer as torch lays them out: LSTM i, f, g, o; GRU r, z, n; a vanilla RNN one
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@pytest.mark.parametrize("name", list(GATES))
def test_orthogonal_init_makes_every_gate_block_orthogonal_and_zeroes_the_biases(name):
    enc = build_encoder(name, 16, hidden_size=24, num_layers=2, init="orthogonal")
    assert enc.gates == GATES[name]
    for pname, p in enc.named_parameters():
        if "weight_hh" in pname:
            assert p.shape[0] == GATES[name] * 24
            for g in range(GATES[name]):
                w = p[g * 24:(g + 1) * 24]
                torch.testing.assert_close(w @ w.T, torch.eye(24), atol=1e-5, rtol=0)
        elif ".bias" in pname and name != "lstm":  # the LSTM's forget bias is set after the init
            assert p.abs().sum() == 0


def test_default_init_is_not_orthogonal():
    enc = build_encoder("gru", 16, hidden_size=24, init="default")
    w = enc.layers[0][0].weight_hh_l0[:24]
    assert not torch.allclose(w @ w.T, torch.eye(24), atol=1e-2)


def test_lstm_forget_bias_is_set_on_every_layer_and_direction():
    enc = build_encoder("lstm", 16, hidden_size=24, num_layers=2, forget_bias=1.0)
    assert len(enc.direction_rnns()) == 4  # 2 layers x 2 directions
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


class CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", list(ENCODERS))
def test_the_work_per_batch_does_not_grow_with_text_length(name):
    """Encoders run fused kernels over whole sequences: a 4x longer batch makes the same torch calls
    (a Python loop over time steps would make 4x as many)."""
    model = small_model(name, 50, num_layers=2).eval()
    calls = []
    for t in (10, 40):
        ids = torch.randint(2, 50, (3, t))
        with torch.no_grad(), speed.switched(threaded_directions=False), CountCalls() as counter:
            model(ids, torch.tensor([t, t - 3, 2]))
        calls.append(counter.calls)
    assert calls[0] == calls[1] > 0


def test_the_cells_are_torchs():
    assert issubclass(ENCODERS["gru"].cell, nn.GRU) and issubclass(ENCODERS["lstm"].cell, nn.LSTM)
    assert ENCODERS["rnn"].cell is nn.RNN


def test_an_option_of_another_encoder_is_an_error_naming_what_the_encoder_takes():
    with pytest.raises(TextclfError, match=r"--model.hidden_size does not apply to the transformer encoder: drop it "
                                           r"\(the transformer encoder takes num_layers, num_heads"):
        build_encoder("transformer", 16, hidden_size=64)
    with pytest.raises(TextclfError, match="--model.num_heads does not apply to the gru encoder"):
        LitTextClassifier(encoder="gru", num_heads=2)
    with pytest.raises(TextclfError, match="--model.forget_bias does not apply to the gru encoder"):
        build_encoder("gru", 16, forget_bias=1.0)
    LitTextClassifier(encoder="lstm", forget_bias=0.5, hidden_size=16)  # its own options are fine


def test_the_module_offers_exactly_the_encoders_options():
    assert set(ENCODER_OPTIONS) == option_names()


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_pooled_states_match_torchs_packed_bidirectional_kernel(name, pooling, num_layers):
    """Our per-direction kernels, pooled direction by direction, equal torch's bidirectional kernel on
    packed input with its (B, T, 2H) outputs pooled in reading order (`last`: its final states)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from textclf.model.pooling import MaskedPooling

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


def test_bigram_ids_hash_each_ordered_pair_and_start_from_padding():
    from textclf.model.embedding import bigram_ids

    ids = torch.tensor([[3, 4, 3, 4, 0], [4, 3, 4, 3, 0]])
    b = bigram_ids(ids, 50_000)
    assert b.shape == ids.shape and b.min() >= 0 and b.max() < 50_000
    assert b[0, 1] == b[0, 3] == b[1, 2]  # (3, 4) wherever it occurs
    assert b[0, 1] != b[0, 2]  # (3, 4) and (4, 3) differ
    assert b[0, 0] == bigram_ids(torch.tensor([[3]]), 50_000)[0, 0]  # the first token pairs with [PAD]
