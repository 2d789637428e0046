"""Runtime switches for the speed paths: process-wide choices of how to compute, never saved with a model.

Each switch names a faster implementation of something the plain path also does, with the same
results (tests tie each one to the plain path); their figures are in bench/README.md. All are on by
default except `packed_rnn`. Turn one off to measure it or to rule it out:

    from textclf.model import speed
    with speed.switched(threaded_directions=False):
        ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from textclf.errors import TextclfError

_SWITCHES = {
    "threaded_directions": True,  # a bidirectional RNN layer's two directions on two CPU threads (threaded_directions.py)
    "fast_dropout": True,  # CPU dropout masks from 16-bit uniform numbers (fast_dropout.py)
    "fast_pooling": True,  # CPU mean/max pooling that masks only the padded tail (fast_pooling.py)
    "packed_rnn": False,  # RNN kernels on PackedSequences instead of the padded batch (exact either way)
}


def names() -> tuple[str, ...]:
    """Every switch."""
    return tuple(_SWITCHES)


def enabled(name: str) -> bool:
    """Whether the speed path `name` is on."""
    return _SWITCHES[name]


def set_switch(name: str, on: bool) -> None:
    """Turn the speed path `name` on or off for the whole process."""
    if name not in _SWITCHES:
        raise TextclfError(f"unknown speed switch {name!r}: choose one of {', '.join(_SWITCHES)}")
    _SWITCHES[name] = bool(on)


@contextlib.contextmanager
def switched(**values: bool) -> Iterator[None]:
    """The switches given set for the block, restored after it."""
    before = {name: _SWITCHES.get(name) for name in values}
    try:
        for name, on in values.items():
            set_switch(name, on)
        yield
    finally:
        for name, on in before.items():
            if on is not None:
                _SWITCHES[name] = on
