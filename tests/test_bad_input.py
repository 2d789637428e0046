"""Bad values, damaged files and odd data: each one line on stderr, exit 2, no traceback, the fix named
with a flag the command accepts; nothing written."""

import json
import shutil

import pytest
import torch
from conftest import ROOT, TINY

from textclf.cli import main


def error_line(capsys, *args) -> str:
    code = main([*map(str, args)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    line = captured.err.strip().splitlines()[-1]
    assert line.startswith(f"textclf {args[0]}: error: "), line
    return line


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("flag,value,message", [
    ("--data.batch_size", "0", "--data.batch_size must be at least 1, got 0"),
    ("--data.batch_size", "-4", "--data.batch_size must be at least 1, got -4"),
    ("--data.eval_batch_size", "0", "--data.eval_batch_size must be at least 1"),
    ("--data.max_length", "0", "--data.max_length must be at least 1"),
    ("--data.vocab_size", "0", "--data.vocab_size must be at least 3"),
    ("--model.dropout", "2", "--model.dropout must be in [0.0, 1.0), got 2.0"),
    ("--model.hidden_size", "0", "--model.hidden_size must be at least 1"),
    ("--model.embedding_dim", "0", "--model.embedding_dim must be at least 1"),
    ("--model.num_layers", "0", "--model.num_layers must be at least 1"),
    ("--model.lr", "-1", "--model.lr must be greater than 0, got -1.0"),
])
def test_out_of_range_options(capsys, in_root, tmp_path, flag, value, message):
    line = error_line(capsys, "train", "--config", "configs/trec.yaml", flag, value, "--run_dir", tmp_path / "r")
    assert message in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name,content,message", [
    ("mixed.jsonl", '{"text": "good", "label": 1}\n{"text": "bad", "label": "neg"}\n{"text": "ok", "label": 0}\n',
     "label column 'label' of the train split mixes numbers and strings (e.g. 1 and 'neg')"),
    ("header.csv", "text,label\n", "header.csv has no examples (a header row only?)"),
    ("broken.jsonl", '{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"\n{"text": "ok", "label": "pos"}\n',
     "broken.jsonl line 2 is not valid JSON"),
    ("empty_label.csv", "text,label\ngood film,pos\nbad film,\nfine,neg\n",
     "row 2 of the train split has no label (empty or NaN in column 'label'): fill it in or remove the row"),
    ("nan_label.jsonl", '{"text": "good", "label": 1.0}\n{"text": "bad", "label": NaN}\n{"text": "ok", "label": 0.0}\n',
     "row 2 of the train split has no label"),
])
def test_bad_data_files(capsys, in_root, tmp_path, name, content, message):
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    line = error_line(capsys, "train", "--data.path", f, "--run_dir", tmp_path / "r", *TINY)
    assert message in line and "model's classes" not in line
    assert not (tmp_path / "r").exists()


def test_integral_float_labels_are_the_classes_of_integer_names(tmp_path, in_root):
    from textclf.data.prepare import load_splits

    f = tmp_path / "floats.jsonl"
    f.write_text("".join(f'{{"text": "text {i}", "label": {i % 2}.0}}\n' for i in range(20)), encoding="utf-8")
    splits, names = load_splits(str(f))
    assert names == ["0", "1"] and sorted(set(splits["train"]["label"])) == [0, 1]


@pytest.fixture
def run_copy(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run)
    return run


def test_resume_refuses_damaged_or_unsafe_last_ckpt(capsys, in_root, run_copy):
    last = run_copy / "last.ckpt"
    good = last.read_bytes()
    last.write_bytes(good[: len(good) // 2])
    line = error_line(capsys, "train", "--run_dir", run_copy, "--resume")
    assert "last.ckpt is not a readable checkpoint (corrupt or truncated?)" in line

    import argparse

    torch.save({"state_dict": {}, "evil": argparse.Namespace(x=1)}, last)
    line = error_line(capsys, "train", "--run_dir", run_copy, "--resume")
    assert "contains pickled Python objects and was refused (not run)" in line

    last.write_bytes(good)
    line = error_line(capsys, "train", "--run_dir", run_copy, "--resume", "--model.hidden_size", "32",
                      "--trainer.max_epochs", "2")
    assert "last.ckpt does not fit the model this command builds (size mismatch" in line
    assert last.read_bytes() == good and (run_copy / "best.ckpt").exists()


def test_archive_with_a_missing_weight(capsys, run_copy):
    ckpt = torch.load(run_copy / "best.ckpt", weights_only=True)
    del ckpt["state_dict"][next(k for k in ckpt["state_dict"] if k.startswith("network.encoder."))]
    torch.save(ckpt, run_copy / "broken.ckpt")
    for command in ("predict", "evaluate"):
        args = [command, run_copy / "broken.ckpt"] + (["a text"] if command == "predict" else [])
        assert "does not hold this model's weights (Missing key(s)" in error_line(capsys, *args)


@pytest.mark.parametrize("args,message", [
    (["predict", "{ckpt}", "a", "b", "--batch_size", "-3"], "argument --batch_size: expected a whole number of at least 1"),
    (["predict", "{ckpt}", "a", "--top_k", "0"], "argument --top_k: expected a whole number of at least 1, got '0'"),
    (["predict", "{ckpt}", "a", "--top_k", "-1"], "argument --top_k: expected a whole number of at least 1"),
    (["evaluate", "{ckpt}", "--batch_size", "0"], "argument --batch_size: expected a whole number of at least 1"),
])
def test_prediction_sizes_must_be_positive(capsys, trained_run, args, message):
    args = [a.format(ckpt=trained_run[0] / "best.ckpt") for a in args]
    assert message in error_line(capsys, *args)


def test_classifier_api_rejects_non_positive_sizes(trained_run):
    from textclf import load_classifier
    from textclf.errors import TextclfError

    clf = load_classifier(str(trained_run[0] / "best.ckpt"))
    with pytest.raises(TextclfError, match="top_k must be at least 1"):
        clf.predict(["fine"], top_k=0)
    with pytest.raises(TextclfError, match="batch_size must be at least 1"):
        clf.predict_proba(["fine"] * 40, batch_size=-3)


def test_fast_dev_run_is_a_smoke_run_with_a_checkpoint(in_root, tmp_path):
    run = tmp_path / "smoke"
    assert main(["train", "--config", "configs/trec.yaml", "--model.encoder", "bag", "--trainer.fast_dev_run", "true",
                 "--run_dir", str(run), "--trainer.enable_progress_bar", "false"]) == 0
    import json

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and (run / "best.ckpt").exists() and (run / "last.ckpt").exists()
    assert main(["predict", str(run / "best.ckpt"), "What is a smoke test ?"]) == 0


def write_table(path, labels, texts=None):
    texts = texts or [f"text number {i} about things" for i in range(len(labels))]
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(texts, labels)), encoding="utf-8")
    return path


