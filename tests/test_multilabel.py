"""Multi-label classification end to end on GoEmotions (data/goemotions: 28 labels, 1 to 5 per text): the data
sources that say several labels per text, the metrics against scikit-learn, thresholds chosen on validation
and stored in the checkpoint, and every command on a real multi-label run."""

import contextlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import DATA, ROOT
from sklearn.metrics import accuracy_score, f1_score, hamming_loss

from textclf import load_classifier
from textclf.cli import main
from textclf.data.prepare import is_multi_label_split, load_splits
from textclf.model.multilabel_metrics import THRESHOLD_GRID, choose_thresholds, example_f1, multilabel_scores
from textclf.serve.evaluate import labelled_split

GOEMOTIONS = DATA / "goemotions"
QUICK = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "300", "--trainer.enable_progress_bar", "false"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """3,000/600/600 GoEmotions texts as JSON lines with label-name arrays (as users write them)."""
    import datasets

    out, files = tmp_path_factory.mktemp("goemotions"), {}
    for split, n in (("train", 3000), ("validation", 600), ("test", 600)):
        ds = datasets.load_dataset(str(GOEMOTIONS), split=split).select(range(n))
        names = ds.features["labels"].feature.names
        path = out / f"{split}.jsonl"
        path.write_text("".join(json.dumps({"text": r["text"], "emotions": [names[i] for i in r["labels"]]}) + "\n"
                                for r in ds), encoding="utf-8")
        files[split] = str(path)
    return files


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A short real run of the default GRU on the whole of GoEmotions."""
    run_dir = tmp_path_factory.mktemp("ml") / "gru"
    with contextlib.chdir(ROOT):
        assert main(["train", "--data.path", "data/goemotions", "--run_dir", str(run_dir), *QUICK]) == 0
    return run_dir, json.loads((run_dir / "metrics.json").read_text())


def test_label_lists_are_multi_label_from_every_source(tmp_path):
    rows = [{"text": f"text {i}", "tags": ["a", "b"] if i % 2 else ["c"]} for i in range(40)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    pd.DataFrame({"text": [r["text"] for r in rows], "tags": [",".join(r["tags"]) for r in rows]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "d.txt").write_text("".join(f"{' '.join('__label__' + t for t in r['tags'])} {r['text']}\n" for r in rows),
                                    encoding="utf-8")
    for file, options in (("d.jsonl", {}), ("d.parquet", {}), ("d.txt", {}), ("d.csv", {"multi_label": True})):
        splits, names = load_splits(files={"train": str(tmp_path / file)}, label_column=None if file == "d.txt" else "tags",
                                    carve=False, **options)
        assert names == ["a", "b", "c"] and is_multi_label_split(splits["train"]), file
        assert splits["train"]["label"][:2] == [[2], [0, 1]], file
    splits, names = load_splits(str(GOEMOTIONS), carve=False)  # Sequence(ClassLabel): the names it carries
    assert len(names) == 28 and names[0] == "admiration" and names[-1] == "neutral"
    assert splits["train"]["label"][0] == [27] and max(map(len, splits["train"]["label"][:])) == 5
    # the same CSV without the flag is one label per text: "a,b" is a class of its own
    assert load_splits(files={"train": str(tmp_path / "d.csv")}, label_column="tags", carve=False)[1] == ["a,b", "c"]


@pytest.mark.parametrize("flags, message", [
    (["--data.multi_label", "false"], "holds a list of labels per text, but --data.multi_label is false: drop it"),
    (["--data.path", "data/trec", "--data.multi_label", "true"], "no text of the train split has more than one label"),
])
def test_a_task_the_labels_do_not_fit_is_one_line_naming_the_flag(flags, message, tmp_path, capsys):
    run_dir = tmp_path / "run"
    with contextlib.chdir(ROOT):
        assert main(["train", "--data.path", "data/goemotions", *flags, "--run_dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0] and not run_dir.exists()


def test_scores_match_scikit_learn_and_thresholds_are_the_best_on_the_grid():
    rng = np.random.default_rng(0)
    targets = (rng.random((400, 6)) < [0.5, 0.3, 0.2, 0.1, 0.05, 0.02]).astype(np.float32)
    probs = np.clip(targets * 0.4 + rng.random((400, 6)) * 0.6, 0, 1)
    thresholds = np.array([0.3, 0.4, 0.5, 0.6, 0.5, 0.2])
    pred = probs >= thresholds
    s = multilabel_scores(probs, targets, thresholds, list("abcdef"))
    assert s["f1"] == pytest.approx(f1_score(targets, pred, average="macro", zero_division=0))
    assert s["micro_f1"] == pytest.approx(f1_score(targets, pred, average="micro", zero_division=0))
    assert s["acc"] == pytest.approx(accuracy_score(targets, pred))  # subset accuracy
    assert s["hamming_loss"] == pytest.approx(hamming_loss(targets, pred))
    assert s["per_label"]["d"]["threshold"] == 0.6 and s["per_label"]["a"]["support"] == int(targets[:, 0].sum())
    chosen = choose_thresholds(probs, targets)
    assert len(set(chosen)) == 1 and all(multilabel_scores(probs, targets, t)["f1"] <= s_best + 1e-12
                                         for s_best in [multilabel_scores(probs, targets, chosen)["f1"]] for t in THRESHOLD_GRID)
    own = choose_thresholds(probs, targets, "per_label")
    assert multilabel_scores(probs, targets, own)["f1"] >= multilabel_scores(probs, targets, chosen)["f1"]
    assert example_f1(probs, targets, chosen).shape == (400,)


def test_training_selects_thresholds_on_validation_and_stores_them(run):
    run_dir, metrics = run
    assert metrics["task"] == "multi-label"
    for split in ("val", "test"):
        assert {"acc", "f1", "micro_f1", "hamming_loss", "per_label"} <= set(metrics[split])
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)["textclf"]
    assert ckpt["task"] == "multi" and len(ckpt["thresholds"]) == 28
    clf = load_classifier(str(run_dir / "best.ckpt"))
    texts, targets = labelled_split(clf.data_source, "validation", clf.label_names, multi_label=True)
    probs = clf.predict_proba(texts)
    assert probs.shape == (5426, 28) and not np.allclose(probs.sum(1), 1)  # a sigmoid per label, not a softmax
    assert np.allclose(ckpt["thresholds"], choose_thresholds(probs, targets, "per_label"), atol=1e-9)
    assert multilabel_scores(probs, targets, ckpt["thresholds"])["f1"] == pytest.approx(metrics["val"]["f1"], abs=1e-4)
    assert metrics["val"]["f1"] > 0.15 and metrics["test"]["f1"] > 0.15  # 28 labels; chance is far below


def test_evaluate_reports_what_training_measured_and_writes_label_lists(run, tmp_path, cli):
    run_dir, metrics = run
    out, pred = tmp_path / "m.json", tmp_path / "p.jsonl"
    done = cli("evaluate", run_dir / "best.ckpt", "--output", out, "--predictions", pred)
    assert done.returncode == 0 and "subset accuracy" in done.stdout and "Hamming loss" in done.stdout
    result = json.loads(out.read_text())
    for ours, theirs in (("macro_f1", "f1"), ("micro_f1", "micro_f1"), ("subset_accuracy", "acc")):
        assert result[ours] == pytest.approx(metrics["test"][theirs], abs=1e-4)
    assert result["per_label"]["neutral"]["support"] == 1787
    records = [json.loads(line) for line in pred.read_text().splitlines()]
    assert len(records) == 5427 and all(isinstance(r["gold"], list) and isinstance(r["labels"], list) for r in records)
    assert np.mean([r["correct"] for r in records]) == pytest.approx(result["subset_accuracy"], abs=1e-6)


def test_predict_gives_the_labels_over_their_thresholds_and_top_k_and_threshold_apply(run, tmp_path, cli):
    clf = load_classifier(str(run[0] / "best.ckpt"))
    texts = ["Thank you so much, I love it!", "This is awful, I am so angry.", "What do you mean?"]
    probs = clf.predict_proba(texts)
    for record, p in zip(clf.predict(texts), probs):
        expect = [n for n, x, t in sorted(zip(clf.label_names, p, clf.thresholds), key=lambda z: -z[1]) if x >= t]
        assert record["labels"] == expect and len(record["probs"]) == 28
    assert all(len(r["labels"]) == 28 for r in clf.predict(texts, threshold=0.0))
    assert all(len(r["labels"]) <= 2 and len(r["probs"]) == 2 for r in clf.predict(texts, top_k=2, threshold=0.0))
    done = cli("predict", run[0] / "best.ckpt", *texts, "--threshold", "0.0", "--output", tmp_path / "p.csv")
    table = pd.read_csv(tmp_path / "p.csv")
    assert done.returncode == 0 and table["labels"].str.count(",").tolist() == [27, 27, 27]
    cli("predict", run[0] / "best.ckpt", *texts, "--output", tmp_path / "p.parquet")
    assert list(pd.read_parquet(tmp_path / "p.parquet")["labels"][0]) == clf.predict(texts[:1])[0]["labels"]


def test_threshold_on_a_single_label_model_is_one_line(trained_run, cli):
    done = cli("predict", trained_run[0] / "best.ckpt", "good", "--threshold", "0.3")
    assert done.returncode == 2 and "--threshold applies to multi-label models" in done.stderr


def test_serve_onnx_embed_and_ensemble_answer_as_predict(run, tmp_path, cli):
    from fastapi.testclient import TestClient

    from textclf.serve.http import create_app

    best = run[0] / "best.ckpt"
    clf = load_classifier(str(best))
    texts = ["I am so happy for you", "that is disgusting", "ok", "wow, I did not expect that at all"]
    with TestClient(create_app(clf)) as client:
        answer = client.post("/predict", json={"texts": texts, "threshold": 0.2}).json()
        assert [a["labels"] for a in answer] == [r["labels"] for r in clf.predict(texts, threshold=0.2)]
    onnx = tmp_path / "m.onnx"
    assert cli("export", best, "--format", "onnx", "--output", onnx).returncode == 0
    exported = load_classifier(str(onnx))
    assert exported.multi_label and np.allclose(exported.predict_proba(texts), clf.predict_proba(texts), atol=1e-4)
    assert [r["labels"] for r in exported.predict(texts)] == [r["labels"] for r in clf.predict(texts)]
    assert clf.embed(texts).shape == (4, clf.embedding_dim)
    assert cli("ensemble", best, best, "--output", tmp_path / "e.ckpt").returncode == 0
    both = load_classifier(str(tmp_path / "e.ckpt"))
    assert both.multi_label and np.allclose(both.thresholds, clf.thresholds)
    assert [r["labels"] for r in both.predict(texts)] == [r["labels"] for r in clf.predict(texts)]
    done = cli("ensemble", best, ROOT / "tests" / "fixtures" / "format2" / "gru-bigrams.ckpt", "--output", tmp_path / "x.ckpt")
    assert done.returncode == 2 and ("task" in done.stderr or "labels" in done.stderr)


def test_the_tfidf_baseline_is_one_vs_rest_with_a_threshold_from_validation(small, tmp_path, cli):
    run_dir = tmp_path / "tfidf"
    flags = [f"--data.files.{split}={path}" for split, path in small.items()]
    assert main(["baseline", *flags, "--data.label_column", "emotions", "--run_dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)
    assert metrics["task"] == "multi-label" and ckpt["textclf"]["task"] == "multi"
    assert ckpt["state_dict"]["coef"].shape[0] == len(ckpt["textclf"]["label_names"])  # one binary model per label
    done = cli("evaluate", run_dir / "best.ckpt", "--output", tmp_path / "m.json")
    result = json.loads((tmp_path / "m.json").read_text())
    assert done.returncode == 0 and result["macro_f1"] == pytest.approx(metrics["test"]["f1"], abs=1e-4)
    assert metrics["test"]["micro_f1"] > 0.3


def test_compare_and_tune_rank_multi_label_runs_by_macro_f1(small, tmp_path, cli):
    flags = [f"--data.files.{split}={path}" for split, path in small.items()] + ["--data.label_column", "emotions"]
    out = tmp_path / "cmp"
    done = cli("compare", *flags, "--encoders", "bag,gru", "--seeds", "1", "--max_epochs", "1", "--output", out)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (out / "report.md").read_text()
    assert "test macro-F1 | test micro-F1" in report and "one-vs-rest logistic regression" in report
    assert "Mean per-example F1 by text length" in report and "Not analysed for multi-label runs" in report
    results = json.loads((out / "results.json").read_text())
    bag = [json.loads(p.read_text()) for p in (out / "runs").glob("bag*/metrics.json")]
    row = next(r for r in results["summary"] if r["encoder"] == "bag")
    assert results["metric"] == "macro-F1" and results["tfidf"]["test"]["f1"] > 0 and len(bag) == 1
    assert row["acc_mean"] == pytest.approx(bag[0]["test"]["f1"]) and row["f1_mean"] == pytest.approx(bag[0]["test"]["micro_f1"])
    done = cli("tune", *flags, "--encoder", "bag", "--trials", "2", "--trainer.max_epochs", "1", "--output", tmp_path / "t")
    assert done.returncode == 0 and "validation macro-F1" in done.stdout


def test_splits_carved_from_one_multi_label_file_keep_every_label_in_each():
    splits, names = load_splits(files={"train": str(GOEMOTIONS / "train.parquet")}, val_fraction=0.1, test_fraction=0.1)
    assert len(names) == 28 and [len(splits[s]) for s in ("train", "validation", "test")] == [35162, 3907, 4341]
    for split in ("validation", "test"):  # stratified by each text's rarest label: even grief (77 texts) is in both
        assert {i for labels in splits[split]["label"][:] for i in labels} == set(range(28)), split


def test_the_bootstrap_of_multi_label_runs_resamples_macro_f1_itself():
    from textclf.compare.analysis import paired_bootstrap_macro_f1

    rng = np.random.default_rng(1)
    gold = (rng.random((600, 5)) < 0.2).astype(float)
    good = [np.where(rng.random(gold.shape) < 0.9, gold, 1 - gold) for _ in range(2)]  # 10% of decisions flipped
    poor = [np.where(rng.random(gold.shape) < 0.7, gold, 1 - gold) for _ in range(2)]
    macro = lambda d: multilabel_scores(d, gold, 0.5)["f1"]  # noqa: E731
    diff = np.mean([macro(d) for d in good]) - np.mean([macro(d) for d in poor])
    low, high, p = paired_bootstrap_macro_f1(good, poor, gold)
    assert low < diff < high and low > 0 and p < 0.001  # the interval is around the macro-F1 gap itself
    low, high, p = paired_bootstrap_macro_f1(good, good, gold)
    assert low == high == 0.0 and p == 1.0
