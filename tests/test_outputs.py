"""One rule for every command's outputs (textclf/files.py): an existing file is kept unless --overwrite is
given, an output is never an input, a column a command adds never replaces one of the user's, and an
output that cannot be written is one line naming it, with nothing left behind."""

import csv
import json
import os

import pytest

ROWS = [("q1", "What is the capital of France ?", "LOC"), ("q2", "Who wrote Hamlet ?", "HUM")]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "in.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "label", "score"])
        for key, text, label in ROWS:
            w.writerow([key, text, label, 1])
    return path


def one_line_error(done, command: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"textclf {command}: error: ")
    return done.stderr.strip()


def outputs(trained_run, tmp_path, table) -> list[tuple[str, list[str], str]]:
    """(command, its arguments before --output, the output's name) for every command that writes a file."""
    ckpt = str(trained_run[0] / "best.ckpt")
    return [
        ("predict", ["predict", ckpt, "--input", str(table), "--data.text_column", "question"], "out.csv"),
        ("evaluate", ["evaluate", ckpt, "--split", "validation"], "metrics.json"),
        ("evaluate", ["evaluate", ckpt, "--split", "validation", "--predictions"], "errors.csv"),
        ("embed", ["embed", ckpt, "a text"], "v.npy"),
        ("export", ["export", ckpt], "m.onnx"),
        ("ensemble", ["ensemble", ckpt, ckpt], "e.ckpt"),
    ]


def test_every_output_that_exists_is_kept_without_overwrite_and_replaced_with_it(trained_run, tmp_path, table, cli):
    for command, args, name in outputs(trained_run, tmp_path, table):
        out = tmp_path / name
        out.write_text("the user's")
        flag = "--predictions" if args[-1] == "--predictions" else "--output"
        args = args[:-1] if flag == "--predictions" else args
        line = one_line_error(cli(*args, flag, out), command)
        assert line.endswith(f"{flag} {out} exists: choose another path or pass --overwrite to replace it"), line
        assert out.read_text() == "the user's"
        done = cli(*args, flag, out, "--overwrite")
        assert done.returncode == 0, (command, done.stderr)
        assert out.read_bytes() != b"the user's"
        out.unlink()
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_an_output_is_never_an_input(trained_run, tmp_path, table, cli):
    ckpt = trained_run[0] / "best.ckpt"
    before = table.read_bytes()
    line = one_line_error(cli("predict", ckpt, "--input", table, "--data.text_column", "question",
                              "--output", table, "--overwrite"), "predict")
    assert f"--output {table} is also an input of this command" in line
    assert table.read_bytes() == before
    member = tmp_path / "member.ckpt"
    member.write_bytes(ckpt.read_bytes())
    line = one_line_error(cli("ensemble", member, ckpt, "--output", member, "--overwrite"), "ensemble")
    assert "is also an input of this command" in line and member.read_bytes() == ckpt.read_bytes()


def test_evaluate_never_writes_over_the_data_it_reads(trained_run, tmp_path, cli):
    data = tmp_path / "dev.csv"
    data.write_text("text,label\n" + "\n".join(f"{t},{lab}" for t, lab in [("a fine film", "1"), ("awful", "0")]) + "\n")
    before = data.read_bytes()
    line = one_line_error(cli("evaluate", trained_run[0] / "best.ckpt", "--data.path", data, "--predictions", data,
                              "--overwrite"), "evaluate")
    assert "is also an input of this command" in line and data.read_bytes() == before


def test_a_column_the_command_adds_never_replaces_the_users(trained_run, tmp_path, table, cli):
    ckpt = trained_run[0] / "best.ckpt"
    out = tmp_path / "out.csv"
    done = cli("predict", ckpt, "--input", table, "--data.text_column", "question", "--output", out)
    assert done.returncode == 0, done.stderr
    assert "the input has columns of the names this command adds: they are written as pred_label, pred_score" in done.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["id", "question", "label", "score", "pred_label", "pred_score"]  # theirs first, as they were
    assert [(r["id"], r["question"], r["label"]) for r in rows] == [(k, t, lab) for k, t, lab in ROWS]

    taken = tmp_path / "taken.csv"  # the fallback names taken too: stop before writing, naming --prefix
    taken.write_text("question,label,pred_label\nWho wrote Hamlet ?,HUM,x\n")
    line = one_line_error(cli("predict", ckpt, "--input", taken, "--output", tmp_path / "t.csv"), "predict")
    assert "the input already has a column 'pred_label'" in line and "--prefix" in line
    assert not (tmp_path / "t.csv").exists()
    done = cli("predict", ckpt, "--input", taken, "--output", tmp_path / "t.csv", "--prefix", "out_")
    assert done.returncode == 0 and "written as" not in done.stderr

    vectors = tmp_path / "v.parquet"
    vec_table = tmp_path / "vec.csv"
    vec_table.write_text("question,vector\nWho wrote Hamlet ?,7\n")
    done = cli("embed", ckpt, "--input", vec_table, "--output", vectors)
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(vectors).column_names == ["question", "vector", "emb_vector"]


def test_jsonl_keeps_the_users_columns_and_adds_its_own_after_them(trained_run, tmp_path, table, cli):
    done = cli("predict", trained_run[0] / "best.ckpt", "--input", table, "--data.text_column", "question")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.splitlines()[0])
    assert list(record) == ["id", "question", "label", "score", "pred_label", "pred_score", "pred_probs"]


@pytest.mark.parametrize("where,message", [
    ("/proc/nope/out.csv", "cannot"),  # root may pass the permission check; the write itself then fails
    ("README_FILE/out.csv", "is under the file"),
    ("x" * 300 + ".csv", "longer than file systems allow (255)"),
    ("a_folder", "is a folder: give a file path inside it"),
])
def test_an_output_that_cannot_be_written_is_one_line_and_leaves_nothing(trained_run, tmp_path, cli, where, message,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README_FILE").write_text("a file")
    (tmp_path / "a_folder").mkdir()
    listing = sorted(os.listdir(tmp_path))
    for command in (["predict", trained_run[0] / "best.ckpt", "a text"], ["export", trained_run[0] / "best.ckpt"]):
        line = one_line_error(cli(*command, "--output", where), command[0])
        assert message in line, line
        assert sorted(os.listdir(tmp_path)) == listing and os.listdir(tmp_path / "a_folder") == []


def test_analyze_replaces_only_its_own_analysis(trained_run, tmp_path, cli):
    ckpt = trained_run[0] / "best.ckpt"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my own report")
    line = one_line_error(cli("analyze", ckpt, ckpt, "--output", mine, "--overwrite"), "analyze")
    assert "which textclf analyze did not write" in line
    assert (mine / "report.md").read_text() == "my own report"
