"""Checkpoints and runs written by earlier textclf versions load, predict what that version predicted,
evaluate, and resume to the metrics that version reached: format 1 (before the package layout,
tests/fixtures/format1) and format 2 (before `bigram_buckets` became `bigrams`, tests/fixtures/format2)."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import ROOT

from textclf import load_classifier
from textclf.cli import main
from textclf.errors import TextclfError
from textclf.model.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, save_checkpoint
from textclf.serve.loading import classifier_from

FIXTURES = ROOT / "tests" / "fixtures" / "format1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CHECKPOINTS = {"gru": FIXTURES / "gru-run" / "last.ckpt", "transformer": FIXTURES / "transformer.ckpt"}
FORMAT2 = ROOT / "tests" / "fixtures" / "format2"
EXPECTED2 = json.loads((FORMAT2 / "expected.json").read_text())


@pytest.mark.parametrize("path", [*CHECKPOINTS.values(), FORMAT2 / "gru-bigrams.ckpt", FORMAT2 / "ensemble.ckpt"])
def test_an_old_checkpoint_as_written_does_not_build_todays_model_and_as_read_it_does(path):
    raw = torch.load(path, weights_only=True)
    with pytest.raises((TextclfError, TypeError, KeyError, RuntimeError)):
        classifier_from(raw, str(path))
    assert classifier_from(read_checkpoint(str(path)), str(path)).label_names == EXPECTED2["gru-bigrams"]["labels"]


@pytest.mark.parametrize("name", ["gru-bigrams", "ensemble"])
def test_a_format_2_checkpoint_predicts_what_its_version_predicted(name):
    clf = load_classifier(str(FORMAT2 / f"{name}.ckpt"))
    assert clf.label_names == EXPECTED2[name]["labels"]
    np.testing.assert_allclose(clf.predict_proba(EXPECTED2["texts"]), np.array(EXPECTED2[name]["probs"]), atol=1e-5)
    if name == "ensemble":  # its TF-IDF member too
        np.testing.assert_allclose(clf.members[1].predict_proba(EXPECTED2["texts"]), np.array(EXPECTED2["tfidf_member"]),
                                   atol=1e-5)


def test_a_format_2_network_config_names_its_bigrams_as_today():
    archive = read_checkpoint(str(FORMAT2 / "gru-bigrams.ckpt"))["textclf"]
    assert archive["format"] == CHECKPOINT_FORMAT and archive["network"]["bigrams"] == 64
    assert "bigram_buckets" not in archive["network"]
    members = read_checkpoint(str(FORMAT2 / "ensemble.ckpt"))["textclf"]["members"]
    assert members[0]["network"]["bigrams"] == 64


def test_a_checkpoint_of_a_newer_format_is_a_one_line_error(tmp_path, cli):
    ckpt = torch.load(FORMAT2 / "gru-bigrams.ckpt", weights_only=True)
    ckpt["textclf"]["format"] = 99
    save_checkpoint(ckpt, str(tmp_path / "new.ckpt"))
    r = cli("predict", tmp_path / "new.ckpt", "a text")
    assert r.returncode == 2 and r.stderr.strip() == (
        f"textclf predict: error: {tmp_path / 'new.ckpt'} has checkpoint format 99, this textclf reads 1, 2, 3: "
        "upgrade textclf")


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_an_old_checkpoint_predicts_what_its_version_predicted(name):
    clf = load_classifier(str(CHECKPOINTS[name]))
    assert clf.label_names == EXPECTED[name]["labels"]
    probs = clf.predict_proba(EXPECTED["texts"])
    np.testing.assert_allclose(probs, np.array(EXPECTED[name]["probs"]), atol=1e-5)


def test_an_old_checkpoint_is_read_in_the_current_format():
    ckpt = read_checkpoint(str(CHECKPOINTS["transformer"]))
    archive = ckpt["textclf"]
    assert archive["format"] == CHECKPOINT_FORMAT
    assert archive["network"]["encoder"] == "transformer"
    assert archive["network"]["encoder_options"] == {"num_layers": 1, "num_heads": 2, "ff_dim": 32, "pooling": "attention",
                                                     "positions": "learned", "max_positions": 32}
    hp = ckpt["hyper_parameters"]
    assert hp["hidden_size"] is None and "packed" not in hp and "label_names" not in hp
    assert all(key.startswith("network.") for key in ckpt["state_dict"] if key != "class_weight")


def test_an_old_run_evaluates_and_resumes_to_the_metrics_its_version_reached(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # its config names data/trec
    run = tmp_path / "gru-run"
    shutil.copytree(FIXTURES / "gru-run", run)
    assert main(["evaluate", str(run / "last.ckpt"), "--output", str(tmp_path / "eval.json")]) == 0
    assert json.loads((tmp_path / "eval.json").read_text())["examples"] == 500
    assert main(["train", "--run_dir", str(run), "--resume", "--trainer.max_epochs", "3"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    then = EXPECTED["gru_resumed_to_epoch_3"]
    assert metrics["epochs"] == then["epochs"] == 3
    for split in ("val", "test"):
        for key in ("acc", "f1", "loss"):
            assert metrics[split][key] == pytest.approx(then[split][key], rel=1e-5), (split, key)
