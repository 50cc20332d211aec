"""What the supervisors' matters views and the departments' reply form ask of the matters
(hotline/matters): a narrow seat in the dashboard's own words, so the supervisor package imports
nothing of the matters package (the two are siblings in the layers); the composition root hands
in an adapter (hotline/controller/matter_board.py). Rows come back JSON-able with the caller
masked, never their number.

Who sees which matter (the one rule, pure; asked by every matters endpoint):
- the city (an admin, an account without a district) sees every matter;
- a district account sees the matters of its district (the matter's district);
- a department account sees only the matters handed over to its department, and answers only
  a hand-over made to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from hotline.supervisor.scope import Scope


class MatterBoard(Protocol):
    def listing(
        self,
        district: str | None,
        status: str | None,
        overdue: bool,
        department: str | None,
    ) -> list[dict[str, object]]:
        """Matters newest first (at most 200): number, category, business, district, channel,
        status, owner, summary, caller (masked), created_at, due_at (ISO, local), overdue,
        departments (those it was handed over to). `district` None: the whole city."""
        ...

    def counts(self, district: str | None) -> dict[str, dict[str, int]]:
        """Open matters by status, by district and by department waiting for a reply, and the
        overdue ones by district, over the whole scope (not one page of the list)."""
        ...

    def detail(self, number: str) -> dict[str, object] | None:
        """A matter (as a listing row) with its history, hand-overs, calls and notices; None
        when there is no such matter."""
        ...

    def figures(self, since: datetime, until: datetime, district: str | None) -> dict[str, object]:
        """The matter KPIs of [since, until) as `hotline report matters --json` gives them."""
        ...

    def departments(self) -> list[dict[str, object]]:
        """The departments file: id, name, name_en, district."""
        ...

    def reply(self, number: str, actor: str, text: str, department: str) -> str | None:
        """A department's reply to the hand-over made to it (MatterRefused with one line when
        the matter is not waiting for this department). Returns the matter's owner, who is now
        to call the citizen back (None: the matter is in the pool)."""
        ...


def sees_matter(
    scope: Scope, department: str | None, district: str, departments: Iterable[str]
) -> bool:
    """The rule above for one matter: `department` is the account's (None: not a department's
    account); `district` the matter's; `departments` those it was handed over to."""
    if department is not None:
        return department in departments
    return scope.covers(district)
