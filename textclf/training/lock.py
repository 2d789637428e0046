"""`RunDirLock`: one textclf process at a time on a run directory (or a compare/tune output).

An exclusive lock on `<run_dir>.lock`, with the holder's pid inside for the message. The lock is an OS
file lock, so it dies with its process: a lock file left by a killed process is stale and is taken over.
"""

from __future__ import annotations

import contextlib
import os

from textclf.errors import TextclfError

try:
    import fcntl
except ImportError:  # Windows: a lock file with a live pid is taken as held
    fcntl = None


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
