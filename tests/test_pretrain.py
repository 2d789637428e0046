"""`textclf pretrain` and fine-tuning from it, through the real command: the budget, the objectives, the
run directory's rules, an interrupted run resumed exactly, and a classifier that starts from the run's
tokenizer, embedding and encoder (and keeps them where told to)."""

import json
import signal
import subprocess
import sys

import pytest
import torch
from conftest import DATA, ROOT, textclf
from test_faults import ENV, stop, wait_for

from textclf.data.corpus import windows
from textclf.errors import TextclfError
from textclf.model.checkpoint import CHECKPOINT_KEY, network_weights, read_checkpoint
from textclf.model.masked_lm import mask_tokens
from textclf.pretraining.budget import parse_budget
from textclf.training.pretrained_start import layer_of

SMALL = ["--model.embedding_dim", "16", "--model.hidden_size", "16", "--data.batch_size", "16",
         "--trainer.enable_progress_bar", "false"]
LABELLED = ["--data.path", str(DATA / "sst2"), "--trainer.limit_train_batches", "6", "--trainer.limit_val_batches", "2",
            "--trainer.enable_progress_bar", "false"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """300 SST-2 training sentences, one per line: a plain text corpus."""
    import datasets

    texts = datasets.load_dataset(str(DATA / "sst2"), split="train")["text"][:300]
    path = tmp_path_factory.mktemp("corpus") / "lines.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pretrained(corpus, tmp_path_factory):
    run = tmp_path_factory.mktemp("pretrain") / "gru"
    r = textclf("pretrain", "--data.path", corpus, "--budget", "12ktok", "--run_dir", run, *SMALL,
                "--model.num_layers", "2")
    assert r.returncode == 0, r.stderr
    return run, r


def test_budgets_read_as_time_or_tokens():
    assert parse_budget("20m").amount == 1200 and parse_budget("20m").kind == "seconds"
    assert parse_budget("1.5h").amount == 5400 and parse_budget("90s").amount == 90
    assert parse_budget("5Mtok").amount == 5_000_000 and parse_budget("5Mtok").kind == "tokens"
    assert parse_budget("500ktok").amount == 500_000 and parse_budget("2000tokens").amount == 2000
    for bad in ("20", "ten minutes", "0m", "5x"):
        with pytest.raises(TextclfError, match="is not a budget|nothing to spend"):
            parse_budget(bad)


def test_long_texts_become_windows_and_no_token_is_lost():
    offsets = torch.tensor([0, 600, 603, 603, 859]).numpy()  # 600 tokens, 3, an empty text, 256
    cut = windows(offsets, 256)
    assert cut.tolist() == [0, 256, 512, 600, 603, 603, 859]


def test_masking_hides_the_chosen_tokens_and_only_real_ones():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 100, (64, 50), generator=g)
    lengths = torch.randint(1, 51, (64,), generator=g)
    ids[torch.arange(50)[None, :] >= lengths[:, None]] = 0
    inputs, chosen = mask_tokens(ids, lengths, mask_id=100, vocab_size=101, rate=0.15, generator=g)
    real = torch.arange(50)[None, :] < lengths[:, None]
    assert not (chosen & ~real).any() and chosen.any(dim=1).all()  # only real tokens; one at least per text
    assert 0.12 < chosen.sum() / real.sum() < 0.18
    assert (inputs[chosen] == 100).float().mean() > 0.7  # most shown as [MASK]
    assert torch.equal(inputs[~chosen], ids[~chosen])  # the rest untouched


def test_held_out_positions_scored_in_pieces_give_the_same_figures():
    """Without gradients the scores over the vocabulary are made a slice at a time (memory); same sums."""
    from types import SimpleNamespace

    from textclf.model.masked_lm import TokenPredictor, _scored

    g = torch.Generator().manual_seed(0)
    network = SimpleNamespace(embedding=SimpleNamespace(embed=SimpleNamespace(weight=torch.randn(500, 8, generator=g))))
    predictor = TokenPredictor(12, 8, 500)
    states, targets = torch.randn(1000, 12, generator=g), torch.randint(0, 500, (1000,), generator=g)
    with torch.no_grad():
        whole = _scored(predictor, network, states, targets, rows=10_000)
        pieces = _scored(predictor, network, states, targets, rows=64)
    assert torch.allclose(whole[0], pieces[0], rtol=1e-5) and whole[1] == pieces[1] and whole[2] == pieces[2] == 1000
    trained = _scored(predictor, network, states, targets, rows=64)  # with gradients: one piece, differentiable
    assert trained[0].requires_grad and torch.allclose(trained[0], whole[0], rtol=1e-5)


