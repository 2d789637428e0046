"""Opt-in int8 dynamic quantization for CPU prediction (`textclf predict --quantize`).

LSTM/GRU and Linear weights become int8; activations are quantized on the fly. The accuracy change
is measured by bench/quantize.py, the speed by bench/throughput.py; both are in bench/README.md.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from textclf.model.network import TextNetwork


def quantize_dynamic(model: TextNetwork) -> TextNetwork:
    """A copy of `model` whose LSTM/GRU/Linear layers run in int8 (CPU only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
        return torch.ao.quantization.quantize_dynamic(model.cpu().eval(), {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8)
