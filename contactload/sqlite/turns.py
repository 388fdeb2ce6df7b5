"""Turns at SQLite's one write lock, between a running job and every other writer.

SQLite has one write lock, and a writer waiting for it polls (every 100 ms once it has
waited a while). A job commits and begins its next transaction within microseconds, so
a writer waiting for the lock missed every gap and waited for the job's end (60 s at
most, then "database is locked"). A writer holds a shared flock on a file beside the
database while it waits for the lock and writes (``take``; the backend, ``base``, takes
one for every write but a job's own); between two chunks the job looks for one (an
exclusive flock it cannot take), commits, and waits until it is through (``LET_IN_S``
at most; its next transaction then waits as any writer does). Without the file (a
directory it cannot write to), nobody is let in: as before. Needs no Django model:
the backend imports it."""

import fcntl
import logging
import os
import time
from contextlib import contextmanager

logger = logging.getLogger("contactload.worker")

LET_IN_S = 10.0
LET_IN_POLL_S = 0.002

unopened: set[str] = set()  # files that could not be opened (warned about once)


def waiters_file(name: str) -> int | None:
    """The file beside the database ``name``, opened; None for a database in memory
    (one process) or a file that cannot be opened."""
    name = str(name)
    if name == ":memory:" or "mode=memory" in name:
        return None
    try:
        return os.open(f"{name}.writers", os.O_RDWR | os.O_CREAT, 0o666)  # (the umask's)
    except OSError:
        if name not in unopened:
            unopened.add(name)
            logger.warning("cannot open %s.writers: writers are not let in", name, exc_info=True)
        return None


def take(name: str) -> int | None:
    """A turn: until it is given back, a job stands aside from its next chunk on."""
    descriptor = waiters_file(name)
    if descriptor is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
        except BaseException:
            os.close(descriptor)
            raise
    return descriptor


def give_back(turn: int | None) -> None:
    if turn is not None:
        os.close(turn)  # (and the lock with it)


@contextmanager
def waiting(name: str):
    """A turn for the block: its writes, however many transactions, go before the job's."""
    turn = take(name)
    try:
        yield
    finally:
        give_back(turn)


def others_waiting(name: str) -> bool:
    descriptor = waiters_file(name)
    if descriptor is None:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def let_in(name: str) -> None:
    """Returns once every writer waiting is through, or after ``LET_IN_S`` (writers that
    keep coming, or one that streams a large upload)."""
    deadline = time.monotonic() + LET_IN_S
    while others_waiting(name) and time.monotonic() < deadline:
        time.sleep(LET_IN_POLL_S)