def test_pretrain_writes_a_run_with_its_objective_and_budget(pretrained):
    run, r = pretrained
    m = json.loads((run / "metrics.json").read_text())
    assert m["encoder"] == "gru" and m["objective"] == "mlm" and m["budget_spent"] == 1.0
    assert m["train_tokens"] >= 12_000 and m["train_tokens_per_second"] > 0
    assert 0 <= m["held_out"]["acc"] <= 1 and m["held_out"]["perplexity"] > 1
    assert m["held_out"]["loss"] == pytest.approx(min(e["val_loss"] for e in m["history"]))
    assert len(m["history"]) >= 2  # several passes over the 300 lines, each evaluated on held-out text
    assert {"best.ckpt", "last.ckpt", "config.yaml", "tokenizer.json"} <= {p.name for p in run.iterdir()}
    assert "tokens/s" in r.stdout and "held-out loss" in r.stdout and "textclf train --model.pretrained" in r.stdout


def test_a_classifier_starts_from_the_run_and_keeps_it_frozen_when_told(pretrained, tmp_path):
    run, _ = pretrained
    out = tmp_path / "ft"
    r = textclf("train", "--model.pretrained", run, "--model.freeze_pretrained", "true", "--run_dir", out, *LABELLED)
    assert r.returncode == 0, r.stderr
    start = network_weights(read_checkpoint(str(run / "best.ckpt"))["state_dict"])
    ckpt = read_checkpoint(str(out / "best.ckpt"))
    tuned = network_weights(ckpt["state_dict"])
    kept = [k for k in start if k.startswith(("embedding.", "encoder.")) and not k.startswith("encoder.pool")]
    assert kept and all(torch.equal(start[k], tuned[k]) for k in kept)
    assert ckpt[CHECKPOINT_KEY]["tokenizer"] == (run / "tokenizer.json").read_text()
    assert ckpt[CHECKPOINT_KEY]["network"]["encoder_options"]["num_layers"] == 2  # the run's sizes
    # an ordinary checkpoint: predict needs nothing of the pretraining run
    moved = tmp_path / "moved"
    run.rename(moved)
    try:
        p = textclf("predict", out / "best.ckpt", "a gripping film")
        assert p.returncode == 0 and json.loads(p.stdout.splitlines()[0])["label"] in ("negative", "positive"), p.stderr
    finally:
        moved.rename(run)


def test_gradual_unfreezing_trains_the_head_first_then_layer_by_layer(pretrained, tmp_path):
    run, _ = pretrained
    out = tmp_path / "ft"
    r = textclf("train", "--model.pretrained", run, "--model.gradual_unfreezing", "true", "--run_dir", out,
                *LABELLED, "--trainer.max_epochs", "2", "--verbose")
    assert r.returncode == 0, r.stderr
    assert "epoch 1: embedding, layer 1, layer 2 frozen" in r.stderr and "epoch 2: embedding, layer 1 frozen" in r.stderr
    start = network_weights(read_checkpoint(str(run / "best.ckpt"))["state_dict"])
    tuned = network_weights(read_checkpoint(str(out / "last.ckpt"))["state_dict"])
    changed = {k for k in start if k.startswith(("embedding.", "encoder.layers.")) and not torch.equal(start[k], tuned[k])}
    assert changed and all(k.startswith("encoder.layers.1.") for k in changed)  # only the top layer has trained
    assert layer_of("network.encoder.layers.0.1.weight_ih_l0", 2) == 0 and layer_of("network.head.1.weight", 2) is None


def test_the_language_model_objective_of_the_recurrent_encoders(corpus, tmp_path):
    r = textclf("pretrain", "--data.path", corpus, "--model.encoder", "lstm", "--model.objective", "lm", "--budget",
                "4ktok", "--run_dir", tmp_path / "lm", *SMALL)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "lm" / "metrics.json").read_text())
    assert m["objective"] == "lm" and m["held_out"]["perplexity"] > 1


