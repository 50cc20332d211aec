"""The matters as the supervisors' views and the departments' reply form ask for them
(hotline/supervisor/matter_board.MatterBoard), and the matters' alerts as the board shows
them: the composition root's adapter between two sibling features, so neither imports the
other. The figures are hotline/matters/figures.py's, over the service's facts: the same
function and facts as `hotline report matters`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.matters import lifecycle
from hotline.matters.figures import matter_report
from hotline.matters.lifecycle import Alert
from hotline.matters.service import MatterError, MatterService, MatterView, Scope
from hotline.supervisor.desk_matters import MatterRefused

REFUSALS = (MatterError, lifecycle.TransitionError)  # one line for the user, each


class MatterBoardAdapter:
    def __init__(self, service: MatterService) -> None:
        self.service = service

    def listing(
        self,
        district: str | None,
        status: str | None,
        overdue: bool,
        department: str | None,
    ) -> list[dict[str, object]]:
        try:
            found = self.service.search(Scope(district), status, overdue, department)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None
        handed = self.service.handed_to([m.id for m in found])
        now, zone = self.service.now(), self.service.zone
        return [_row(m, now, zone) | {"departments": handed.get(m.id, [])} for m in found]

    def counts(self, district: str | None) -> dict[str, dict[str, int]]:
        return self.service.counts(Scope(district))

    def detail(self, number: str) -> dict[str, object] | None:
        try:
            found = self.service.get(number)
        except MatterError:
            return None
        zone = self.service.zone
        row = _row(found.matter, self.service.now(), zone)
        row["departments"] = list(dict.fromkeys(h.department for h in found.handovers))
        row["closed_at"] = _local(found.matter.closed_at, zone)
        row["close_reason"] = found.matter.close_reason
        row["history"] = [
            {
                "at": _local(e.at, zone),
                "actor": e.actor,
                "kind": e.kind,
                "detail": e.detail,
                "status": e.status,
            }
            for e in found.events
        ]
        row["handovers"] = [
            {
                "department": h.department,
                "question": h.question,
                "created_at": _local(h.created_at, zone),
                "created_by": h.created_by,
                "due_at": _local(h.due_at, zone),
                "reply": h.reply,
                "replied_at": _local(h.replied_at, zone),
                "replied_by": h.replied_by,
            }
            for h in found.handovers
        ]
        row["calls"] = found.calls
        row["notices"] = [
            {"notice": n.notice, "language": n.language, "status": n.status} for n in found.notices
        ]
        return row

    def figures(self, since: datetime, until: datetime, district: str | None) -> dict[str, object]:
        facts = self.service.facts(since, until, Scope(district))
        return matter_report(facts, since, until, self.service.now()).as_json()

    def departments(self) -> list[dict[str, object]]:
        return [
            {"id": d.id, "name": d.name, "name_en": d.name_en, "district": d.district}
            for d in self.service.departments.values()
        ]

    def reply(self, number: str, actor: str, text: str, department: str) -> str | None:
        try:
            return self.service.reply(number, actor, text, department).owner
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None


def board_alert(alert: Alert, matter: MatterView) -> dict[str, object]:
    """A matter's alert as the supervisors' board lists it (in scope by the matter's district;
    a matter without one is the city's)."""
    return {
        "kind": "matter-handover" if alert.kind == "handover" else "matter-overdue",
        "to": alert.to,
        "number": matter.number,
        "district": matter.district,
        "owner": matter.owner or "",
    }


def _local(at: datetime | None, zone: ZoneInfo) -> str | None:
    return None if at is None else at.astimezone(zone).isoformat(timespec="minutes")


def _row(m: MatterView, now: datetime, zone: ZoneInfo) -> dict[str, object]:
    return {
        "number": m.number,
        "category": m.category,
        "business": m.business,
        "district": m.district,
        "channel": m.channel,
        "status": m.status,
        "owner": m.owner,
        "summary": m.summary,
        "caller": m.caller_masked,
        "created_at": _local(m.created_at, zone),
        "due_at": _local(m.due_at, zone),
        "overdue": m.overdue(now),
    }
