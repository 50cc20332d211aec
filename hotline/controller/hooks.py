"""How parts attach to the controller: AMI events, the end of a call, timed jobs.

The composition root (app.py) builds each part and registers it here; the controller's loop
calls the hooks. Every reader of AMI events declares the events it reads (`events`, as
panoramisk's `register_event` does), and the controller follows exactly their union: the other
events are dropped before they are converted, so nothing else has to list them.

    hooks.reads(part)                     its events are followed; the root calls it itself
    hooks.on_event(part, main_only=...)   `part.on_event(...)` after each followed event
    hooks.on_changes(fn, leader_only=...) `fn(changes)`: what a call tracker made of an event
    hooks.on_call_end(fn)                 `fn(call)` when a call ends (the tracker's snapshot)
    hooks.every(seconds, job, id, ...)    a timed job, on the leader only unless said otherwise
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hotline.pbx.calltracker import CallSnapshot, Change


class EventReader(Protocol):
    @property
    def events(self) -> frozenset[str]:
        """The AMI events (their `Event` header) this part reads."""
        ...


class EventConsumer(EventReader, Protocol):
    def on_event(
        self, event: Mapping[str, str], changes: list[Change], presence_changed: bool
    ) -> None:
        """One followed event, after the controller's own fold: `changes` is what the box's
        call tracker made of it; `presence_changed`: presence (or a callback's result) changed
        too."""
        ...


@dataclass(frozen=True)
class Attached:
    consumer: EventConsumer
    main_only: bool  # acts on the main box (where call control is sent) only
    leader_only: bool  # one controller does it (recordings are catalogued once)


@dataclass(frozen=True)
class TimedJob:
    id: str
    every: float  # seconds
    run: Callable[[], Awaitable[None]]  # a coroutine: APScheduler runs plain functions off the loop
    leader_only: bool


@dataclass
class Hooks:
    readers: list[EventReader] = field(default_factory=list)
    consumers: list[Attached] = field(default_factory=list)
    changes: list[tuple[Callable[[list[Change]], None], bool]] = field(default_factory=list)
    call_end: list[Callable[[CallSnapshot], None]] = field(default_factory=list)
    jobs: list[TimedJob] = field(default_factory=list)

    def reads(self, *readers: EventReader) -> None:
        """Parts the controller's own fold calls directly (presence, call trackers, callback
        results): only their events are followed here."""
        self.readers += readers

    def on_event(
        self, consumer: EventConsumer, *, main_only: bool = False, leader_only: bool = False
    ) -> None:
        self.readers.append(consumer)
        self.consumers.append(Attached(consumer, main_only, leader_only))

    def on_changes(self, fn: Callable[[list[Change]], None], *, leader_only: bool) -> None:
        self.changes.append((fn, leader_only))

    def on_call_end(self, fn: Callable[[CallSnapshot], None]) -> None:
        self.call_end.append(fn)

    def every(
        self,
        seconds: float,
        job: Callable[[], Awaitable[None]],
        id: str,
        *,
        leader_only: bool = True,
    ) -> None:
        self.jobs.append(TimedJob(id, seconds, job, leader_only))

    def followed_events(self) -> frozenset[str]:
        """The union of what the attached readers declare."""
        return frozenset().union(*(reader.events for reader in self.readers))

    def event_seen(
        self,
        site: str,
        event: Mapping[str, str],
        changes: list[Change],
        presence_changed: bool,
        is_leader: bool,
    ) -> None:
        """Hand one followed event from `site`'s box to what is attached, in the order
        attached."""
        for attached in self.consumers:
            if attached.main_only and site != "main":
                continue
            if attached.leader_only and not is_leader:
                continue
            attached.consumer.on_event(event, changes, presence_changed)
        if not changes:
            return
        for fn, leader_only in self.changes:
            if is_leader or not leader_only:
                fn(changes)
        if self.call_end:
            for kind, snap in changes:
                if kind == "call.ended" and isinstance(snap, CallSnapshot):
                    for end in self.call_end:
                        end(snap)
