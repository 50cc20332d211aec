"""Pushes the live board to browsers (SSE): a change after a quiet spell is pushed at once (on
the loop's next turn); changes coming faster are coalesced, at most one push per `interval`
seconds. Each snapshot is encoded once for every browser, and each browser keeps only the
newest frame (a slow one skips frames, never stalls the controller)."""

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
        self._pending: asyncio.Handle | None = None
        self._last_push = 0.0  # loop time
        self.last: bytes = b""
        self.pushed = 0

    def notify(self) -> None:
        """Something changed; push now, or `interval` after the last push (several changes,
        one push)."""
        if self._pending is None:
            loop = asyncio.get_running_loop()
            due = self._last_push + self.interval
            if loop.time() >= due:
                self._pending = loop.call_soon(self._push)
            else:
                self._pending = loop.call_at(due, self._push)

    def frame(self) -> bytes:
        data = self.snapshot(datetime.now(UTC))
        data["sent_at"] = time.time()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def _push(self) -> None:
        self._pending = None
        if not self.clients:
            return
        self._last_push = asyncio.get_running_loop().time()
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
