"""What the agent's desk asks of the matters (hotline/matters): a narrow seat in the desk's own
words, so the desk imports nothing of the matters package (the two are siblings in the layers);
the composition root hands in an adapter (hotline/controller/desk_matters.py). Rows come back
JSON-able, the caller's number never among them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class MatterRefused(Exception):
    """The matters refused an action (one line for the agent)."""


class MatterDesk(Protocol):
    def open_for(self, caller_number: str) -> list[dict[str, object]]:
        """The caller's open matters: number, category, business, status, owner, summary,
        due_at (ISO), overdue."""
        ...

    def to_tell(self, agent_id: str) -> list[dict[str, object]]:
        """The agent's own matters a department answered: the citizen is still to be told
        (as `open_for`'s rows, with the caller masked)."""
        ...

    def caller_of(self, number: str) -> str | None:
        """The caller's number of matter `number` (None: no such matter)."""
        ...

    def owner_of(self, number: str) -> str | None:
        """The agent who owns matter `number` (None: the pool, or no such matter)."""
        ...

    def answers(self, words: str, business: str) -> list[dict[str, object]]:
        """Standard answers (统一答复口径) and notices of the catalogue holding every word (any
        language), of `business` when one is named: id, business, kind, title and text (each
        by language), standard answers first."""
        ...

    def choices(self) -> dict[str, object]:
        """Categories, departments and notices an agent picks from."""
        ...

    def create(
        self, caller: str, category: str, summary: str, linkedid: str, owner: str, actor: str
    ) -> str:
        """A new matter raised in call `linkedid`, owned by the agent who took it; its number."""
        ...

    def note(self, number: str, actor: str, text: str) -> None: ...

    def take_over(self, number: str, actor: str, agent_id: str, reason: str) -> None: ...

    def update_summary(self, number: str, actor: str, summary: str) -> None: ...

    def close(self, number: str, actor: str, reason: str) -> None:
        """Close with the recorded reason: how the citizen was told (or why they need not be)."""
        ...

    def hand_over(self, number: str, actor: str, department: str, question: str) -> None: ...

    def book_callback(self, number: str, actor: str, at: datetime) -> None: ...

    def send_notice(self, number: str, actor: str, notice: str, language: str) -> None: ...
