"""The hotline's figures as GB/T 33358 counts them, from stored calls, legs and routing
decisions. Pure: the caller loads the rows (supervisor/reports.py) and passes them in.

Definitions (per period; calls are counted by the time they started, once ended):
- a call *asked for a person* when it has a routing decision or an agent leg; it asked at the
  earliest of its first decision and its first ring;
- it was *answered* when an agent's leg was answered; its wait is from asking to that answer
  (for an unanswered call, from asking to the caller's hang-up);
- 15-second answer rate: answered within 15 s / asked for a person;
- connection rate (接通率): answered / asked for a person (target >= 95 % over a rolling 24 h);
- abandonment (放弃率): asked for a person and hung up before anyone answered / asked;
- average wait: over answered calls; average talk: over answered legs, answer to hang-up;
- AB-fallback frequency: decisions for an AB-post whose call was not answered by the post's A
  agent / decisions for an AB-post;
- satisfaction (满意率): ratings "satisfied" or "very satisfied" / ratings given; response
  rate: answered calls with a rating / answered calls (every answered call is offered the
  survey, in the call or by a survey call). Ratings come from the surveys' table.
A call's district: its post's district when routed to a post, else the district of its number,
else the city.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

ANSWER_SECONDS = 15.0


@dataclass(frozen=True)
class LegRow:
    agent_id: str | None
    ring_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class CallRow:
    linkedid: str
    caller_number: str
    started_at: datetime
    ended_at: datetime | None
    legs: tuple[LegRow, ...] = ()


@dataclass(frozen=True)
class DecisionRow:
    linkedid: str
    decided_at: datetime
    post: str
    answered_by: str | None


SATISFIED = frozenset({"satisfied", "very_satisfied"})


@dataclass
class Figures:
    calls: int = 0  # calls started in the period (ended)
    asked: int = 0  # asked for a person
    answered: int = 0
    answered_15s: int = 0
    abandoned: int = 0
    wait_total: float = 0.0  # seconds, over answered calls
    talk_total: float = 0.0  # seconds, over answered legs
    talks: int = 0
    ab_decisions: int = 0
    ab_fallbacks: int = 0
    responded: int = 0  # answered calls with a survey rating
    satisfied: int = 0

    @property
    def satisfaction_rate(self) -> float | None:
        return _share(self.satisfied, self.responded)

    @property
    def response_rate(self) -> float | None:
        return _share(self.responded, self.answered)

    @property
    def answer_rate_15s(self) -> float | None:
        return _share(self.answered_15s, self.asked)

    @property
    def connection_rate(self) -> float | None:
        return _share(self.answered, self.asked)

    @property
    def abandonment(self) -> float | None:
        return _share(self.abandoned, self.asked)

    @property
    def average_wait(self) -> float | None:
        return self.wait_total / self.answered if self.answered else None

    @property
    def average_talk(self) -> float | None:
        return self.talk_total / self.talks if self.talks else None

    @property
    def ab_fallback_rate(self) -> float | None:
        return _share(self.ab_fallbacks, self.ab_decisions)

    def as_json(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "asked": self.asked,
            "answered": self.answered,
            "answered_15s": self.answered_15s,
            "abandoned": self.abandoned,
            "answer_rate_15s": _pct(self.answer_rate_15s),
            "connection_rate": _pct(self.connection_rate),
            "abandonment": _pct(self.abandonment),
            "average_wait": _round(self.average_wait),
            "average_talk": _round(self.average_talk),
            "ab_decisions": self.ab_decisions,
            "ab_fallbacks": self.ab_fallbacks,
            "ab_fallback_rate": _pct(self.ab_fallback_rate),
            "responded": self.responded,
            "satisfied": self.satisfied,
            "satisfaction_rate": _pct(self.satisfaction_rate),
            "response_rate": _pct(self.response_rate),
        }


@dataclass
class Report:
    since: datetime
    until: datetime
    total: Figures = field(default_factory=Figures)
    districts: dict[str, Figures] = field(default_factory=dict)
    agents: dict[str, Figures] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "total": self.total.as_json(),
            "districts": {k: v.as_json() for k, v in sorted(self.districts.items())},
            "agents": {k: v.as_json() for k, v in sorted(self.agents.items())},
        }


def compute(
    calls: Iterable[CallRow],
    decisions: Iterable[DecisionRow],
    post_a: Mapping[str, str],
    post_district: Mapping[str, str],
    district_of_number: Callable[[str], str | None],
    since: datetime,
    until: datetime,
    ratings: Mapping[str, str] | None = None,
) -> Report:
    """`post_a`: post id -> its A agent; `post_district`: post id -> its district; `ratings`:
    linkedid -> survey rating."""
    by_call: dict[str, list[DecisionRow]] = {}
    for d in decisions:
        by_call.setdefault(d.linkedid, []).append(d)
    report = Report(since, until)
    ratings = ratings or {}
    for call in calls:
        if not since <= call.started_at < until or call.ended_at is None:
            continue
        mine = sorted(by_call.get(call.linkedid, []), key=lambda d: d.decided_at)
        posted = next((d.post for d in mine if d.post), "")
        district = post_district.get(posted) or district_of_number(call.caller_number) or "city"
        buckets = [report.total, report.districts.setdefault(district, Figures())]
        for figures in buckets:
            figures.calls += 1
        asked_at = min(
            [d.decided_at for d in mine] + [leg.ring_at for leg in call.legs], default=None
        )
        answers = sorted(
            (leg for leg in call.legs if leg.answered_at is not None),
            key=lambda leg: leg.answered_at or leg.ring_at,
        )
        for d in mine:
            if d.post and d.post in post_a:
                for figures in buckets:
                    figures.ab_decisions += 1
                    figures.ab_fallbacks += d.answered_by != post_a[d.post]
        if asked_at is None:
            continue
        first = answers[0] if answers else None
        agent_bucket = (
            report.agents.setdefault(first.agent_id, Figures())
            if first is not None and first.agent_id
            else None
        )
        for figures in buckets:
            figures.asked += 1
        if first is None or first.answered_at is None:
            for figures in buckets:
                figures.abandoned += 1
            continue
        wait = max(0.0, (first.answered_at - asked_at).total_seconds())
        rating = ratings.get(call.linkedid)
        for figures in [*buckets, *([agent_bucket] if agent_bucket else [])]:
            if figures is agent_bucket:  # an agent's calls are the calls they answered
                figures.calls += 1
                figures.asked += 1
            figures.answered += 1
            figures.answered_15s += wait <= ANSWER_SECONDS
            figures.wait_total += wait
            figures.responded += rating is not None
            figures.satisfied += rating in SATISFIED
        for leg in answers:
            if leg.answered_at is None or leg.ended_at is None:
                continue
            talk = max(0.0, (leg.ended_at - leg.answered_at).total_seconds())
            targets = [*buckets]
            if leg.agent_id:
                targets.append(report.agents.setdefault(leg.agent_id, Figures()))
            for figures in targets:
                figures.talk_total += talk
                figures.talks += 1
    return report


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
