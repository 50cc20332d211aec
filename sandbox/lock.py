"""One user of the sandbox's ports at a time on this machine: the real-stack tests, the soak."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STACK_LOCK = Path("/tmp/hotline-stack-tests.lock")


@contextmanager
def stack_lock() -> Iterator[None]:
    """Waits until no other test session or soak holds the sandbox, then holds it."""
    with STACK_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
