"""Real training processes stopped by SIGINT, SIGTERM and SIGKILL: what each leaves, and that --resume
then finishes with the uninterrupted run's metrics."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, textclf

from textclf.training.lock import RunDirLock
from textclf.training.run_dir import REPLACED

pytestmark = pytest.mark.slow

# four short epochs (~1 s each on 2 cores): room to stop a run between and inside epochs
RUN = ["train", "--config", "configs/trec.yaml", "--model.encoder", "gru", "--trainer.max_epochs", "4",
       "--trainer.limit_train_batches", "40", "--trainer.enable_progress_bar", "false"]
TIMINGS = {"wall_seconds", "seconds_to_best", "train_seconds", "train_tokens_per_second", "peak_memory_mb",
           "best_checkpoint"}


# the runs import tests/stop_points.py (PauseMidEpoch) from their config
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT / "tests")}


def pause_mid_epoch(flag) -> list[str]:
    """Flags that make the run wait after batch 20 of epoch 2, once it has written `flag`."""
    spec = {"class_path": "stop_points.PauseMidEpoch", "init_args": {"flag": str(flag), "epoch": 2, "batch": 20}}
    return ["--trainer.callbacks+", json.dumps(spec)]


def start(*args) -> subprocess.Popen:
    env = ENV
    return subprocess.Popen([sys.executable, "-m", "textclf.cli", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (rc {proc.returncode}) before the moment to stop it: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.01)


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def comparable(run_dir) -> dict:
    """metrics.json without what depends on the clock or the folder."""
    m = json.loads((run_dir / "metrics.json").read_text())
    m = {k: v for k, v in m.items() if k not in TIMINGS}
    m["history"] = [{k: v for k, v in e.items() if k != "elapsed"} for e in m["history"]]
    return m


def flat(obj, prefix="") -> dict:
    if isinstance(obj, dict):
        return {k: v for key, value in obj.items() for k, v in flat(value, f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, value in enumerate(obj) for k, v in flat(value, f"{prefix}{i}.").items()}
    return {prefix: obj}


def assert_same_metrics(a: dict, b: dict) -> None:
    """Equal, floats to float32 rounding: the threaded directions of the RNN (textclf.model.speed) may sum
    a few floats in another order from run to run, resumed or not; counts and epochs are exact."""
    a, b = flat(a), flat(b)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), key
        else:
            assert a[key] == b[key], key


def csv_rows(run_dir) -> list[dict]:
    import csv

    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        rows = [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]
    return sorted(rows, key=lambda r: (r["step"], sorted(r)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run that every interrupted-and-resumed run must reproduce."""
    run = tmp_path_factory.mktemp("faults") / "reference"
    r = textclf(*RUN, "--run_dir", run)
    assert r.returncode == 0, r.stderr
    return run


@pytest.mark.parametrize("sig,when", [(signal.SIGINT, "epoch boundary"), (signal.SIGTERM, "mid-epoch"),
                                      (signal.SIGKILL, "mid-epoch")])
