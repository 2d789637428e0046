"""Faster ways to compute what the network's plain path computes, chosen at run time, never saved in a checkpoint.

- threaded_directions: the two directions of a bidirectional RNN layer on two CPU threads
- fast_dropout: CPU dropout masks drawn four per 64-bit random number
- fast_pooling: CPU mean/max pooling that masks only the padded tail
- packed_rnn (off by default): the RNN kernels on PackedSequences instead of the padded batch

Each is a switch (`switches.py`): `with speed.switched(fast_dropout=False): ...` runs the plain path.
The speed paths of other layers live there: textclf.data.latin1_words (encoding) and
textclf.serve.speed (prediction: folded_rnn, batch_threads). Each is tied to the plain path by a test;
the measurements are in bench/README.md.
"""

from textclf.model.speed.switches import enabled, names, set_switch, switched

__all__ = ["enabled", "names", "set_switch", "switched"]
