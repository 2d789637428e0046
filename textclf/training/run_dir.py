"""A run directory's safety rules and the transaction every command that writes a run goes through
(`in_run_dir`: train and baseline).

- A run directory is recognisably textclf's when it holds config.yaml and the marker file `MARKER`,
  which textclf writes when it creates the run. `--overwrite` replaces only such a folder.
- One process at a time: `RunDirLock` (textclf.training.lock) is held for the whole command.
- `--overwrite` moves the old run to `<run_dir>.replaced-<pid>` and deletes it only when the new run
  has finished. A failed or interrupted new run puts it back; if the process was killed (SIGKILL),
  the next command that locks the run directory finds the moved run and puts it back.
- An interrupted run (SIGINT, SIGTERM) keeps its last.ckpt to resume from.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from textclf.errors import Interrupted, TextclfError
from textclf.training.lock import RunDirLock
from textclf.training.signals import signals_as_interrupts, signals_deferred

log = logging.getLogger(__name__)

MARKER = ".textclf-run"
REPLACED = ".replaced-"
RESUME_OR_OVERWRITE = "--resume continues a run and --overwrite replaces it: give one of them"


def is_run(run_dir: str) -> bool:
    """Whether run_dir is a run textclf wrote (config.yaml + the marker)."""
    return all(os.path.isfile(os.path.join(run_dir, name)) for name in (MARKER, "config.yaml"))


def holds_files(run_dir: str) -> bool:
    return os.path.isdir(run_dir) and bool(os.listdir(run_dir))


def write_marker(run_dir: str, **fields) -> None:
    with open(os.path.join(run_dir, MARKER), "w", encoding="utf-8") as f:
        json.dump({"written_by": "textclf", "created": time.strftime("%Y-%m-%d %H:%M:%S"), **fields}, f)


def check_writable(run_dir: str, flag: str = "--run_dir") -> None:
    """Refuse a path that cannot become a folder (under a file, on a read-only or virtual file system)."""
    path = os.path.abspath(run_dir)
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if os.path.exists(path) and not os.path.isdir(path):
        raise TextclfError(f"{flag} {run_dir} is a file: choose a folder")
    if not os.path.isdir(parent):
        raise TextclfError(f"{flag} {run_dir} is under the file {parent}: choose a folder path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise TextclfError(f"{flag} {run_dir} cannot be written ({parent} is not writable): choose another folder")


# What textclf writes into a run directory (textclf compare adds analysis.json and vectors.npy to its runs);
# `--overwrite` replaces a run holding nothing else
RUN_FILES = {MARKER, "config.yaml", "tokenizer.json", "best.ckpt", "last.ckpt", "metrics.json", "logs", "tensorboard",
             "analysis.json", "vectors.npy"}
TEMPORARY = re.compile(r".*\.tmp-\d+$")  # a write a killed process left (textclf.files.write_whole)


def check_replaceable(run_dir: str, flag: str = "--run_dir", shown: str | None = None) -> None:
    """`--overwrite` on run_dir: only a textclf run holding nothing but what textclf wrote, never the
    working directory or a folder above it. `shown`: the path as the user gave it, for messages."""
    shown = shown or run_dir
    path, cwd = os.path.realpath(run_dir), os.path.realpath(os.getcwd())
    if cwd == path or cwd.startswith(path.rstrip(os.sep) + os.sep):
        raise TextclfError(f"{flag} {shown} is the working directory or holds it and cannot be replaced: "
                           "choose another folder")
    if holds_files(run_dir) and not is_run(run_dir):
        raise TextclfError(f"{flag} {shown} holds files that are not a textclf run (no {MARKER} and config.yaml); "
                           "nothing was touched: choose another folder")
    theirs = sorted(name + ("/" if os.path.isdir(os.path.join(run_dir, name)) else "") for name in os.listdir(run_dir)
                    if name not in RUN_FILES and not TEMPORARY.match(name)) if os.path.isdir(run_dir) else []
    if theirs:
        listed = ", ".join(theirs[:5]) + (", ..." if len(theirs) > 5 else "")
        raise TextclfError(f"{flag} {shown} holds files textclf did not write ({listed}), which --overwrite would "
                           "delete; nothing was touched: move them out of it first, or choose another folder")


def aside_path(run_dir: str) -> str:
    """Where `move_aside` puts run_dir."""
    return f"{os.path.normpath(run_dir)}{REPLACED}{os.getpid()}"


def move_aside(run_dir: str) -> str:
    """Move an existing run out of the way of its replacement; returns where it went."""
    aside = aside_path(run_dir)
    os.replace(run_dir, aside)
    return aside


def put_back(run_dir: str, aside: str) -> None:
    """Remove a replacement run that did not finish and return the old run to its place."""
    shutil.rmtree(run_dir, ignore_errors=True)
    os.replace(aside, run_dir)


def replaced_runs(run_dir: str) -> list[str]:
    """Runs that an `--overwrite` of run_dir moved aside (by another process: running, or killed)."""
    left = glob.glob(glob.escape(os.path.normpath(run_dir)) + REPLACED + "*")
    return sorted(p for p in left if p != aside_path(run_dir) and os.path.isdir(p))


def check_not_being_replaced(checkpoint: str) -> None:
    """Refuse a checkpoint whose run an `--overwrite` has moved aside: it may be half a new run."""
    run_dir = os.path.dirname(os.path.realpath(checkpoint))
    left = replaced_runs(run_dir)
    if left and os.path.isdir(run_dir):
        raise TextclfError(f"{run_dir} is being replaced by `textclf train --overwrite`, or was when it was killed, "
                           f"and the previous run is in {left[0]}: wait for that training to finish, or run "
                           f"`textclf train --run_dir {run_dir}` to put the previous run back")


def recover_replaced(run_dir: str) -> None:
    """Put back a run that a killed `--overwrite` left at `<run_dir>.replaced-<pid>`.

    Call it holding the run directory's lock: no live process is then replacing this run. The killed
    replacement (if any) is removed only when it is a textclf run; otherwise the old run stays where it
    is and the error says where."""
    for aside in replaced_runs(run_dir):
        if holds_files(run_dir) and not is_run(run_dir):
            raise TextclfError(f"a previous --overwrite of {run_dir} was interrupted and the old run is in {aside}; "
                               f"{run_dir} now holds other files: move one of them yourself")
        if os.path.exists(run_dir):
            shutil.rmtree(run_dir)
        os.replace(aside, run_dir)
        log.warning("restored %s: an interrupted --overwrite had moved it to %s", run_dir, aside)


def in_run_dir(run_dir: str, overwrite: bool, resume: bool, prepare: Callable[[], None], work: Callable[[], dict],
               command: str = "train") -> dict:
    """`prepare()` (load the data: an error there stops us before anything is written), then `work()` in
    the claimed run directory; returns what `work` returns.

    The run directory's lock is held for the whole command. An interrupted run (SIGINT, SIGTERM) keeps
    its last.ckpt to resume from and raises `Interrupted` with what to do next; an `--overwrite` that
    fails or is interrupted puts the old run back."""
    if resume and overwrite:
        raise TextclfError(RESUME_OR_OVERWRITE)
    check_writable(run_dir)
    # the folder itself, wherever a symlink given as --run_dir points: it is what is locked, moved aside
    # and put back (moving the link would leave the old run behind as <link>.replaced-<pid>)
    folder = os.path.realpath(run_dir)
    with signals_as_interrupts(), RunDirLock(folder):
        recover_replaced(folder)
        _check_run_dir(folder, overwrite=overwrite, resume=resume, shown=run_dir)
        prepare()
        claim = _Claim(folder, resumed=resume)
        try:
            with signals_deferred():  # the claim is recorded whole, so that an interrupt can undo exactly it
                _claim_run_dir(claim, overwrite=overwrite)
            result = work()
        except Interrupted as stop:
            raise Interrupted(stop.signum, _after_interrupt(run_dir, claim, command)) from None
        except BaseException:
            with signals_deferred():
                claim.undo()
            raise
        # the run is finished: a signal while the replaced run is deleted must not leave half of it behind
        with contextlib.suppress(Interrupted), signals_deferred():
            claim.done()
    return result


def _check_run_dir(run_dir: str, overwrite: bool, resume: bool, shown: str) -> None:
    """Refuse to train into an existing folder unless told to replace or continue the run in it."""
    if resume or not holds_files(run_dir):
        return
    if overwrite:
        check_replaceable(run_dir, shown=shown)
    elif is_run(run_dir):
        raise TextclfError(
            f"run directory {shown} already holds a run: pass --overwrite to replace it, "
            "--resume to continue it, or choose another --run_dir"
        )
    else:
        raise TextclfError(f"--run_dir {shown} holds files that are not a textclf run: choose another folder")


@dataclass
class _Claim:
    """What this command did to the run directory, so that a failure can undo exactly that."""

    run_dir: str
    created: bool = False  # the folder did not exist before
    aside: str | None = None  # where --overwrite moved the old run
    resumed: bool = False

    def undo(self) -> None:
        if self.resumed:
            return  # a resumed run keeps what it had and what it saved
        if self.aside:
            if os.path.exists(self.aside):  # else it was never moved: the old run is still in place
                put_back(self.run_dir, self.aside)
        elif self.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif os.path.isdir(self.run_dir):  # an empty folder the user made: leave it empty
            for name in os.listdir(self.run_dir):
                path = os.path.join(self.run_dir, name)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)

    def done(self) -> None:
        if self.aside:
            shutil.rmtree(self.aside, ignore_errors=True)


def _claim_run_dir(claim: _Claim, overwrite: bool) -> None:
    """Create run_dir with textclf's marker. With --overwrite the old run is moved aside until the new
    one is done. Each step is recorded in `claim` before it is taken."""
    run_dir = claim.run_dir
    if claim.resumed:
        return
    claim.created = not os.path.exists(run_dir)
    if overwrite and holds_files(run_dir):
        claim.aside = aside_path(run_dir)
        move_aside(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_marker(run_dir)


def _after_interrupt(run_dir: str, claim: _Claim, command: str = "train") -> str:
    """Leave the run directory resumable (or as it was) and say what happened in one line."""
    import torch

    if claim.aside:
        claim.undo()
        return f"interrupted: the new run was discarded and the run it was replacing is back in {run_dir}"
    last = os.path.join(run_dir, "last.ckpt")
    if os.path.exists(last):
        epoch = int(torch.load(last, map_location="cpu", weights_only=True, mmap=True)["epoch"]) + 1
        return f"interrupted after epoch {epoch}: resume with textclf {command} --run_dir {run_dir} --resume"
    claim.undo()
    return "interrupted during epoch 1, before the first checkpoint: nothing was kept"
