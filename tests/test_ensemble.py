"""`textclf ensemble`: one checkpoint whose predictions are the mean of its members'."""

import contextlib
import json

import numpy as np
import pytest
from conftest import ROOT, TINY

from textclf import load_classifier
from textclf.cli import main

TEXTS = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés .", "it 's fine"]
TREC_CKPT = ROOT / "tests" / "fixtures" / "format1" / "gru-run" / "last.ckpt"


@pytest.fixture(scope="module")
def members(trained_run, tmp_path_factory):
    """The session's tiny SST-2 BiGRU and a bag of embeddings trained beside it."""
    from textclf.training.run import train

    other = tmp_path_factory.mktemp("ensemble") / "bag"
    with contextlib.chdir(ROOT):  # the configs name data/ relative to the project root
        train(["--config", "configs/sst2.yaml", "--run_dir", str(other), "--model.encoder", "bag", "--seed", "7", *TINY])
    return [str(trained_run[0] / "best.ckpt"), str(other / "best.ckpt")]


def test_the_ensemble_predicts_the_mean_of_its_members(members, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ens.ckpt"
    assert main(["ensemble", *members, "--output", str(out)]) == 0
    ens = load_classifier(str(out))
    expected = np.mean([load_classifier(m).predict_proba(TEXTS) for m in members], axis=0)
    np.testing.assert_allclose(ens.predict_proba(TEXTS), expected, atol=1e-6)
    assert [r["label"] for r in ens.predict(TEXTS)] == [ens.label_names[i] for i in expected.argmax(1)]
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", str(out), "--split", "validation", "--output", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["examples"] == 872


def test_members_must_share_labels_and_an_existing_output_is_kept(members, tmp_path, capsys):
    out = tmp_path / "ens.ckpt"
    assert main(["ensemble", members[0], str(TREC_CKPT), "--output", str(out)]) == 2
    assert "ensemble members must be trained on the same labels" in capsys.readouterr().err
    assert not out.exists()
    out.write_bytes(b"mine")
    assert main(["ensemble", *members, "--output", str(out)]) == 2
    assert "exists: choose another path or pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
    assert main(["ensemble", *members, "--output", str(out), "--overwrite"]) == 0
    assert main(["ensemble", str(out), members[0], "--output", str(tmp_path / "nested.ckpt")]) == 2
    assert "is an ensemble already" in capsys.readouterr().err


def test_a_neural_model_and_the_tfidf_baseline_make_one_ensemble(members, tmp_path, capsys, monkeypatch):
    """The hybrid of bench/hybrid.py: a BiGRU and `textclf baseline` averaged, through the commands."""
    monkeypatch.chdir(ROOT)
    tfidf = tmp_path / "tfidf"
    assert main(["baseline", "--config", "configs/sst2.yaml", "--run_dir", str(tfidf)]) == 0
    out = tmp_path / "hybrid.ckpt"
    assert main(["ensemble", members[0], str(tfidf / "best.ckpt"), "--output", str(out)]) == 0
    ens = load_classifier(str(out))
    parts = [load_classifier(members[0]).predict_proba(TEXTS), load_classifier(str(tfidf / "best.ckpt")).predict_proba(TEXTS)]
    assert not np.allclose(parts[0], parts[1], atol=1e-3)  # two different models, so the mean is a real average
    np.testing.assert_allclose(ens.predict_proba(TEXTS), np.mean(parts, axis=0), atol=1e-6)
    assert main(["evaluate", str(out), "--split", "validation", "--output", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["examples"] == 872
