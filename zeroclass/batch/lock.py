"""One job per output at a time: an exclusive lock on ``OUTPUT.lock``.

Two runs writing the same output would commit parts over each other and
one would crash at the end. The second run is refused at once instead,
with a message naming the lock. The lock is ``flock``, so it is released
by the kernel when its holder dies (``kill -9`` included): a crashed job
never leaves a stale lock behind that blocks the rerun.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError

__all__ = ["job_lock"]


@contextlib.contextmanager
def job_lock(output: Path) -> Iterator[Path]:
    """Hold ``OUTPUT.lock`` for the duration; refuse if another process holds it.

    The file is removed on release. A run that opened it just before the
    holder removed it would lock a file no one else sees, so after locking
    the path is checked to still be the file locked, else it tries again.
    """
    path = output.with_name(output.name + ".lock")
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(
                f"{output}: another zeroclass batch job is writing this output (it holds {path}); "
                "wait for it to finish, or choose another --output"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
