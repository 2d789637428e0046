"""textclf predict on files: the input's other columns kept, the output in the format its name says,
empty texts as null predictions (or an error with --strict), stdin, and nothing lost on failure."""

import csv
import json

import pyarrow.parquet as pq
import pytest

from textclf import load_classifier
from textclf.serve.text_input import read_chunks

ROWS = [("a1", "a gorgeous , witty , seductive movie ."), ("a2", "the plot is nothing but boilerplate clichés"),
        ("a3", ""), ("a4", "an utterly charming and hilarious film")]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "in.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "stars"])
        for i, (key, text) in enumerate(ROWS):
            w.writerow([key, text, i])
    return path


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_predict_writes_the_format_its_output_names_and_keeps_the_other_columns(trained_run, table, tmp_path, ext, cli):
    ckpt = trained_run[0] / "best.ckpt"
    out = tmp_path / f"out{ext}"
    done = cli("predict", ckpt, "--input", table, "--data.text_column", "review", "--output", out)
    assert done.returncode == 0, done.stderr
    assert "1 empty text(s) got a null prediction (rows 3)" in done.stderr
    if ext == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    elif ext == ".parquet":
        rows = pq.read_table(out).to_pylist()
    else:
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t" if ext == ".tsv" else ","))
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"] and [str(r["stars"]) for r in rows] == ["0", "1", "2", "3"]
    assert list(rows[0])[:5] == ["id", "review", "stars", "label", "score"]  # the input's columns as they were, then ours
    assert [r["review"] or "" for r in rows] == [t for _, t in ROWS] and "text" not in rows[0]
    expected = load_classifier(str(ckpt)).predict([t for _, t in ROWS if t])
    got = [r for r in rows if r["id"] != "a3"]
    assert [r["label"] for r in got] == [e["label"] for e in expected]
    assert all(abs(float(r["score"]) - e["score"]) < 1e-6 for r, e in zip(got, expected))
    blank = rows[2]
    assert blank["label"] in (None, "") and blank["score"] in (None, "")
    if ext != ".jsonl":
        names = expected[0]["probs"]
        assert all(abs(float(got[0][f"prob_{n}"]) - expected[0]["probs"][n]) < 1e-6 for n in names)


def test_strict_fails_on_an_empty_text_and_leaves_an_earlier_output_whole(trained_run, table, tmp_path, cli):
    out = tmp_path / "out.csv"
    out.write_text("earlier results\n")
    done = cli("predict", trained_run[0] / "best.ckpt", "--input", table, "--output", out, "--strict", "--overwrite")
    assert done.returncode == 2 and "row 3 of" in done.stderr and "--strict" in done.stderr
    assert out.read_text() == "earlier results\n" and [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_a_lone_dash_reads_stdin_and_an_unknown_output_format_is_named(trained_run, tmp_path, cli):
    ckpt = trained_run[0] / "best.ckpt"
    done = cli("predict", ckpt, "-", stdin="a fine film\n\nawful\n")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in records] == ["a fine film", "", "awful"] and records[1]["label"] is None
    done = cli("predict", ckpt, "a text", "--output", tmp_path / "out.xlsx")
    assert done.returncode == 2 and ".jsonl, .csv, .tsv, .parquet" in done.stderr


def test_inputs_are_read_in_chunks_with_their_row_numbers(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"uid": i, "text": f"text {i}" if i % 7 else " "}) + "\n" for i in range(1000)))
    chunks = list(read_chunks(str(path), chunk=300))
    assert [len(c.texts) for c in chunks] == [300, 300, 300, 100] and [c.first for c in chunks] == [1, 301, 601, 901]
    assert chunks[1].columns["uid"][0] == 300 and chunks[0].texts[0] is None and chunks[0].texts[1] == "text 1"


@pytest.mark.parametrize("ext", [".jsonl", ".csv"])
def test_evaluate_writes_every_examples_gold_and_prediction(trained_run, tmp_path, ext, cli):
    ckpt = trained_run[0] / "best.ckpt"
    out = tmp_path / f"val{ext}"
    done = cli("evaluate", ckpt, "--split", "validation", "--predictions", out)
    assert done.returncode == 0, done.stderr
    if ext == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    else:
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    assert len(rows) == 872 and {"text", "gold", "label", "correct", "score"} <= set(rows[0])
    accuracy = sum(r["gold"] == r["label"] for r in rows) / len(rows)
    assert f"{accuracy:.4f}" in done.stdout  # the printed accuracy is these rows'
    assert all(str(r["correct"]) in ("True", "true") if r["gold"] == r["label"] else str(r["correct"]) in ("False", "false")
               for r in rows)
    wrong = sum(r["gold"] != r["label"] for r in rows)
    assert f"predictions: {out} (872 examples, {wrong:,} wrong)" in done.stderr


def test_a_reader_that_stops_early_ends_predict_quietly(trained_run, tmp_path):
    """`textclf predict ... | head -n 1`: the closed pipe ends the command with SIGPIPE's code, no traceback."""
    import subprocess

    texts = tmp_path / "many.txt"
    texts.write_text("an utterly charming and hilarious film\n" * 20000, encoding="utf-8")
    proc = subprocess.Popen(["textclf", "predict", str(trained_run[0] / "best.ckpt"), "--input", str(texts)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline())["text"] == "an utterly charming and hilarious film"
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
