import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

# Hub look-ups fail fast instead of retrying for half a minute on machines without a network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _quiet():
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)


def textclf(*args, cwd=None, input=None, timeout=600):
    """Run the real `textclf` command in a subprocess."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "textclf.cli", *map(str, args)],
        cwd=cwd or ROOT, input=input, capture_output=True, text=True, timeout=timeout, env=env,
    )


TINY = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "8", "--trainer.limit_val_batches", "2",
        "--trainer.enable_progress_bar", "false"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A tiny real run on data/sst2 (a few steps), trained once for the whole session."""
    from textclf.training.run import train

    run_dir = tmp_path_factory.mktemp("runs") / "sst2-gru"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        metrics = train(["--config", "configs/sst2.yaml", "--run_dir", str(run_dir), *TINY,
                         "--trainer.limit_val_batches", "1.0"])
    finally:
        os.chdir(cwd)
    return run_dir, metrics


class Done:
    """What a command did: its exit code and output, as subprocess.run gives them."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `textclf ARGS` in this process (the real entry point, without a subprocess's start-up):
    `cli("predict", ckpt, "text", stdin=...)` -> Done."""
    import io

    from textclf.cli import main

    def run(*args, stdin: str | None = None) -> Done:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = main([str(a) for a in args])
        except SystemExit as done:
            code = done.code
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run
