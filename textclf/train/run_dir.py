"""A run directory's safety rules: what `--overwrite` may replace, one process at a time, and recovery
of a run that an interrupted replacement moved aside.

- A run directory is recognisably textclf's when it holds config.yaml and the marker file `MARKER`,
  which textclf writes when it creates the run. `--overwrite` replaces only such a folder.
- `RunDirLock` is an exclusive lock on `<run_dir>.lock` (the pid inside, for the message). The lock is
  an OS file lock, so it dies with its process: a lock file left by a killed process is stale and is
  taken over.
- `--overwrite` moves the old run to `<run_dir>.replaced-<pid>` and deletes it only when the new run
  has finished. A failed or interrupted new run puts it back; if the process was killed (SIGKILL),
  the next command that locks the run directory finds the moved run and puts it back.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import time

from textclf.errors import TextclfError

log = logging.getLogger(__name__)

MARKER = ".textclf-run"
REPLACED = ".replaced-"

try:
    import fcntl
except ImportError:  # Windows: a lock file with a live pid is taken as held
    fcntl = None


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


def check_replaceable(run_dir: str, flag: str = "--run_dir") -> None:
    """`--overwrite` on run_dir: only a textclf run, never the working directory or a folder above it."""
    path, cwd = os.path.realpath(run_dir), os.path.realpath(os.getcwd())
    if cwd == path or cwd.startswith(path.rstrip(os.sep) + os.sep):
        raise TextclfError(f"{flag} {run_dir} is the working directory or holds it and cannot be replaced: "
                           "choose another folder")
    if holds_files(run_dir) and not is_run(run_dir):
        raise TextclfError(f"{flag} {run_dir} holds files that are not a textclf run (no {MARKER} and config.yaml); "
                           "nothing was touched: choose another folder")


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
    run_dir = os.path.dirname(os.path.abspath(checkpoint))
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


class RunDirLock:
    """An exclusive lock on a run directory, held for the whole command (a context manager)."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.path = os.path.normpath(os.path.abspath(run_dir)) + ".lock"
        self._fd: int | None = None

    def __enter__(self) -> RunDirLock:
        while True:
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise TextclfError(f"--run_dir {self.run_dir} cannot be written ({err.strerror}): choose another folder") from err
            if not self._acquire(fd):
                os.close(fd)
                raise TextclfError(f"run directory {self.run_dir} is in use by another textclf process "
                                   f"(pid {self._holder() or '?'}, lock {self.path}): wait for it to finish or choose another --run_dir")
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the holder removed the file as we locked it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def _acquire(self, fd: int) -> bool:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                return False
        holder = self._holder()
        return holder is None or not _alive(holder)

    def _holder(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            with open(self.path, encoding="ascii") as f:
                return int(f.read().strip())
        return None

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # before closing: whoever locks next creates a fresh file
            os.close(self._fd)
            self._fd = None


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
