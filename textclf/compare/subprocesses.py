"""A comparison's runs each in a process of their own (`textclf train`, `textclf pretrain`), so that peak memory
and speed are that run's alone, and an interrupt leaves the run resumable."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from textclf.errors import Interrupted, TextclfError


def run_textclf(command: str, args: list[str], run_dir: str) -> None:
    """`textclf COMMAND ARGS` in a subprocess; its last error line as a TextclfError naming `run_dir`."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "textclf.cli", command, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = proc.communicate()
    except Interrupted as stop:
        # the run got the signal too (same process group) or gets it now: let it leave its run resumable
        proc.send_signal(stop.signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=60)
        raise
    if proc.returncode != 0:
        lines = (stderr or stdout).strip().splitlines()
        raise TextclfError(f"run {run_dir} failed: {lines[-1] if lines else 'no output'} (rerun compare to resume)")
