"""Faster ways to predict with the same network, chosen when a checkpoint is loaded (`load_classifier`),
never saved in it:

- folded_rnn: CPU prediction of a one-layer RNN/LSTM/GRU with its embedding folded into the input weights
- batch_threads: prediction batches as parallel threads, one per core

Each is tied to the plain path by a test; the measurements are in bench/README.md.
"""
