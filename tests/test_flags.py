"""One flag vocabulary: every flag an error message recommends is one its command accepts."""

import re

import pytest
from conftest import DATA, ROOT

from textclf.cli import main

FLAG = re.compile(r"(?<![\w-])--[a-z][\w.]*")


def accepted(command: str, capsys) -> str:
    """The command's help: every option it takes (for train and data the short help, whose --trainer.*
    options are all accepted)."""
    try:
        code = main([command, "--help"])
    except SystemExit as done:  # argparse's help exits
        code = done.code
    assert code == 0
    return capsys.readouterr().out


def error_of(args: list[str], capsys) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err


def bad_inputs(tmp_path, ckpt: str) -> list[list[str]]:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    table = tmp_path / "t.csv"
    table.write_text("id,body,stars\n1,good film,pos\n2,bad film,neg\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("a text\n\nanother\n")
    return [
        ["predict", ckpt, "--input", str(latin1)],
        ["predict", ckpt, "--input", str(table), "--data.text_column", "nope"],
        ["predict", ckpt, "--input", str(empty), "--strict"],
        ["predict", ckpt],
        ["evaluate", ckpt, "--data.path", str(table)],
        ["evaluate", ckpt, "--data.path", str(table), "--data.text_column", "body", "--data.label_column", "nope"],
        ["evaluate", ckpt, "--split", "holdout"],
        ["evaluate", ckpt, "--data.path", str(latin1)],
        ["embed", ckpt, "text", "--output", str(tmp_path / "v.csv")],
        ["analyze", ckpt, "--output", str(tmp_path / "a")],
        ["train", "--data.path", str(table), "--data.label_column", "nope"],
        ["train", "--data.path", str(DATA / "sst2"), "--model.encoder", "cnn"],
        ["train", "--data.path", str(DATA / "sst2"), "--model.dropout", "2"],
        ["data", "--data.path", str(tmp_path / "missing")],
    ]


def test_every_flag_an_error_names_is_accepted_by_its_command(trained_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    named = 0
    for args in bad_inputs(tmp_path, str(trained_run[0] / "best.ckpt")):
        err = error_of(args, capsys)
        help_text = accepted(args[0], capsys)
        for flag in FLAG.findall(err):
            named += 1
            ok = flag in help_text or (args[0] in ("train", "data") and flag.startswith("--trainer."))
            assert ok, f"`textclf {args[0]}` names {flag} in {err!r} but does not accept it"
    assert named >= 8  # the errors do recommend flags


def test_the_fixes_the_errors_name_work(trained_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ckpt = str(trained_run[0] / "best.ckpt")
    table = tmp_path / "table.csv"
    table.write_text("body,gold\na fine film,positive\na dull film,negative\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9 au lait,positive\nna\xefve plot,negative\n".encode("latin-1"))
    assert main(["predict", ckpt, "--input", str(table), "--data.text_column", "body"]) == 0
    assert main(["predict", ckpt, "--input", str(latin), "--data.encoding", "latin-1"]) == 0
    assert main(["evaluate", ckpt, "--data.path", str(latin), "--data.encoding", "latin-1"]) == 0
    assert main(["evaluate", ckpt, "--data.path", str(table), "--data.text_column", "body",
                 "--data.label_column", "gold"]) == 0


@pytest.mark.parametrize("split", ["dev", "val", "validation"])
def test_evaluate_accepts_the_split_names_train_accepts(trained_run, split, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", str(trained_run[0] / "best.ckpt"), "--split", split]) == 0
    assert "accuracy" in capsys.readouterr().out.lower()


def test_evaluate_on_train_leaves_out_the_carved_rows_and_says_so(tmp_path, capsys, monkeypatch, caplog):
    import logging

    from textclf.training.run import train

    monkeypatch.chdir(ROOT)
    run = tmp_path / "trec"
    train(["--config", "configs/trec.yaml", "--run_dir", str(run), "--trainer.max_epochs", "1",
           "--trainer.limit_train_batches", "2", "--trainer.enable_progress_bar", "false"])
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert main(["evaluate", str(run / "best.ckpt"), "--split", "train"]) == 0
    assert "the 4,906 rows left after carving validation" in caplog.text and "546 of 5,452 rows excluded" in caplog.text


def test_a_checkpoint_finds_its_local_data_from_another_folder(trained_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run was trained from the project root on data/sst2
    assert main(["evaluate", str(trained_run[0] / "best.ckpt")]) == 0
    assert "accuracy" in capsys.readouterr().out.lower()
