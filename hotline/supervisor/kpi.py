"""The hotline's figures (GB/T 33358 words), from stored calls, legs, routing decisions, survey
ratings and callbacks. Pure: the caller loads the rows (hotline/supervisor/reports.py) and passes
them
in; the CLI (`hotline report kpi`) and the dashboard (/api/kpi) both use `compute` through
`reports.kpi_report`, so they show the same numbers.

Which calls: inbound calls (a citizen dialled 12333) that *started* in the period and have
ended. Our own callback and survey calls are not inbound calls: callbacks are reported apart.
A call's outcome is the one stored on it (ivr/outcome.py, README "How a call ends").

Definitions (README "KPIs" has the same list):
- asked: calls that asked for a person = answered + abandoned + callback_booked + overflow;
- wait: from the moment the caller asked (`asked_at`, stamped when they pressed 0 or the flow
  routed: time in the hold prompt and in hotline's line included) to the first agent's answer;
- connection rate (接通率) = answered / asked;
- 15-second answer rate = answered with wait <= 15 s / asked;
- abandonment (放弃率) = abandoned / asked (hung up in the hold prompt, the line or ringing);
- average wait = total wait / answered; average talk = total talk / answered legs (an agent
  leg's answer to its hang-up);
- IVR self-service rate = self_service / calls that entered the IVR (every call the IVR
  reported on: all but the fallback queue's calls the controller never saw);
- AB-fallback rate = calls answered by someone other than the post's A agent / calls whose
  routing reached the post's A step (A rung or passed over as away/busy; a call the
  first-inquiry owner answered never reached it, and a caller who hung up while A rang is in
  the denominator only);
- survey response rate = answered calls with a rating / answered calls eligible for a survey
  (those not ruled out by the per-caller limit or the do-not-call list);
  satisfaction (满意率) = rated satisfied or very satisfied / rated;
- callbacks, apart: booked (a callback row queued in the period), placed (we dialled: any
  attempt made or a final status), answered (the caller was reached).
A call's district: its post's district when routed to a post, else the district of its number,
else "city". An agent's figures are over the calls they answered first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from ivr.outcome import (
    ABANDONED,
    ANSWERED,
    ASKED_OUTCOMES,
    CALLBACK_BOOKED,
    FALLBACK,
    IVR_ABANDONED,
    OVERFLOW,
    SELF_SERVICE,
)

ANSWER_SECONDS = 15.0
SATISFIED = frozenset({"satisfied", "very_satisfied"})
GROUPINGS = ("district", "agent", "day")


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
    outcome: str = ""
    asked_at: datetime | None = None
    ivr_end: str | None = None  # None: no IVR reported on the call
    kind: str = "inbound"


@dataclass(frozen=True)
class DecisionRow:
    linkedid: str
    decided_at: datetime
    post: str
    answered_by: str | None
    reached_a: bool = False
    answered_role: str | None = None


@dataclass(frozen=True)
class CallbackRow:
    linkedid: str  # the call that booked it
    queued_at: datetime
    status: str  # pending | dialing | done | failed | unknown
    attempts: int
    district: str = ""


@dataclass
class Figures:
    calls: int = 0  # inbound calls started in the period (ended)
    entered_ivr: int = 0
    self_service: int = 0
    ivr_abandoned: int = 0
    fallback: int = 0
    asked: int = 0  # asked for a person
    answered: int = 0
    answered_15s: int = 0
    abandoned: int = 0
    callback_booked: int = 0
    overflow: int = 0
    wait_total: float = 0.0  # seconds, over answered calls
    talk_total: float = 0.0  # seconds, over answered legs
    talks: int = 0
    ab_reached: int = 0
    ab_fallbacks: int = 0
    survey_eligible: int = 0
    responded: int = 0  # answered calls with a survey rating
    satisfied: int = 0
    callbacks_booked: int = 0
    callbacks_placed: int = 0
    callbacks_answered: int = 0

    @property
    def satisfaction_rate(self) -> float | None:
        return _share(self.satisfied, self.responded)

    @property
    def response_rate(self) -> float | None:
        return _share(self.responded, self.survey_eligible)

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
    def self_service_rate(self) -> float | None:
        return _share(self.self_service, self.entered_ivr)

    @property
    def average_wait(self) -> float | None:
        return self.wait_total / self.answered if self.answered else None

    @property
    def average_talk(self) -> float | None:
        return self.talk_total / self.talks if self.talks else None

    @property
    def ab_fallback_rate(self) -> float | None:
        return _share(self.ab_fallbacks, self.ab_reached)

    def as_json(self) -> dict[str, object]:
        """The stable field names (README "KPIs"): counts, then rates in percent with one
        decimal and seconds with one decimal; null where the denominator is zero."""
        return {
            "calls": self.calls,
            "entered_ivr": self.entered_ivr,
            "self_service": self.self_service,
            "ivr_abandoned": self.ivr_abandoned,
            "fallback": self.fallback,
            "asked": self.asked,
            "answered": self.answered,
            "answered_15s": self.answered_15s,
            "abandoned": self.abandoned,
            "callback_booked": self.callback_booked,
            "overflow": self.overflow,
            "answer_rate_15s": _pct(self.answer_rate_15s),
            "connection_rate": _pct(self.connection_rate),
            "abandonment": _pct(self.abandonment),
            "self_service_rate": _pct(self.self_service_rate),
            "average_wait": _round(self.average_wait),
            "average_talk": _round(self.average_talk),
            "ab_reached": self.ab_reached,
            "ab_fallbacks": self.ab_fallbacks,
            "ab_fallback_rate": _pct(self.ab_fallback_rate),
            "survey_eligible": self.survey_eligible,
            "responded": self.responded,
            "satisfied": self.satisfied,
            "satisfaction_rate": _pct(self.satisfaction_rate),
            "response_rate": _pct(self.response_rate),
            "callbacks_booked": self.callbacks_booked,
            "callbacks_placed": self.callbacks_placed,
            "callbacks_answered": self.callbacks_answered,
        }


@dataclass
class Report:
    since: datetime
    until: datetime
    district: str | None = None  # the scope: None for the whole city
    total: Figures = field(default_factory=Figures)
    districts: dict[str, Figures] = field(default_factory=dict)
    agents: dict[str, Figures] = field(default_factory=dict)
    days: dict[str, Figures] = field(default_factory=dict)  # local dates, YYYY-MM-DD

    def as_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "district": self.district,
            "total": self.total.as_json(),
            "districts": {k: v.as_json() for k, v in sorted(self.districts.items())},
            "agents": {k: v.as_json() for k, v in sorted(self.agents.items())},
            "days": {k: v.as_json() for k, v in sorted(self.days.items())},
        }


@dataclass(frozen=True)
class Places:
    """Where a call belongs: posts' districts and the district of a caller's number."""

    post_district: Mapping[str, str]
    district_of_number: Callable[[str], str | None]
    zone: tzinfo  # the calendar's: days are local days


def compute(
    calls: Iterable[CallRow],
    decisions: Iterable[DecisionRow],
    places: Places,
    since: datetime,
    until: datetime,
    ratings: Mapping[str, str] | None = None,
    survey_ruled_out: frozenset[str] = frozenset(),
    callbacks: Iterable[CallbackRow] = (),
    district: str | None = None,
) -> Report:
    """`ratings`: linkedid -> survey rating; `survey_ruled_out`: answered calls the survey
    rules excluded; `district`: only that district's calls and callbacks (None: the city)."""
    by_call: dict[str, list[DecisionRow]] = {}
    for d in decisions:
        by_call.setdefault(d.linkedid, []).append(d)
    report = Report(since, until, district)
    ratings = ratings or {}
    district_of_call: dict[str, str] = {}
    for call in calls:
        if call.kind != "inbound" or call.ended_at is None:
            continue
        mine = sorted(by_call.get(call.linkedid, []), key=lambda d: d.decided_at)
        posted = next((d.post for d in mine if d.post), "")
        where = (
            places.post_district.get(posted)
            or places.district_of_number(call.caller_number)
            or "city"
        )
        district_of_call[call.linkedid] = where
        if not since <= call.started_at < until or (district is not None and where != district):
            continue
        day = call.started_at.astimezone(places.zone).date().isoformat()
        buckets = [
            report.total,
            report.districts.setdefault(where, Figures()),
            report.days.setdefault(day, Figures()),
        ]
        _count_call(call, mine, buckets, report.agents, ratings, survey_ruled_out)
    for cb in callbacks:
        where = district_of_call.get(cb.linkedid) or cb.district or "city"
        if not since <= cb.queued_at < until or (district is not None and where != district):
            continue
        day = cb.queued_at.astimezone(places.zone).date().isoformat()
        placed = cb.attempts > 0 or cb.status in ("done", "failed", "unknown")
        for figures in (
            report.total,
            report.districts.setdefault(where, Figures()),
            report.days.setdefault(day, Figures()),
        ):
            figures.callbacks_booked += 1
            figures.callbacks_placed += placed
            figures.callbacks_answered += cb.status == "done"
    return report