def test_the_transformer_pretrains_and_fine_tunes(corpus, tmp_path):
    run = tmp_path / "tf"
    r = textclf("pretrain", "--data.path", corpus, "--model.encoder", "transformer", "--budget", "4ktok",
                "--run_dir", run, "--data.max_length", "64", "--model.embedding_dim", "16", "--model.num_heads", "2",
                "--model.ff_dim", "32", "--trainer.enable_progress_bar", "false")
    assert r.returncode == 0, r.stderr
    r = textclf("train", "--model.pretrained", run, "--run_dir", tmp_path / "ft", *LABELLED)
    assert r.returncode == 0, r.stderr
    assert "max_length 64" in r.stderr  # the run's positions limit the texts


def test_a_transformer_pretrained_on_short_windows_fine_tunes_on_longer_texts(corpus, tmp_path):
    """--model.max_positions: the table covers what fine-tuning reads; its positions past the window are new."""
    run = tmp_path / "tf"
    r = textclf("pretrain", "--data.path", corpus, "--model.encoder", "transformer", "--budget", "2ktok",
                "--run_dir", run, "--data.max_length", "16", "--model.max_positions", "40", "--model.embedding_dim",
                "16", "--model.num_heads", "2", "--model.ff_dim", "32", "--trainer.enable_progress_bar", "false")
    assert r.returncode == 0, r.stderr
    r = textclf("train", "--model.pretrained", run, "--run_dir", tmp_path / "ft", *LABELLED, "--verbose")
    assert r.returncode == 0, r.stderr
    assert "max_length 40" in r.stderr  # not the 16-token window
    archive = read_checkpoint(str(tmp_path / "ft" / "best.ckpt"))[CHECKPOINT_KEY]
    assert archive["network"]["encoder_options"]["max_positions"] == 40
    assert archive["preprocessing"]["max_length"] == 40


