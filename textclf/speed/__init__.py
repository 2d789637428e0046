"""Faster ways to compute what the plain model path computes, chosen at run time, never saved in a checkpoint.

- threaded_directions: the two directions of a bidirectional RNN layer on two CPU threads
- fast_dropout: CPU dropout masks drawn four per 64-bit random number
- fast_pooling: CPU mean/max pooling that masks only the padded tail
- batch_threads: prediction batches as parallel threads, one per core
- folded_rnn: CPU prediction of a one-layer RNN/LSTM/GRU with its embedding folded into the input weights
- latin1_words: the `word` tokenizer's ids for Latin-1 text with numpy

The first three are switches (`switches.py`); folding and batch threads are `load_classifier` choices.
Each is tied to the plain path by a test; the measurements are in bench/README.md.
"""

from textclf.speed.switches import enabled, set_switch, switched

__all__ = ["enabled", "set_switch", "switched"]
