"""Pushes the live board to browsers (SSE): a change after a quiet spell is pushed at once (on
the loop's next turn); changes coming faster are coalesced, at most one push per `interval`
seconds. The board is read once per push and encoded once per scope (hotline/supervisor/scope.py: a
district supervisor's browser gets its district's frame, never the city's), and each browser
keeps only the newest frame (a slow one skips frames, never stalls the controller)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from hotline.supervisor.scope import CITY, Scope, board_view


class Hub:
    def __init__(self, snapshot: Callable[[datetime], dict[str, object]], interval: float) -> None:
        self.snapshot = snapshot
        self.interval = interval
        self.clients: dict[asyncio.Queue[bytes], Scope] = {}
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

    def frame(self, scope: Scope = CITY) -> bytes:
        return self._frames({scope})[scope.key]

    def _frames(self, scopes: set[Scope]) -> dict[str, bytes]:
        data = self.snapshot(datetime.now(UTC))
        data["sent_at"] = time.time()
        return {
            scope.key: json.dumps(
                board_view(data, scope), ensure_ascii=False, separators=(",", ":")
            ).encode()
            for scope in scopes
        }

    def _push(self) -> None:
        self._pending = None
        if not self.clients:
            return
        self._last_push = asyncio.get_running_loop().time()
        frames = self._frames(set(self.clients.values()))
        self.last = next(iter(frames.values()))
        self.pushed += 1
        messages = {key: b"event: board\ndata: " + f + b"\n\n" for key, f in frames.items()}
        for queue, scope in self.clients.items():
            if queue.full():
                queue.get_nowait()  # drop the stale frame: the newest wins
            queue.put_nowait(messages[scope.key])

    def subscribe(self, scope: Scope = CITY) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        queue.put_nowait(b"event: board\ndata: " + self.frame(scope) + b"\n\n")
        self.clients[queue] = scope
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes]) -> None:
        self.clients.pop(queue, None)
