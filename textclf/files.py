"""What a textclf command may do to the user's files: one rule for every command.

- An existing file or folder named as an output is kept unless `--overwrite` is given (`check_output`).
- An output is never one of the command's inputs, `--overwrite` or not.
- An output is written whole or not at all (`write_whole`): into a temporary file beside it, renamed over
  it at the end, so a failed or killed command leaves an earlier file as it was and no temporary file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable

from textclf.errors import TextclfError

NAME_MAX = 255  # bytes in one file name on the usual file systems (ext4, xfs, APFS, NTFS)


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through links too); a path that does not exist yet by its real path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str, overwrite: bool = False, inputs: Iterable[str | None] = (), flag: str = "--output") -> None:
    """A one-line error unless `path` may be written as an output file: not a folder, not an input, not
    an existing file without `overwrite`, a name the file system takes, in a folder that can be written."""
    name = os.path.basename(os.path.normpath(path))
    if len(os.fsencode(name)) > NAME_MAX:
        raise TextclfError(f"{flag}: the file name {name[:40]}... is {len(os.fsencode(name))} bytes, longer than file "
                           f"systems allow ({NAME_MAX}): choose a shorter name")
    if os.path.isdir(path):
        raise TextclfError(f"{flag} {path} is a folder: give a file path inside it")
    for source in inputs:
        if source and source != "-" and same_file(path, source):
            raise TextclfError(f"{flag} {path} is also an input of this command ({source}): write to another file")
    if os.path.lexists(path) and not overwrite:
        raise TextclfError(f"{flag} {path} exists: choose another path or pass --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise TextclfError(f"{flag} {path} is under the file {parent}: choose a path in a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise TextclfError(f"{flag} {path} cannot be written ({parent} is not writable): choose another folder")


def write_whole(path: str, write: Callable[[str], None]) -> None:
    """`write(tmp)` to a temporary file renamed over `path`: a failed or killed write leaves the earlier
    file whole and no temporary file behind. The folders up to `path` are made; a file system that
    refuses the write is a one-line error naming the path."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise TextclfError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)
