"""End-to-end: the real commands on bundled data with tiny budgets."""

import json
import shutil

import pytest
from conftest import ROOT, TINY, textclf


def one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    # log lines (what was detected, loaded...) may come first; the error itself is one last line
    lines = [line for line in result.stderr.strip().splitlines() if "error" in line.lower()]
    assert len(lines) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == lines[0]
    assert lines[0].startswith("textclf ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_train_evaluate_predict_from_a_copied_checkpoint(tmp_path):
    run = tmp_path / "run"
    r = textclf("train", "--config", "configs/trec.yaml", "--run_dir", run, *TINY, "--trainer.limit_val_batches", "1.0",
                "--trainer.limit_train_batches", "30")
    assert r.returncode == 0, r.stderr
    assert "best checkpoint:" in r.stdout
    for name in ("best.ckpt", "last.ckpt", "config.yaml", "metrics.json", "tokenizer.json", "logs/metrics.csv"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    # the majority class (DESC/ENTY) is 27.6% of the test split; half an epoch learns far more (0.67 seen)
    assert metrics["test"]["acc"] > 0.5 and metrics["parameters"]["encoder"] > 0
    assert metrics["train_tokens_per_second"] > 0 and metrics["epochs"] == 1

    r = textclf("evaluate", run / "best.ckpt", "--output", tmp_path / "eval.json")
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["examples"] == 500  # the TREC test split the model was trained beside
    assert set(result["per_class"]) == {"DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"}
    assert abs(result["accuracy"] - metrics["test"]["acc"]) < 1e-6
    assert "confusion matrix" in r.stdout

    # TREC has no validation split: evaluate carves it again as training did (same rows, same accuracy)
    r = textclf("evaluate", run / "best.ckpt", "--split", "validation", "--output", tmp_path / "val.json")
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "val.json").read_text())
    assert result["examples"] == metrics["data"]["validation"]["examples"] == 546  # 10% of 5,452, rounded up
    assert abs(result["accuracy"] - metrics["val"]["acc"]) < 1e-6

    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(run / "best.ckpt", lonely / "model.ckpt")
    r = textclf("predict", "model.ckpt", "What is the capital of France ?", "Who wrote Hamlet ?", "--top_k", "2",
                cwd=lonely)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [rec["text"] for rec in records] == ["What is the capital of France ?", "Who wrote Hamlet ?"]
    assert all(len(rec["probs"]) == 2 and rec["label"] in rec["probs"] for rec in records)

    (lonely / "in.txt").write_text("How far is the moon ?\nWhat does NASA stand for ?\n", encoding="utf-8")
    r = textclf("predict", "model.ckpt", "--input", "-", "--output", "out.jsonl", cwd=lonely,
                input=(lonely / "in.txt").read_text())
    assert r.returncode == 0, r.stderr
    assert len((lonely / "out.jsonl").read_text().splitlines()) == 2

    r = textclf("predict", "model.ckpt", "--input", "in2.txt", cwd=lonely)
    one_line_error(r, "does not exist")
    (lonely / "in2.txt").write_text("fine\n\nmore\n", encoding="utf-8")
    one_line_error(textclf("predict", "model.ckpt", "--input", "in2.txt", "--strict", cwd=lonely),
                   "line 2 of in2.txt is empty")


@pytest.mark.slow
def test_second_train_into_same_run_dir_refuses_and_keeps_the_run(tmp_path):
    run = tmp_path / "run"
    assert textclf("train", "--config", "configs/sst2.yaml", "--run_dir", run, *TINY).returncode == 0
    before = (run / "best.ckpt").read_bytes()
    r = textclf("train", "--config", "configs/sst2.yaml", "--run_dir", run, *TINY)
    one_line_error(r, "already holds a run", "--overwrite", "--resume")
    assert (run / "best.ckpt").read_bytes() == before

    # --resume continues from last.ckpt for the epochs still to do
    r = textclf("train", "--config", "configs/sst2.yaml", "--run_dir", run, *TINY[2:], "--trainer.max_epochs", "2",
                "--resume")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]

    # a failing --overwrite leaves the old run in place
    r = textclf("train", "--config", "configs/sst2.yaml", "--run_dir", run, "--overwrite", "--data.text_column", "nope")
    one_line_error(r, "no text column 'nope'")
    assert (run / "metrics.json").exists()


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_config_parses_and_opens_with_its_command(config, capsys, monkeypatch):
    from textclf.training.run import train

    text = (ROOT / "configs" / config).read_text()
    assert text.startswith("#") and f"configs/{config}" in text.split("\n\n")[0]
    # in process: the subprocess start-up (~10 s of imports) is covered by the other CLI tests
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as done:
        train(["--config", f"configs/{config}", "--print_config"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "encoder:" in out and "path:" in out


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["train", "--config", "configs/sst2.yaml", "--model.encoder", "cnn"], ["unknown encoder 'cnn'", "bag, rnn, lstm, gru, transformer"]),
        (["train", "--config", "configs/sst2.yaml", "--model.hiden_size", "3"], ["unknown flag --model.hiden_size", "hidden_size"]),
        (["train", "--config", "configs/sst2.yaml", "--data.path", "missing.csv"], ["missing.csv does not exist"]),
        (["evaluate", "nope.ckpt"], ["nope.ckpt does not exist"]),
        (["predict", "configs/sst2.yaml", "text"], ["not a readable checkpoint"]),
        (["predict"], ["checkpoint"]),
        (["frobnicate"], ["unknown command 'frobnicate'"]),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, fragments):
    one_line_error(textclf(*args), *fragments)


