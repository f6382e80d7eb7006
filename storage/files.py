"""Files the product creates are private: 0600 files in 0700 folders.

The database, its backups and the workbooks hold people's names, scores and comments; on a
shared server a world-readable default (0644 under the usual umask) would hand them to every
local account. Everything the product writes goes through these helpers, so the mode does
not depend on the umask of whoever started the process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """``path`` and any missing parents, created 0700 (existing folders are left as they are)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (its folder made private)."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(descriptor)
    return path


def replace_atomically(
    path: Path, write: Callable[[BinaryIO], None], check: Callable[[bytes], None] | None = None
) -> bytes:
    """Write a file through ``write`` into a temporary file of its own beside ``path``, let
    ``check`` refuse what was written, then move it into place in one step; returns the bytes.

    Each call has its own temporary file (``mkstemp``: unique, 0600), so processes building
    the same file at once never write into each other's; a reader of ``path`` sees the old
    file or the new one, never half of one. When ``write`` or ``check`` raises, the old file
    stays and the temporary one is removed.
    """
    private_folder(path.parent)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "w+b") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            handle.seek(0)
            data = handle.read()
        if check is not None:
            check(data)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return data
