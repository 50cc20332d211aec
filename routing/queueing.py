"""How callers wait when every agent is busy: the queue's policy, as plain data."""

from __future__ import annotations

from hotline.tomltables import setting, settings_type


@settings_type
class QueuePolicy:
    """[routing] queue, queue_max_wait, announce_every, retry_every, average_handle_seconds,
    callbacks."""

    enabled: bool = setting(default=True, key="queue")
    # seconds in line, then no-answer
    max_wait: float = setting(default=600.0, key="queue_max_wait")
    # seconds between position / expected-wait announcements
    announce_every: float = setting(default=30.0, lo=5.0)
    retry_every: float = setting(default=5.0, lo=1.0)  # seconds between looks for a free agent
    average_handle_seconds: float = setting(default=180.0, lo=1.0)  # for the expected-wait estimate
    callbacks: bool = setting(default=True)  # offer 1 for a callback that keeps the caller's place