def test_stopped_run_keeps_last_ckpt_and_resume_reproduces_the_uninterrupted_run(reference, tmp_path, sig, when):
    run, flag = tmp_path / "run", tmp_path / "mid-epoch-2"
    if when == "mid-epoch":
        # --overwrite of a folder that does not exist yet: a new run, which must resume as any other
        proc = start(*RUN, "--run_dir", run, *pause_mid_epoch(flag), *(["--overwrite"] if sig == signal.SIGTERM else []))
        wait_for(flag.exists, proc)  # the run waits after batch 20 of epoch 2 until it is stopped
    else:
        proc = start(*RUN, "--run_dir", run)
        wait_for(lambda: (run / "last.ckpt").exists(), proc)  # epoch 1 is saved
    rc, err = stop(proc, sig)
    if sig == signal.SIGKILL:
        assert rc == -signal.SIGKILL
    else:
        assert rc == 128 + sig, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("textclf train: interrupted after epoch ")
        assert last.endswith(f"resume with textclf train --run_dir {run} --resume")
        assert "Traceback" not in err
    for name in ("last.ckpt", "config.yaml", "tokenizer.json", "logs/metrics.csv"):
        assert (run / name).exists(), name
    assert not (run / "metrics.json").exists()

    if when == "mid-epoch":  # stopped inside epoch 2: epoch 1 is what was kept
        assert int(torch.load(run / "last.ckpt", weights_only=True)["epoch"]) + 1 == 1
        if sig != signal.SIGKILL:
            assert last.startswith("textclf train: interrupted after epoch 1: ")

    # a SIGKILL leaves the lock file behind: it is stale and --resume takes it over
    r = subprocess.run([sys.executable, "-m", "textclf.cli", "train", "--run_dir", str(run), "--resume"], cwd=ROOT,
                       env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert_same_metrics(comparable(run), comparable(reference))
    # the earlier piece's rows are kept, none twice
    assert_same_metrics({"rows": csv_rows(run)}, {"rows": csv_rows(reference)})
    m = json.loads((run / "metrics.json").read_text())
    assert m["wall_seconds"] >= m["seconds_to_best"] > 0
    assert not (tmp_path / "run.lock").exists()


def test_interrupt_before_the_first_checkpoint_keeps_nothing(tmp_path):
    run = tmp_path / "run"
    proc = start(*RUN, "--run_dir", run)
    wait_for(lambda: (run / ".textclf-run").exists(), proc)
    rc, err = stop(proc, signal.SIGINT)
    assert rc == 130, err
    assert err.strip().splitlines()[-1] == ("textclf train: interrupted during epoch 1, before the first checkpoint: "
                                            "nothing was kept")
    assert not run.exists()


def test_interrupted_overwrite_puts_the_old_run_back(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    before = (run / "best.ckpt").read_bytes()
    proc = start(*RUN, "--run_dir", run, "--overwrite")
    # the old run moved aside first: run/ is then the new run
    wait_for(lambda: any(p.name.startswith("run" + REPLACED) for p in tmp_path.iterdir())
             and (run / "last.ckpt").exists(), proc)
    rc, err = stop(proc, signal.SIGTERM)
    assert rc == 143, err
    assert err.strip().splitlines()[-1].endswith(f"the run it was replacing is back in {run}")
    assert (run / "best.ckpt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_killed_overwrite_is_put_back_by_the_next_command(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    before = (run / "best.ckpt").read_bytes()
    proc = start(*RUN, "--run_dir", run, "--overwrite")
    aside = tmp_path / f"run{REPLACED}{proc.pid}"
    wait_for(lambda: aside.exists() and (run / "config.yaml").exists(), proc)
    rc, _ = stop(proc, signal.SIGKILL)
    assert rc == -signal.SIGKILL and aside.exists()

    r = textclf("predict", run / "best.ckpt", "What is a lock ?")  # may be half a new run: refused
    assert r.returncode == 2 and f"the previous run is in {aside}" in r.stderr.strip().splitlines()[-1]
    r = textclf(*RUN, "--run_dir", run)
    assert f"restored {run}: an interrupted --overwrite had moved it to {aside}" in r.stderr
    assert r.returncode == 2 and "already holds a run" in r.stderr.strip().splitlines()[-1]
    assert (run / "best.ckpt").read_bytes() == before and not aside.exists()


def test_a_second_training_into_a_run_dir_in_use_exits_2_and_touches_nothing(tmp_path):
    run = tmp_path / "run"
    with RunDirLock(str(run)):  # this test process is the other training
        r = textclf(*RUN, "--run_dir", run)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"textclf train: error: run directory {run} is in use by another textclf process (pid {os.getpid()}, "
        f"lock {run}.lock): wait for it to finish or choose another --run_dir")
    assert not run.exists() and not (tmp_path / "run.lock").exists()


def resume(run) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textclf.cli", "train", "--run_dir", str(run), "--resume"], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=600)


def epochs_in(checkpoint) -> int:
    return int(torch.load(checkpoint, weights_only=True)["epoch"]) + 1


def test_a_run_moved_after_an_interrupt_keeps_its_best_epoch(tmp_path):
    """A run whose third epoch is worse than its second (a constant, high learning rate), stopped in its third
    epoch, moved and resumed: best.ckpt is still the second epoch's (Lightning forgets the best score of a
    moved run, and took the third epoch as the best), and each epoch has one row in the logs."""
    run, flag = tmp_path / "a", tmp_path / "mid-epoch-3"
    spec = {"class_path": "stop_points.PauseMidEpoch", "init_args": {"flag": str(flag), "epoch": 3, "batch": 20}}
    proc = start(*RUN, "--model.schedule", "constant", "--model.lr", "0.05", "--run_dir", run,
                 "--trainer.callbacks+", json.dumps(spec))
    wait_for(flag.exists, proc)
    rc, err = stop(proc, signal.SIGINT)
    assert rc == 130 and err.strip().splitlines()[-1].startswith("textclf train: interrupted after epoch 2: "), err
    assert epochs_in(run / "last.ckpt") == 2  # last.ckpt is the last finished epoch, whether it was the best or not
    moved = tmp_path / "b"
    run.rename(moved)
    r = resume(moved)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((moved / "metrics.json").read_text())
    best = max(metrics["history"], key=lambda e: e["val_f1"])
    assert epochs_in(moved / "best.ckpt") == best["epoch"] == metrics["best_epoch"]
    assert metrics["val"]["f1"] == pytest.approx(best["val_f1"], rel=1e-5)
    epochs = [row["epoch"] for row in csv_rows(moved) if "val_f1" in row]
    assert sorted(epochs) == [1, 2, 3, 4]


def test_resuming_a_finished_run_changes_nothing_and_says_so(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    assert epochs_in(run / "last.ckpt") == json.loads((run / "metrics.json").read_text())["epochs"]
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    r = resume(run)
    assert r.returncode == 0, r.stderr
    assert "nothing to resume" in r.stderr
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
