"""Checkpoints and runs written by textclf before the package layout (format 1, tests/fixtures/format1)
load, predict what that version predicted, evaluate, and resume to the metrics that version reached."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import ROOT

from textclf import load_classifier
from textclf.cli import main
from textclf.model.checkpoint import CHECKPOINT_FORMAT, read_checkpoint

FIXTURES = ROOT / "tests" / "fixtures" / "format1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CHECKPOINTS = {"gru": FIXTURES / "gru-run" / "last.ckpt", "transformer": FIXTURES / "transformer.ckpt"}


def test_the_fixtures_are_format_1():
    for path in CHECKPOINTS.values():
        raw = torch.load(path, weights_only=True)
        assert raw["textclf"]["format"] == 1 and "packed" in raw["hyper_parameters"]


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
