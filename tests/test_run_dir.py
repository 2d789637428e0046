"""What `textclf train` may do to a --run_dir: replace only a textclf run, never a user's folder; one
process at a time; bad paths refused in one line with nothing touched."""

import os

import pytest
from conftest import ROOT, TINY

from textclf.cli import main
from textclf.training.run_dir import MARKER, REPLACED, RunDirLock, is_run, recover_replaced


def run_main(capsys, *args) -> tuple[int, str]:
    code = main([*map(str, args)])
    err = capsys.readouterr().err.strip()
    return code, err.splitlines()[-1] if err else ""


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_overwrite_refuses_a_folder_that_is_not_a_run_and_touches_nothing(tmp_path, capsys, in_root):
    docs = tmp_path / "mydocs"
    (docs / "photos").mkdir(parents=True)
    (docs / "thesis.txt").write_text("two years of work")
    (docs / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    code, line = run_main(capsys, "train", "--config", "configs/trec.yaml", "--run_dir", docs, "--overwrite", *TINY)
    assert code == 2
    assert line == (f"textclf train: error: --run_dir {docs} holds files that are not a textclf run (no {MARKER} and "
                    "config.yaml); nothing was touched: choose another folder")
    assert (docs / "thesis.txt").read_text() == "two years of work" and (docs / "photos" / "a.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydocs"]

    code, line = run_main(capsys, "train", "--config", "configs/trec.yaml", "--run_dir", docs, *TINY)
    assert code == 2 and "not a textclf run" in line and "--overwrite" not in line


def test_overwrite_replaces_a_finished_run_but_not_files_the_user_put_in_it(tmp_path, capsys, in_root):
    run = tmp_path / "run"
    assert main(["train", "--config", "configs/trec.yaml", "--run_dir", str(run), "--model.encoder", "bag", *TINY]) == 0
    assert is_run(str(run))
    before = (run / "best.ckpt").read_bytes()
    (run / "notes.txt").write_text("mine")
    (run / "plots").mkdir()
    again = ["train", "--config", "configs/trec.yaml", "--run_dir", str(run), "--model.encoder", "bag", "--overwrite",
             *TINY, "--trainer.limit_train_batches", "4"]
    code, line = run_main(capsys, *again)
    assert code == 2 and line == (f"textclf train: error: --run_dir {run} holds files textclf did not write (notes.txt, "
                                  "plots/), which --overwrite would delete; nothing was touched: move them out of it "
                                  "first, or choose another folder")
    assert (run / "notes.txt").read_text() == "mine" and (run / "best.ckpt").read_bytes() == before

    (run / "notes.txt").unlink()
    (run / "plots").rmdir()
    assert main(again) == 0
    assert (run / "best.ckpt").read_bytes() != before and (run / "metrics.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .replaced-* or .lock left


def test_overwrite_through_a_symlink_replaces_the_run_it_points_to_and_leaves_nothing_behind(tmp_path, capsys, in_root):
    real, link = tmp_path / "real", tmp_path / "link"
    assert main(["train", "--config", "configs/trec.yaml", "--run_dir", str(real), "--model.encoder", "bag", *TINY]) == 0
    link.symlink_to(real, target_is_directory=True)
    before = (real / "best.ckpt").read_bytes()
    assert main(["train", "--config", "configs/trec.yaml", "--run_dir", str(link), "--model.encoder", "bag",
                 "--overwrite", *TINY, "--trainer.limit_train_batches", "4"]) == 0
    assert link.is_symlink() and (real / "best.ckpt").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
    capsys.readouterr()
    assert main(["predict", str(link / "best.ckpt"), "What is a lock ?"]) == 0  # not "being replaced"


@pytest.mark.parametrize("run_dir,flags,message", [
    ("/proc/x", [], "--run_dir /proc/x cannot be written"),
    ("README.md/run", [], "--run_dir README.md/run is under the file"),
    (".", ["--overwrite"], "--run_dir . is the working directory or holds it and cannot be replaced"),
    ("runs/x", ["--overwrite", "--resume"], "--resume continues a run and --overwrite replaces it"),
])
def test_run_dirs_that_cannot_be_used_are_one_line_errors(capsys, in_root, run_dir, flags, message):
    listing = sorted(os.listdir(ROOT))
    code, line = run_main(capsys, "train", "--config", "configs/trec.yaml", "--run_dir", run_dir, *flags, *TINY)
    assert code == 2 and message in line, line
    assert sorted(os.listdir(ROOT)) == listing


def test_a_stale_lock_is_taken_over_and_a_held_one_is_not(tmp_path):
    run = tmp_path / "run"
    (tmp_path / "run.lock").write_text("999999999")  # left by a killed process: no OS lock on it
    with RunDirLock(str(run)):
        assert (tmp_path / "run.lock").read_text() == str(os.getpid())
        with pytest.raises(Exception, match=f"in use by another textclf process \\(pid {os.getpid()}"):
            RunDirLock(str(run)).__enter__()
    assert not (tmp_path / "run.lock").exists()


def test_recover_replaced_puts_a_moved_run_back_and_keeps_user_files(tmp_path):
    run, aside = tmp_path / "run", tmp_path / f"run{REPLACED}12345"
    aside.mkdir()
    (aside / "config.yaml").write_text("old")
    (aside / MARKER).write_text("{}")
    run.mkdir()
    (run / "thesis.txt").write_text("not a run")
    with pytest.raises(Exception, match=f"the old run is in {aside}"):
        recover_replaced(str(run))
    assert aside.exists() and (run / "thesis.txt").exists()
    (run / "thesis.txt").unlink()
    recover_replaced(str(run))
    assert (run / "config.yaml").read_text() == "old" and not aside.exists()