@pytest.mark.parametrize("args, message", [
    (["--model.encoder", "bag"], "choose --model.encoder from rnn, lstm, gru, transformer"),
    (["--budget", "soon"], "--budget 'soon' is not a budget"),
    (["--model.objective", "lm", "--model.num_layers", "2"], "--model.objective lm needs one bidirectional layer"),
    (["--model.objective", "lm", "--model.encoder", "transformer"], "--model.objective lm is for the recurrent"),
    (["--model.num_heads", "2"], "--model.num_heads does not apply to the gru encoder"),
    (["--model.max_positions", "64"], "--model.max_positions does not apply to the gru encoder"),
    (["--model.encoder", "transformer", "--model.max_positions", "8", "--data.max_length", "16"],
     "--model.max_positions 8 is fewer than the pretraining window (--data.max_length 16)"),
])
def test_bad_pretrain_options_are_one_line(corpus, tmp_path, args, message):
    r = textclf("pretrain", "--data.path", corpus, "--run_dir", tmp_path / "x", *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_fine_tuning_options_that_contradict_the_run_are_one_line(pretrained, tmp_path):
    run, _ = pretrained
    for args, message in ((["--model.encoder", "lstm"], "is a pretrained gru encoder: drop --model.encoder lstm"),
                          (["--model.hidden_size", "32"], "--model.hidden_size 32 differs from the pretrained run's 16"),
                          (["--model.layer_decay", "0.8"], "--model.layer_decay applies to a Hugging Face model")):
        r = textclf("train", "--model.pretrained", run, "--run_dir", tmp_path / "x", *LABELLED, *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = textclf("predict", run / "best.ckpt", "a film")
    assert r.returncode == 2 and "pretraining checkpoint" in r.stderr, r.stderr
    r = textclf("pretrain", "--data.path", DATA / "sst2", "--run_dir", run, "--budget", "1ktok", *SMALL)
    assert r.returncode == 2 and "already holds a run" in r.stderr


def test_a_corpus_never_reads_a_test_split_and_may_add_labelled_training_texts(tmp_path):
    from textclf.data.corpus import load_corpus

    texts = load_corpus(str(DATA / "sst2"), add_train=str(DATA / "trec"))
    import datasets

    sst2, trec = datasets.load_dataset(str(DATA / "sst2")), datasets.load_dataset(str(DATA / "trec"))
    assert texts.train == sst2["train"]["text"][:] + trec["train"]["text"][:]  # no test or validation text of trec
    assert texts.held_out == sst2["validation"]["text"][:]  # the corpus's own validation split


def test_an_interrupted_pretraining_resumes_to_the_same_model(corpus, tmp_path):
    """Stopped by SIGTERM in its second pass and resumed: the same held-out loss, to the last digit, as the run
    that was never stopped (a token budget: the schedule follows tokens, which the checkpoint keeps)."""
    common = ["pretrain", "--data.path", corpus, "--budget", "14ktok", *SMALL]
    whole = textclf(*common, "--run_dir", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    flag, run = tmp_path / "flag", tmp_path / "cut"
    spec = {"class_path": "stop_points.PauseMidEpoch", "init_args": {"flag": str(flag), "epoch": 2, "batch": 3}}
    proc = subprocess.Popen([sys.executable, "-m", "textclf.cli", *map(str, common), "--run_dir", str(run),
                             "--trainer.callbacks+", json.dumps(spec)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for(flag.exists, proc)
    rc, err = stop(proc, signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM and "resume with textclf pretrain --run_dir" in err, err
    r = subprocess.run([sys.executable, "-m", "textclf.cli", "pretrain", "--run_dir", str(run), "--resume"], cwd=ROOT,
                       env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (tmp_path / "whole", run))
    assert a["train_tokens"] == b["train_tokens"] and a["held_out"] == b["held_out"]
    again = subprocess.run([sys.executable, "-m", "textclf.cli", "pretrain", "--run_dir", str(run), "--resume"],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "nothing to resume" in again.stderr


@pytest.mark.slow
def test_compare_pretrains_each_encoder_once_and_reports_both_starts(corpus, tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "--data.path", "data/trec", "--encoders", "bag,gru", "--seeds", "2", "--max_epochs", "1",
            "--trainer.limit_train_batches", "6", "--trainer.limit_val_batches", "2", "--model.embedding_dim", "16",
            "--model.hidden_size", "16", "--pretrain", corpus, "--pretrain_budget", "3ktok", "--pretrain_add_train",
            "--no_tfidf", "--output", out]
    r = textclf(*args)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "runs").iterdir()) == [  # bag has no context to pretrain: scratch only
        "bag_pretrain-none_seed1", "bag_pretrain-none_seed2", "gru_pretrain-lines_seed1", "gru_pretrain-lines_seed2",
        "gru_pretrain-none_seed1", "gru_pretrain-none_seed2"]
    pre = json.loads((out / "pretraining" / "gru" / "metrics.json").read_text())
    assert pre["train_tokens"] >= 3000 and pre["parameters"]["encoder"] == json.loads(
        (out / "runs" / "gru_pretrain-none_seed1" / "metrics.json").read_text())["parameters"]["encoder"]
    tuned = read_checkpoint(str(out / "runs" / "gru_pretrain-lines_seed1" / "best.ckpt"))[CHECKPOINT_KEY]
    assert tuned["tokenizer"] == (out / "pretraining" / "gru" / "tokenizer.json").read_text()
    report = (out / "report.md").read_text()
    assert "## Pretraining" in report and "| gru |" in report.split("## Pretraining")[1]
    effects = json.loads((out / "results.json").read_text())["effects"]
    assert any({e["better"], e["worse"]} == {"gru (pretrain=none)", "gru (pretrain=lines)"} for e in effects)
    again = textclf(*args)
    assert again.returncode == 0 and "pretraining gru" not in again.stdout and "done earlier, skipped" in again.stdout


@pytest.mark.slow
def test_compare_pretrains_the_transformer_with_the_positions_its_scratch_runs_have(corpus, tmp_path):
    """Texts longer than the pretraining window: the pretrained and scratch Transformers read as many tokens."""
    out = tmp_path / "cmp"
    r = textclf("compare", "--data.path", "data/trec", "--encoders", "transformer", "--seeds", "1", "--max_epochs",
                "1", "--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "2", "--data.max_length",
                "300", "--model.embedding_dim", "16", "--pretrain",
                corpus, "--pretrain_budget", "2ktok", "--no_tfidf", "--output", out)
    assert r.returncode == 0, r.stderr
    assert "positions, so its fine-tuned runs read at most" not in r.stdout
    for run in ("transformer_pretrain-none_seed1", "transformer_pretrain-lines_seed1"):
        archive = read_checkpoint(str(out / "runs" / run / "best.ckpt"))[CHECKPOINT_KEY]
        assert archive["preprocessing"]["max_length"] == 300, run
        assert archive["network"]["encoder_options"]["max_positions"] == 300, run