def _count_call(
    call: CallRow,
    decisions: list[DecisionRow],
    buckets: list[Figures],
    agents: dict[str, Figures],
    ratings: Mapping[str, str],
    survey_ruled_out: frozenset[str],
) -> None:
    outcome = call.outcome
    for figures in buckets:
        figures.calls += 1
        figures.entered_ivr += call.ivr_end is not None
        figures.self_service += outcome == SELF_SERVICE
        figures.ivr_abandoned += outcome == IVR_ABANDONED
        figures.fallback += outcome == FALLBACK
        figures.abandoned += outcome == ABANDONED
        figures.callback_booked += outcome == CALLBACK_BOOKED
        figures.overflow += outcome == OVERFLOW
        figures.asked += outcome in ASKED_OUTCOMES
    for d in decisions:
        for figures in buckets:
            figures.ab_reached += d.reached_a
            figures.ab_fallbacks += d.reached_a and d.answered_role not in (None, "A")
    answers = sorted(
        (leg for leg in call.legs if leg.answered_at is not None),
        key=lambda leg: leg.answered_at or leg.ring_at,
    )
    if outcome != ANSWERED or not answers:
        return
    first = answers[0]
    assert first.answered_at is not None
    # calls stored before asked_at existed: the first decision or ring stands in
    asked_at = call.asked_at or min(
        [d.decided_at for d in decisions] + [leg.ring_at for leg in call.legs]
    )
    wait = max(0.0, (first.answered_at - asked_at).total_seconds())
    rating = ratings.get(call.linkedid)
    eligible = call.linkedid not in survey_ruled_out
    agent = agents.setdefault(first.agent_id, Figures()) if first.agent_id else None
    if agent is not None:  # an agent's calls are the calls they answered
        agent.calls += 1
        agent.entered_ivr += call.ivr_end is not None
        agent.asked += 1
    for figures in [*buckets, *([agent] if agent else [])]:
        figures.answered += 1
        figures.answered_15s += wait <= ANSWER_SECONDS
        figures.wait_total += wait
        figures.survey_eligible += eligible
        figures.responded += rating is not None
        figures.satisfied += rating in SATISFIED
    for leg in answers:
        if leg.answered_at is None or leg.ended_at is None:
            continue
        talk = max(0.0, (leg.ended_at - leg.answered_at).total_seconds())
        targets = [*buckets]
        if leg.agent_id:
            targets.append(agents.setdefault(leg.agent_id, Figures()))
        for figures in targets:
            figures.talk_total += talk
            figures.talks += 1


def rows(report: Report, by: str | None) -> list[tuple[str, str, Figures]]:
    """(scope, id, figures): the total first, then each group of `by` (district, agent or
    day) in order; every group when `by` is None."""
    found: list[tuple[str, str, Figures]] = [("total", report.district or "city", report.total)]
    groups = {"district": report.districts, "agent": report.agents, "day": report.days}
    for name in [by] if by else GROUPINGS:
        found += [(name, key, figures) for key, figures in sorted(groups[name].items())]
    return found


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


FIELDS = tuple(Figures().as_json())  # the CSV's columns, in the JSON's order
