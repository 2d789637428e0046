"""The network, in plain PyTorch: embedding -> encoders/ -> pooling -> head (network.py), and the
checkpoint archive that rebuilds it (checkpoint.py)."""
