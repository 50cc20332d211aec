"""How callers wait when every agent is busy: the queue's policy, as plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueuePolicy:
    enabled: bool = True
    max_wait: float = 600.0  # seconds in line before the flow's no-answer path
    announce_every: float = 30.0  # seconds between position / expected-wait announcements
    retry_every: float = 5.0  # seconds between looks for a free agent
    average_handle_seconds: float = 180.0  # for the expected-wait estimate
    callbacks: bool = True  # offer 1 for a callback that keeps the caller's place
