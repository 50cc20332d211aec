"""Pushes the live board to browsers (SSE): changes are coalesced for `interval` seconds, the
snapshot is encoded once, and each browser keeps only the newest (a slow one skips frames,
never stalls the controller)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Hub:
    def __init__(self, snapshot: Callable[[datetime], dict[str, object]], interval: float) -> None:
        self.snapshot = snapshot
        self.interval = interval
        self.clients: set[asyncio.Queue[bytes]] = set()
        self._pending: asyncio.TimerHandle | None = None
        self.last: bytes = b""
        self.pushed = 0

    def notify(self) -> None:
        """Something changed; push within `interval` (several changes, one push)."""
        if self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.call_later(self.interval, self._push)

    def frame(self) -> bytes:
        data = self.snapshot(datetime.now(UTC))
        data["sent_at"] = time.time()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def _push(self) -> None:
        self._pending = None
        if not self.clients:
            return
        self.last = self.frame()
        self.pushed += 1
        message = b"event: board\ndata: " + self.last + b"\n\n"
        for queue in self.clients:
            if queue.full():
                queue.get_nowait()  # drop the stale frame: the newest wins
            queue.put_nowait(message)

    def subscribe(self) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        queue.put_nowait(b"event: board\ndata: " + self.frame() + b"\n\n")
        self.clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes]) -> None:
        self.clients.discard(queue)
