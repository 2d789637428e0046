"""What a new user meets first, through the real commands: a progress bar on a terminal and a closing line,
the device flag, `textclf data`'s class counts, and `textclf.train` from Python giving the CLI's run."""

import json
import os
import pty
import subprocess
import sys

import pytest
import torch
from conftest import DATA, ROOT, TINY, textclf

import textclf as api
from textclf.errors import TextclfError
from textclf.serve.loading import resolve_device


@pytest.fixture(scope="module")
def questions(tmp_path_factory):
    """TREC as a newcomer's CSV: columns `category` and `question`, in that order."""
    import datasets

    ds = datasets.load_dataset(str(DATA / "trec"), split="train").select(range(3000))
    names = ds.features["label"].names
    path = tmp_path_factory.mktemp("csv") / "questions.csv"
    ds.map(lambda r: {"category": names[r["label"]], "question": r["text"]},
           remove_columns=["text", "label"]).to_csv(str(path), index=False)
    return path


def test_predict_keeps_the_columns_and_ends_with_a_line_saying_how_many_where_and_how_fast(trained_run, questions,
                                                                                           tmp_path):
    out = tmp_path / "labelled.csv"
    done = textclf("predict", trained_run[0] / "best.ckpt", "--input", questions, "--output", out)
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines()[0].startswith("category,question,label,score,prob_")
    assert f"textclf predict: 3,000 texts -> {out} in " in done.stderr and " texts/s)" in done.stderr
    assert "\x1b[" not in done.stderr  # not a terminal: no bar drawn into the log


def test_on_a_terminal_predict_shows_a_progress_bar(trained_run, questions, tmp_path):
    """stderr is a real pseudo-terminal, as in a user's shell."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "textclf.cli", "predict", str(trained_run[0] / "best.ckpt"),
                             "--input", str(questions), "--output", str(tmp_path / "p.jsonl"), "--batch_size", "8"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=terminal, env={**os.environ, "COLUMNS": "120"})
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=120) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "predict" in text and "/3000" in text and "texts/s" in text, text  # the bar: done/total and the rate
    assert "textclf predict: 3,000 texts -> " in text


def test_evaluate_says_how_many_texts_it_scored(trained_run):
    done = textclf("evaluate", trained_run[0] / "best.ckpt", "--split", "validation")
    assert done.returncode == 0, done.stderr
    assert "textclf evaluate: 872 texts scored in " in done.stderr


def test_device_auto_is_the_gpu_when_there_is_one_and_a_missing_device_is_one_line(trained_run):
    ckpt = trained_run[0] / "best.ckpt"
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert api.load_classifier(str(ckpt), device="auto").device.type == expected
    assert resolve_device("auto", cpu_only="an ONNX model") == "cpu"
    with pytest.raises(TextclfError, match="--quantize runs on the CPU only"):
        resolve_device("cuda", cpu_only="--quantize")
    done = textclf("predict", ckpt, "a fine film", "--device", "cpu")
    assert done.returncode == 0 and json.loads(done.stdout)["label"] in ("negative", "positive")
    done = textclf("predict", ckpt, "a fine film", "--device", "tpu")
    assert done.returncode == 2 and "choose one of auto, cpu, cuda, mps" in done.stderr
    if not torch.cuda.is_available():
        for command in (["predict", ckpt, "a text"], ["embed", ckpt, "a text"], ["evaluate", ckpt]):
            done = textclf(*command, "--device", "cuda")
            assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
            assert "sees no CUDA GPU here: use --device cpu" in done.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_predict_matches_the_cpu(trained_run):
    ckpt = str(trained_run[0] / "best.ckpt")
    texts = ["a gorgeous, witty movie", "dull and far too long", "fine"]
    gpu, cpu = api.load_classifier(ckpt, device="cuda"), api.load_classifier(ckpt, device="cpu")
    assert gpu.device.type == "cuda"
    assert torch.allclose(torch.tensor(gpu.predict_proba(texts)), torch.tensor(cpu.predict_proba(texts)), atol=1e-4)


def test_data_prints_each_split_once_with_its_classes_and_the_smallest():
    done = textclf("data", "--data.path", "data/trec")
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "texts, tokens mean" not in out and out.count("│ train ") == 1, out  # once: the table's row, no log line
    assert "examples per class" in out and "ABBR" in out
    assert "smallest class in train: ABBR (77 of 4,906, 1.6%)" in out


def test_python_train_is_the_cli_run_for_the_same_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    flags = {"trainer": {"max_epochs": 1, "limit_train_batches": 8, "limit_val_batches": 2, "enable_progress_bar": False},
             "model": {"encoder": "gru"}, "data": {"path": "data/trec", "max_length": 32}, "seed": 3}
    run = api.train(**flags, run_dir=str(tmp_path / "api"))
    assert run.run_dir == str(tmp_path / "api") and os.path.exists(run.checkpoint)
    assert sorted(api.load_classifier(run.checkpoint).label_names) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    done = textclf("train", "--model.encoder", "gru", "--data.path", "data/trec", "--data.max_length", "32", "--seed", "3",
                   *TINY, "--run_dir", tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    cli_metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    for split in ("val", "test"):
        assert run.metrics[split] == cli_metrics[split]
    with pytest.raises(TextclfError, match="unknown encoder 'nope'"):
        api.train(model={"encoder": "nope"}, run_dir=str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def test_a_run_that_stopped_early_says_why(capsys):
    from textclf.commands.tables import print_run_summary

    metrics = {"dataset": "trec", "encoder": "gru", "val": {"acc": 0.8, "f1": 0.7}, "best_epoch": 4, "epochs": 7,
               "stopped_by": "early stopping", "wall_seconds": 12.0, "train_tokens_per_second": 1000.0,
               "parameters": {"total": 10}, "best_checkpoint": "runs/x/best.ckpt"}
    print_run_summary(metrics)
    out = " ".join(capsys.readouterr().out.split())
    assert "best epoch 4 of 7 (stopped early: validation macro-F1 did not improve in the 3 epochs after it" in out
