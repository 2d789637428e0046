"""bench/flops.py: the analytic FLOP counts behind bench/throughput.py's share of the GEMM rate."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from flops import encoder_flops_per_token, rnn_flops_per_token, transformer_flops_per_token  # noqa: E402

from textclf.model.network import NetworkConfig  # noqa: E402


def test_small_gru_by_hand():
    # GRU, input 4, hidden 3, one direction: 3 gates x (4x3 input + 3x3 recurrent) multiply-adds = 63 -> 126 FLOPs
    assert rnn_flops_per_token(4, 3, gates=3, num_layers=1, bidirectional=False) == 126
    # both directions double it; a second layer reads the 2 x 3 outputs: 2 x 2 x 3 x 3 x (6 + 3) = 324
    assert rnn_flops_per_token(4, 3, gates=3, num_layers=2, bidirectional=True) == 252 + 324


def test_small_transformer_layer_by_hand():
    # d=4, ff=8, T=10: QKV 3*16 + out 16 + ff 2*4*8 + attention 2*10*4 = 48 + 16 + 64 + 80 = 208 MACs -> 416 FLOPs
    assert transformer_flops_per_token(4, 8, num_layers=1, seq_len=10) == 416


def test_network_config_view_matches_the_parts():
    lstm = NetworkConfig("lstm", 100, 2, embedding_dim=8,
                         encoder_options={"hidden_size": 5, "num_layers": 1, "bidirectional": True})
    assert encoder_flops_per_token(lstm, 20) == 2 * 2 * 4 * 5 * (8 + 5)
    assert encoder_flops_per_token(NetworkConfig("bag", 100, 2, embedding_dim=8), 20) == 0
