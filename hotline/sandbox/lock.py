"""One user of the sandbox's ports at a time on this machine: the real-stack tests, the soak."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

STACK_LOCK = Path("/tmp/hotline-stack-tests.lock")


@contextmanager
def stack_lock(on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Waits until no other test session or soak holds the sandbox, then holds it. `on_wait` is
    called once, before waiting, when another holder has it (e.g. to say why nothing happens)."""
    with STACK_LOCK.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
