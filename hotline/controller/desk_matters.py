"""The matters as the agent's desk asks for them (hotline/supervisor/desk_matters.MatterDesk):
the composition root's adapter between two sibling features, so neither imports the other."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.matters import lifecycle
from hotline.matters.notify import NoticeDesk
from hotline.matters.service import MatterError, MatterService, MatterView, NewMatter
from hotline.supervisor.desk_matters import MatterRefused

REFUSALS = (MatterError, lifecycle.TransitionError)  # one line for the agent, each
ANSWERS_SHOWN = 30  # a search that finds more asks for another word


class DeskMatters:
    def __init__(self, service: MatterService, notices: NoticeDesk) -> None:
        self.service = service
        self.notices = notices

    def open_for(self, caller_number: str) -> list[dict[str, object]]:
        now = self.service.now()
        return [_row(m, now, self.service.zone) for m in self.service.for_caller(caller_number)]

    def to_tell(self, agent_id: str) -> list[dict[str, object]]:
        now = self.service.now()
        return [
            _row(m, now, self.service.zone) | {"caller": m.caller_masked}
            for m in self.service.to_tell(agent_id)
        ]

    def caller_of(self, number: str) -> str | None:
        try:
            return self.service.get(number).matter.caller_number
        except MatterError:
            return None

    def owner_of(self, number: str) -> str | None:
        try:
            return self.service.get(number).matter.owner
        except MatterError:
            return None

    def answers(self, words: str, business: str) -> list[dict[str, object]]:
        found = self.notices.catalogue.search(words, business or None)
        found.sort(key=lambda n: (n.kind != "answer", n.business, n.id))
        return [
            {"id": n.id, "business": n.business, "kind": n.kind, "title": n.title, "text": n.text}
            for n in found[:ANSWERS_SHOWN]
        ]

    def choices(self) -> dict[str, object]:
        return {
            "categories": list(lifecycle.CATEGORIES),
            "departments": [
                {"id": d.id, "name": d.name, "name_en": d.name_en}
                for d in self.service.departments.values()
            ],
            "notices": [
                {"id": n.id, "business": n.business, "title": n.title}
                for n in self.notices.catalogue.notices.values()
            ],
            "businesses": sorted({n.business for n in self.notices.catalogue.notices.values()}),
        }

    def create(
        self, caller: str, category: str, summary: str, linkedid: str, owner: str, actor: str
    ) -> str:
        directory = self.service.directory
        new = NewMatter(
            caller_number=caller,
            district=directory.district_of_number(caller) or "",
            category=category,
            channel="phone",
            summary=summary,
            linkedid=linkedid,
            owner=owner,  # first inquiry: the agent who took the call owns it
        )
        try:
            return self.service.create(new, actor).number
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def note(self, number: str, actor: str, text: str) -> None:
        try:
            self.service.note(number, actor, text)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def take_over(self, number: str, actor: str, agent_id: str, reason: str) -> None:
        try:
            self.service.take_over(number, actor, agent_id, reason)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def update_summary(self, number: str, actor: str, summary: str) -> None:
        try:
            self.service.update_summary(number, actor, summary)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def close(self, number: str, actor: str, reason: str) -> None:
        try:
            self.service.close(number, actor, "reason", reason)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def hand_over(self, number: str, actor: str, department: str, question: str) -> None:
        try:
            self.service.hand_over(number, actor, department, question)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def book_callback(self, number: str, actor: str, at: datetime) -> None:
        try:
            self.service.book_callback(number, actor, at)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None

    def send_notice(self, number: str, actor: str, notice: str, language: str) -> None:
        try:
            self.notices.send(notice, actor, matter=number, language=language)
        except REFUSALS as exc:
            raise MatterRefused(str(exc)) from None


def _row(m: MatterView, now: datetime, zone: ZoneInfo) -> dict[str, object]:
    return {
        "number": m.number,
        "category": m.category,
        "business": m.business,
        "status": m.status,
        "owner": m.owner,
        "summary": m.summary,
        "due_at": m.due_at.astimezone(zone).isoformat(timespec="minutes"),  # the agents' clock
        "overdue": m.overdue(now),
    }