@pytest.mark.parametrize("labels,message", [
    ([f"{0.13 * i:.2f}" for i in range(300)], "label column 'label' holds numbers with decimals (e.g. 0.13)"),
    ([str(i) for i in range(257)] * 2, "label column 'label' holds 257 distinct numbers: scores or ids, not classes"),
    ([f"class{i}" for i in range(300)], "label column 'label' has 300 classes in 300 rows and 300 of them have a single"),
])
def test_labels_that_are_not_classes_are_refused_unless_trusted(capsys, in_root, tmp_path, labels, message):
    data = write_table(tmp_path / "d.csv", labels)
    line = error_line(capsys, "train", "--data.path", data, "--run_dir", tmp_path / "r", *TINY)
    assert message in line and "--data.label_column" in line and "--data.trust_labels true" in line
    assert not (tmp_path / "r").exists()
    from textclf.data.prepare import load_splits

    _, names = load_splits(str(data), trust_labels=True, carve=False)
    assert len(names) == len(set(labels))


def test_labels_differing_only_in_case_or_spaces_are_named_in_a_warning(tmp_path, caplog):
    from textclf.data.prepare import load_splits

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"t {i}", "label": lab}) + "\n"
                            for i, lab in enumerate(["Pos", "pos", "pos ", "neg"] * 5)), encoding="utf-8")
    with caplog.at_level("WARNING"):
        _, names = load_splits(str(data), carve=False)
    assert names == ["Pos", "neg", "pos", "pos "]
    assert "labels 'Pos', 'pos', 'pos ' of column 'label' differ only in case or surrounding spaces" in caplog.text


def test_a_run_on_files_is_named_after_them_not_the_default_data(capsys, in_root, tmp_path):
    train = write_table(tmp_path / "reviews_train.csv", ["good", "bad"] * 30)
    code = main(["train", "--data.files.train", str(train), "--run_dir", str(tmp_path / "r"), "--model.encoder", "bag",
                 *TINY])
    out = capsys.readouterr().out
    assert code == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["dataset"] == "reviews_train" and "reviews_train / bag" in out and "sst2" not in out
    line = error_line(capsys, "train", "--data.files.train", tmp_path / "missing.csv", "--run_dir", tmp_path / "s")
    assert "missing.csv does not exist" in line and "sst2" not in line


def test_a_folder_given_as_a_data_file_is_called_a_folder(capsys, in_root, tmp_path):
    line = error_line(capsys, "train", "--data.files.train", tmp_path, "--run_dir", tmp_path / "r")
    assert f"{tmp_path} is a folder, not a file (given for split 'train')" in line and "does not exist" not in line


@pytest.mark.parametrize("name,content,message", [
    ("fake.parquet", b"this is not parquet at all", "fake.parquet is not a readable Parquet file"),
    ("broken.jsonl", ("".join(json.dumps({"text": f"t{i}"}) + "\n" for i in range(62)) + '{"text": "x"\n').encode(),
     "broken.jsonl line 63 is not valid JSON"),
])
def test_unreadable_prediction_inputs_are_one_line(capsys, trained_run, tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    assert message in error_line(capsys, "predict", trained_run[0] / "best.ckpt", "--input", f)


def test_a_csv_with_a_very_long_line_is_predicted_as_train_reads_it(capsys, trained_run, tmp_path):
    f = tmp_path / "long.csv"
    f.write_text("id,text\n1,short one\n2," + "word " * 1_100_000 + "\n3,another short one\n", encoding="utf-8")
    assert main(["predict", str(trained_run[0] / "best.ckpt"), "--input", str(f)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["1", "2", "3"] and all(r["label"] for r in rows)


def test_truncated_or_foreign_onnx_files_are_one_line(capsys, trained_run, tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf")
    assert "is not a readable ONNX model (truncated, or not ONNX?)" in error_line(capsys, "predict", bad, "a text")
    ckpt = trained_run[0] / "best.ckpt"
    line = error_line(capsys, "ensemble", ckpt, bad, "--output", tmp_path / "e.ckpt")
    assert "is an ONNX model" in line and "corrupt" not in line