@pytest.mark.slow
def test_evaluate_csv_with_string_labels_against_classlabel_model(trained_run, tmp_path):
    run_dir, _ = trained_run
    f = tmp_path / "mine.csv"
    f.write_text("review,sentiment\na wonderful film,positive\nan awful bore,negative\n", encoding="utf-8")
    r = textclf("evaluate", run_dir / "best.ckpt", "--data", f, "--output", tmp_path / "m.json")
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "m.json").read_text())
    assert result["examples"] == 2 and set(result["per_class"]) == {"negative", "positive"}
    f.write_text("review,sentiment\na wonderful film,positive\nmeh,neutral\n", encoding="utf-8")
    one_line_error(textclf("evaluate", run_dir / "best.ckpt", "--data", f), "(unknown: [neutral])")


def test_evaluate_integer_labels_against_named_classes_names_both_sets(trained_run, tmp_path, capsys):
    from textclf.cli import main

    f = tmp_path / "ints.csv"
    f.write_text("text,label\na wonderful film,1\nan awful bore,0\n", encoding="utf-8")
    assert main(["evaluate", str(trained_run[0] / "best.ckpt"), "--data.path", str(f)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == ("textclf evaluate: error: the test split's labels [0, 1] are not all among the model's classes "
                    "[negative, positive] (unknown: [0, 1]): give labels by those names")


@pytest.mark.slow
def test_data_command_reports_chinese_splits():
    r = textclf("data", "--config", "configs/chnsenticorp.yaml")
    assert r.returncode == 0, r.stderr
    assert "negative" in r.stdout and "positive" in r.stdout and "validation" in r.stdout
    assert "smallest class in train: " in r.stdout


@pytest.mark.slow
def test_python_train_py_same_flags(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "train.py", "--run_dir", str(tmp_path / "r"), *TINY, "--model.encoder", "bag"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["encoder"] == "bag"


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_matches_single_process(tmp_path):
    common = ["--config", "configs/trec.yaml", "--trainer.max_epochs", "4", "--trainer.enable_progress_bar", "false",
              "--model.encoder", "bag"]
    r1 = textclf("train", *common, "--run_dir", tmp_path / "single", timeout=300)
    assert r1.returncode == 0, r1.stderr
    r2 = textclf("train", *common, "--run_dir", tmp_path / "ddp", "--trainer.accelerator", "cpu",
                 "--trainer.devices", "2", "--trainer.strategy", "ddp", timeout=300)
    assert r2.returncode == 0, r2.stderr
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert ddp["test"]["acc"] > 0.55
    # each rank sees half the batches, so an epoch is half the optimiser steps: close, not equal
    assert abs(ddp["test"]["acc"] - single["test"]["acc"]) < 0.1


def test_predict_on_texts_starts_without_lightning_or_datasets(trained_run):
    """`predict` on texts or a .txt file needs neither the trainer nor a table reader: Lightning (~3.5 s of
    import) and datasets (~1 s) stay out."""
    import subprocess
    import sys

    ckpt = trained_run[0] / "best.ckpt"
    code = ("import sys; from textclf.cli import main; "
            f"rc = main(['predict', {str(ckpt)!r}, 'a fine film']); "
            "print(rc, any(m in sys.modules for m in ('lightning', 'torchmetrics', 'datasets')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[0])["text"] == "a fine film"
    assert lines[-1] == "0 False"
