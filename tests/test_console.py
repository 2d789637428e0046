"""What a user sees: a training run prints its summary, one line per epoch (counted from 1) and its
paths, each once, and nothing from Lightning; the user's own warnings are not silenced."""

import csv
import json
import os
import subprocess
import sys

from conftest import ROOT

from textclf import __version__


def run_textclf(*args, code: str | None = None):
    """The real command in a fresh process, with the environment a user has (no PYTHONWARNINGS)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "textclf.cli", *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_a_training_run_prints_each_line_once_and_nothing_from_lightning(tmp_path):
    run = tmp_path / "run"
    done = run_textclf("train", "--config", "configs/trec.yaml", "--trainer.max_epochs", "2",
                       "--trainer.limit_train_batches", "5", "--run_dir", run)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), [line for line in lines if lines.count(line) > 1]
    text = "\n".join(lines)
    for noise in ("litlogger", "INFO", "GPU available", "Trainer.fit", "Warning", "warn("):
        assert noise not in text, noise
    assert "epoch 1/2  train_loss" in done.stdout and "epoch 2/2  train_loss" in done.stdout  # a pipe: plain lines
    assert "parameters: embedding" in text and f"best checkpoint: {run / 'best.ckpt'}" in text
    assert f"metrics: {run / 'metrics.json'}" in text and f"logs: {run / 'logs' / 'metrics.csv'}" in text
    with open(run / "logs" / "metrics.csv", newline="") as f:
        assert sorted({int(row["epoch"]) for row in csv.DictReader(f)}) == [1, 2]
    assert [h["epoch"] for h in json.loads((run / "metrics.json").read_text())["history"]] == [1, 2]


def test_verbose_shows_lightnings_lines_once(tmp_path):
    done = run_textclf("train", "--config", "configs/trec.yaml", "--trainer.max_epochs", "1",
                       "--trainer.limit_train_batches", "3", "--run_dir", tmp_path / "run", "--verbose")
    assert done.returncode == 0, done.stderr
    out = (done.stdout + done.stderr).splitlines()
    gpu = [line for line in out if "GPU available" in line]
    assert len(gpu) == 1, gpu


def test_the_users_own_warnings_still_show(trained_run):
    code = ("import warnings, sys\nfrom textclf.cli import main\n"
            f"main(['predict', {str(trained_run[0] / 'best.ckpt')!r}, 'a text'])\nwarnings.warn('the user warns')\n")
    done = run_textclf(code=code)
    assert done.returncode == 0, done.stderr
    assert "UserWarning: the user warns" in done.stderr


def test_version():
    done = run_textclf("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"textclf {__version__}"
