"""Write a file all at once or not at all, and never over one of the inputs.

A crash, a full disk or Ctrl-C while writing leaves the previous file exactly
as it was: the new content goes to a temporary file in the same folder (same
filesystem) that replaces the target only once it is complete.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crmkit.errors import OutputError


def check_not_input(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`OutputError` when ``path`` is (or links to) one of ``inputs``."""
    target = Path(path)
    for source in inputs:
        source = Path(source)
        same = target.resolve() == source.resolve()
        if not same and target.exists() and source.exists():
            same = os.path.samefile(target, source)
        if same:
            raise OutputError(f"refusing to overwrite input file {source}; choose another --out")


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on failure it is removed.

    Raises :class:`OutputError` before anything is written when ``path`` is an
    input file, a folder, or in a folder that does not exist or cannot be written.
    """
    target = Path(path)
    check_not_input(target, inputs)
    folder = target.absolute().parent
    if not folder.is_dir():
        raise OutputError(
            f"cannot write {target}: folder {folder} does not exist",
            hint=f"create it first (mkdir -p {folder}) or choose another --out",
        )
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder; give a file name to --out")
    temporary = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
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
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
