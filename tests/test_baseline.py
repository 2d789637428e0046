"""`textclf baseline`: TF-IDF + logistic regression on train's data and splits, as a checkpoint that
`predict`, `evaluate` and `load_classifier` use like a neural one."""

import contextlib
import json

import numpy as np
import pytest
import torch
from conftest import ROOT

from textclf import load_classifier
from textclf.cli import main
from textclf.data.prepare import load_splits
from textclf.errors import TextclfError


@pytest.fixture(scope="module", params=["trec", "sst2"])  # six classes, and two (one row of coefficients)
def baseline_run(request, tmp_path_factory):
    run = tmp_path_factory.mktemp("baseline") / request.param
    with contextlib.chdir(ROOT):  # the configs name data/ relative to the project root
        assert main(["baseline", "--config", f"configs/{request.param}.yaml", "--run_dir", str(run)]) == 0
    return request.param, run, json.loads((run / "metrics.json").read_text())


def test_the_run_directory_and_its_scores(baseline_run):
    name, run, metrics = baseline_run
    for f in ("best.ckpt", "config.yaml", "tokenizer.json", "metrics.json", ".textclf-run"):
        assert (run / f).exists(), f
    assert metrics["encoder"] == "tfidf" and metrics["C"] in (0.3, 1.0, 3.0, 10.0, 30.0)
    floor = {"trec": 0.8, "sst2": 0.75}[name]  # well above the majority class (27.6%, 50%)
    assert metrics["test"]["acc"] > floor and metrics["val"]["acc"] > floor


def test_the_checkpoint_reproduces_the_fitted_models_test_accuracy(baseline_run):
    name, run, metrics = baseline_run
    assert torch.load(run / "best.ckpt", weights_only=True)["textclf"]["kind"] == "tfidf"
    clf = load_classifier(str(run / "best.ckpt"))
    test = load_splits(str(ROOT / "data" / name), label_names=clf.label_names)[0]["test"]
    probs = clf.predict_proba(test["text"][:])
    assert probs.shape == (test.num_rows, len(clf.label_names))
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    accuracy = float((probs.argmax(1) == np.asarray(test["label"][:])).mean())
    assert accuracy == pytest.approx(metrics["test"]["acc"], abs=1e-9)


def test_evaluate_and_predict_accept_it(baseline_run, tmp_path, capsys, monkeypatch):
    name, run, metrics = baseline_run
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", str(run / "best.ckpt"), "--output", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["accuracy"] == pytest.approx(metrics["test"]["acc"], abs=1e-9)
    capsys.readouterr()
    assert main(["predict", str(run / "best.ckpt"), "What is the capital of France ?", "--top_k", "2"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["label"] in record["probs"] and len(record["probs"]) == 2


def test_neural_only_options_are_refused(baseline_run):
    with pytest.raises(TextclfError, match="is a TF-IDF baseline: --quantize, --precision and --compile apply"):
        load_classifier(str(baseline_run[1] / "best.ckpt"), quantize=True)


def test_the_summary_names_only_files_the_run_has(baseline_run, capsys):
    from textclf.commands.tables import print_run_summary

    print_run_summary(baseline_run[2])
    out = capsys.readouterr().out
    assert "metrics.json" in out and "logs" not in out


def test_the_features_are_capped_to_what_fits_in_memory(monkeypatch, caplog):
    """A model of many classes keeps the most frequent n-grams that fit in memory, and says so."""
    from textclf.baseline import tfidf
    from textclf.data.tokenizer import train_tokenizer

    texts = [f"word{i} word{i + 1} word{i + 2}" for i in range(3000)]
    labels = np.arange(3000) % 30
    tok = train_tokenizer(texts, "word", min_frequency=1)
    monkeypatch.setattr(tfidf, "most_features", lambda classes, memory_share=0.5: 2000)
    with caplog.at_level("WARNING"):
        scores, vec, _ = tfidf.fit_tfidf(tok, (texts, labels), (texts[:100], labels[:100]), None)
    assert scores["features"] == 2000 == len(vec.vocabulary_)
    assert "keeping the 2,000 most frequent features" in caplog.text


def test_a_model_too_large_for_any_feature_count_is_one_line():
    from textclf.baseline.tfidf import most_features

    assert most_features(6) > 1_000_000
    with pytest.raises(TextclfError, match="does not fit in this machine's memory"):
        most_features(10**9)
