"""SIGINT and SIGTERM during a command: raised as `Interrupted` where the command can clean up, or held
back while a step that must not be cut in half runs."""

from __future__ import annotations

import contextlib
import signal
import threading

from textclf.errors import Interrupted


@contextlib.contextmanager
def _on_signals(handler):
    """`handler` for SIGINT and SIGTERM inside the block, the previous handlers after it (main thread only:
    elsewhere signals cannot be handled and the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_as_interrupts():
    """SIGINT and SIGTERM raise `Interrupted` (once: a second signal during the clean-up is ignored)."""

    def handler(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    with _on_signals(handler):
        yield


@contextlib.contextmanager
def signals_deferred():
    """Run a block whole: a SIGINT or SIGTERM that arrives inside it is raised as `Interrupted` after it."""
    received = []
    with _on_signals(lambda signum, frame: received.append(signum)):
        yield
    if received:
        raise Interrupted(received[0])
