"""Write a file all at once or not at all, and never over one of the inputs.

A crash, a full disk or Ctrl-C while writing leaves the previous file exactly
as it was: the new content goes to a temporary file in the same folder (same
filesystem) that replaces the target only once it is complete. A full disk or
any other write error is an :class:`OutputError` naming the file, after the
temporary file is removed. A run killed outright (``kill -9``, power loss)
cannot clean up: its temporary file names carry the process id, and the next
write into that folder removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from crmkit.errors import OutputError

#: ``.<target name>.crmkit-<pid>-<random>.tmp``: hidden, and traceable to the process writing it.
TEMPORARY_NAME: Final = re.compile(r"\..+\.crmkit-(\d+)-[0-9a-f]{8}\.tmp")
#: Write errors worth their own hint.
_DISK_FULL: Final = (errno.ENOSPC, errno.EDQUOT)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file: equal once resolved, or (when both exist) the same inode."""
    first, second = Path(a), Path(b)
    if _resolved(first) == _resolved(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        return path.absolute()


def check_not_input(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`OutputError` when ``path`` is (or links to) one of ``inputs``."""
    for source in inputs:
        if same_file(path, source):
            raise OutputError(f"refusing to overwrite input file {source}; choose another --out")


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on failure it is removed.

    When ``path`` is a symbolic link, the file it points to is replaced and the link stays.

    Raises :class:`OutputError` before anything is written when ``path`` is an
    input file, a folder, a device or FIFO, or in a folder that does not exist or cannot be written,
    and after the temporary file is removed when writing fails (a full disk).
    """
    given = Path(path)
    check_not_input(given, inputs)
    # Through a symbolic link, the file it points to is replaced and the link kept: renaming onto the link
    # would replace it (and a link such as /dev/stdout must never become a file).
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    folder = target.absolute().parent
    if not folder.is_dir():
        raise OutputError(
            f"cannot write {given}: folder {folder} does not exist",
            hint=f"create it first (mkdir -p {folder}) or choose another --out",
        )
    if target.is_dir():
        raise OutputError(f"cannot write {given}: it is a folder; give a file name to --out")
    if given.exists() and not given.is_file():  # what the link points to: a device, a pipe
        raise OutputError(
            f"cannot write {given}: it is not a regular file (a device or a pipe)",
            hint="give a file name; for output on stdout use --format json",
        )
    remove_abandoned_temporaries(folder)
    temporary = folder / f".{target.name}.crmkit-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        # Created like any new file (the umask applies), unlike mkstemp's private 0600.
        temporary.open("xb").close()
    except OSError as error:
        raise OutputError(
            f"cannot write to folder {folder}: {error.strerror}", hint="choose a folder you can write to for --out"
        ) from error
    try:
        yield temporary
        if target.exists():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _write_error(given, target, error) from error
        raise


def _write_error(given: Path, target: Path, error: OSError) -> OutputError:
    """A failed write as a message naming the file as given; the previous file, if any, is untouched."""
    unchanged = f"; the previous {target.name} is unchanged" if target.exists() else ""
    if error.errno in _DISK_FULL:
        return OutputError(
            f"cannot write {given}: the disk is full (nothing was written{unchanged})",
            hint="free some space, or write to another disk with --out",
        )
    reason = error.strerror or str(error)
    return OutputError(f"cannot write {given}: {reason} (nothing was written{unchanged})")


def remove_abandoned_temporaries(folder: Path) -> None:
    """Remove crmkit's temporary files in ``folder`` whose writing process no longer runs (a killed run)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = TEMPORARY_NAME.fullmatch(entry.name)
        if match and not _running(int(match.group(1))):
            with contextlib.suppress(OSError):  # not ours to remove (another user's file): it stays hidden
                Path(entry.path).unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one of another user's counts too).

    On Windows, where signal 0 would end the process, every process counts as running: nothing is removed.
    """
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True
