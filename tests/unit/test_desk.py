"""The agent's desk (issue 18 item 3) against a real aiohttp server on loopback and a SQLite
file: the pop on answer, what an agent may see, the wrap-up code and the agent's own state.
Every expected value is written by hand from the scenario below.

Scenario (agents from config/seats.toml; accounts `desk1001` -> agent 1001 and `desk1002` ->
agent 1002, `city` a city supervisor). Caller C = 13912345678 called before:
- P1, two days ago: answered by 1002 after the IVR nodes main > policy, wrapped up `answered`;
- P2, yesterday: abandoned after the IVR node main, no agent;
C has an open complaint ticket 20261207-0001 (and a closed one, not shown), rated the hotline
`dissatisfied` two days ago and `satisfied` yesterday (the last one shows), and has one callback
pending in an hour (and a done one, not shown). Caller D = 13800000002 had Q1, answered by 1002.
Now C calls again (L1) and 1001 answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.controller.desk_matters import DeskMatters
from hotline.controller.matter_board import MatterBoardAdapter
from hotline.matters.departments import load_departments
from hotline.matters.lifecycle import DuePolicy
from hotline.matters.notices import load_notices
from hotline.matters.notify import NoticeDesk
from hotline.matters.service import MatterService, NewMatter
from hotline.matters.sms import sender_of
from hotline.pbx.calltracker import CallSnapshot, Change, LegSnapshot
from hotline.pbx.presence_events import apply_event
from hotline.settings import load_directory
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call, Callback, IvrStep, Leg, Survey, Ticket, WrapUp
from hotline.supervisor.auth import LEGACY_COST, Accounts, AuthError, check_role
from hotline.supervisor.desk import Desk, owner_alert
from hotline.supervisor.desk_web import DeskWeb
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board
from hotline.supervisor.matters_web import MattersWeb
from hotline.supervisor.monitor import MonitorDesk
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.web import Supervision, build_app
from hotline.tomltables import ConfigError, Table
from routing.presence import Presence, State
from routing.settings import read_wrap_up
from routing.wrapup import WrapUpPolicy
from tests.conftest import REPO
from tests.unit.test_supervisor_auth import PASSWORD, FakeAmi, log_in

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
OFFICES = set(DIRECTORY.offices)
AGENTS = frozenset(DIRECTORY.agents)
NOW = datetime.now(UTC)
C, D = "13912345678", "13800000002"
POLICY = WrapUpPolicy(
    required=True, codes={"pension": ("answered", "matter"), "*": ("answered", "nuisance")}
)


def leg(linkedid: str, agent: str, at: datetime, answered: bool = True) -> Leg:
    return Leg(
        uniqueid=f"U{linkedid}{agent}",
        linkedid=linkedid,
        channel=f"PJSIP/agent{agent}-0000000a",
        endpoint=f"agent{agent}",
        agent_id=agent,
        ring_at=at,
        answered_at=at if answered else None,
        ended_at=at,
    )


def seed(sessions: Any) -> None:
    day = timedelta(days=1)
    with sessions() as s, s.begin():
        for linkedid, caller, at, outcome in (
            ("P1", C, NOW - 2 * day, "answered"),
            ("P2", C, NOW - day, "abandoned"),
            ("Q1", D, NOW - day, "answered"),
        ):
            s.add(
                Call(
                    linkedid=linkedid,
                    caller_number=caller,
                    started_at=at,
                    ended_at=at,
                    outcome=outcome,
                )
            )
        s.add_all([leg("P1", "1002", NOW - 2 * day), leg("Q1", "1002", NOW - day)])
        for linkedid, seq, node in (("P1", 1, "main"), ("P1", 2, "policy"), ("P2", 1, "main")):
            s.add(
                IvrStep(
                    linkedid=linkedid,
                    seq=seq,
                    node=node,
                    outcome="digit:1",
                    entered_at=NOW - day,
                    duration_ms=10,
                )
            )
        s.add(WrapUp(linkedid="P1", agent_id="1002", code="answered", at=NOW - 2 * day))
        for number, status in (("20261207-0001", "open"), ("20261201-0009", "closed")):
            s.add(
                Ticket(
                    number=number,
                    linkedid="P2",
                    caller_number=C,
                    category="complaint",
                    recording="x.wav",
                    created_at=NOW - day,
                    status=status,
                )
            )
        for linkedid, rating, at in (
            ("P1", "dissatisfied", NOW - 2 * day),
            ("P2", "satisfied", NOW - day),
        ):
            s.add(
                Survey(
                    linkedid=linkedid,
                    caller_number=C,
                    rating=rating,
                    channel="in-call",
                    rated_at=at,
                )
            )
        for status, due in (("pending", NOW + timedelta(hours=1)), ("done", NOW - day)):
            s.add(
                Callback(
                    linkedid="P2",
                    number=C,
                    queued_at=NOW - day,
                    status=status,
                    next_attempt_at=due,
                )
            )


class Desks:
    """What the supervisors' side (attach.py) builds, with a fake AMI: the changes it sends
    are recorded and, as the
    real UserEvent would, applied to presence."""

    def __init__(self, tmp_path: Path) -> None:
        self.sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
        self.matters = MatterService(
            self.sessions,
            DIRECTORY,
            load_departments(REPO / "config" / "departments.toml"),
            DuePolicy(),
        )
        self.outbox = tmp_path / "outbox.jsonl"
        notices = NoticeDesk(
            self.sessions,
            load_notices(REPO / "config" / "notices.toml"),
            sender_of("outbox", self.outbox, "", 1, 1.0),
            self.matters,
        )
        seed(self.sessions)
        self.accounts = Accounts(self.sessions, 60, cost=LEGACY_COST)
        add = self.accounts.add
        add("desk1001", PASSWORD, "agent", None, "", OFFICES, "1001", AGENTS)
        add("desk1002", PASSWORD, "agent", None, "", OFFICES, "1002", AGENTS)
        add("city", PASSWORD, "supervisor", None, "", OFFICES)
        departments = frozenset(self.matters.departments)
        add("dept-city", PASSWORD, "department", None, "", OFFICES, None, frozenset(),
            "si-city", departments)  # fmt: skip
        self.presence = Presence(DIRECTORY, hold_for_wrap_up=True)
        self.board = Board(DIRECTORY, self.presence.snapshot)
        self.sent: list[tuple[str, str, str]] = []
        self.desk = Desk(
            self.sessions,
            lambda: DIRECTORY,
            self.presence.snapshot,
            self.presence.owes_wrap_up,
            lambda linkedid: (
                self.board.calls[linkedid].caller_number if linkedid in self.board.calls else None
            ),
            POLICY,
            DeskMatters(self.matters, notices),
        )
        settings = WebSettings()
        self.sup = Supervision(
            settings=settings,
            accounts=self.accounts,
            sessions=self.sessions,
            directory=lambda: DIRECTORY,
            board=self.board,
            hub=Hub(self.board.snapshot, 0.05),
            monitor=MonitorDesk(
                self.sessions, FakeAmi().action, settings.monitor_roles, number="12333"
            ),
            sheet=load_sheet(settings.score_sheet),
            # the departments' reply page reminds the owner on their desk, as attach.py wires it
            extra_routes=DeskWeb(self.desk, self.accounts, self.agent_change).routes()
            + MattersWeb(
                MatterBoardAdapter(self.matters), lambda: DIRECTORY, self.desk.remind
            ).routes(),
        )

    async def agent_change(self, agent_id: str, change: str, reason: str) -> None:
        self.sent.append((agent_id, change, reason))
        event = {"Event": "UserEvent", "UserEvent": "HotlineAgent", "Agent": agent_id}
        apply_event(self.presence, DIRECTORY, event | {"Change": change, "Reason": reason}, NOW)

    def apply(self, changes: list[Change]) -> None:
        """As attach.py does: the board first (it knows the callers), then the desk."""
        self.board.apply(changes)
        self.desk.on_changes(changes)


def answered_by_1001(linkedid: str, caller: str) -> list[Change]:
    leg_ = LegSnapshot(
        f"U{linkedid}", linkedid, "PJSIP/agent1001-0000000b", "agent1001", "1001", NOW
    )
    return [
        ("call.started", CallSnapshot(linkedid, f"PJSIP/c-{linkedid}", caller, "", "12333", NOW)),
        ("leg.ringing", leg_),
        (
            "leg.answered",
            LegSnapshot(leg_.uniqueid, linkedid, leg_.channel, leg_.endpoint, "1001", NOW, NOW),
        ),
    ]


def run(tmp_path: Path, body: Callable[[Desks, str], Awaitable[None]]) -> None:
    async def main() -> None:
        desks = Desks(tmp_path)
        server = TestServer(build_app(desks.sup))
        await server.start_server()
        try:
            await body(desks, str(server.make_url("")).rstrip("/"))
        finally:
            await server.close()

    asyncio.run(main())


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def next_event(stream: aiohttp.ClientResponse, kind: str) -> dict[str, Any]:
    """The next event of `kind` on an SSE stream (others skipped)."""
    current = ""
    async for raw in stream.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            current = line[7:]
        elif line.startswith("data: ") and current == kind:
            data: dict[str, Any] = json.loads(line[6:])
            return data
    raise AssertionError(f"the stream ended before a {kind!r} event")


async def events_until(stream: aiohttp.ClientResponse, kind: str) -> list[tuple[str, Any]]:
    """Every event up to and including the next one of `kind`."""
    seen: list[tuple[str, Any]] = []
    current = ""
    async for raw in stream.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            current = line[7:]
        elif line.startswith("data: "):
            seen.append((current, json.loads(line[6:])))
            if current == kind:
                return seen
    raise AssertionError(f"the stream ended before a {kind!r} event")


@asynccontextmanager
async def desks_of_1001_and_1002(
    base: str,
) -> AsyncIterator[tuple[aiohttp.ClientResponse, aiohttp.ClientResponse, dict[str, Any]]]:
    """Agents 1001 and 1002 logged in, each desk's stream open past its first state: yields
    both streams and 1001's first state."""
    async with session() as a1001, session() as a1002:
        await log_in(a1001, base, "desk1001")
        await log_in(a1002, base, "desk1002")
        async with (
            a1001.get(base + "/api/desk/events") as s1001,
            a1002.get(base + "/api/desk/events") as s1002,
        ):
            first = await next_event(s1001, "state")
            await next_event(s1002, "state")
            yield s1001, s1002, first


async def heard_by_1002_up_to_their_own_change(
    desks: Desks, s1002: aiohttp.ClientResponse
) -> list[tuple[str, Any]]:
    """What 1002's stream carried up to their own next change (a pause): only that state when
    nothing else was theirs."""
    await desks.agent_change("1002", "pause", "lunch")
    desks.desk.on_presence()
    return await asyncio.wait_for(events_until(s1002, "state"), 10)


def test_the_answering_agent_gets_the_callers_card_and_no_one_else_does(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        async with desks_of_1001_and_1002(base) as (s1001, s1002, first):
            assert first["state"] == "available"
            desks.apply(answered_by_1001("L1", C))
            pop = await asyncio.wait_for(next_event(s1001, "pop"), 10)
            # no pop for 1002 (1001's call is not theirs)
            seen = await heard_by_1002_up_to_their_own_change(desks, s1002)
            assert [kind for kind, _ in seen] == ["state"]
            assert (seen[0][1]["agent_id"], seen[0][1]["state"]) == ("1002", "paused")
        assert pop["linkedid"] == "L1"
        assert pop["caller"] == "139****5678"
        assert C not in json.dumps(pop)
        assert [c["linkedid"] for c in pop["recent"]] == ["P2", "P1"]  # newest first
        p2, p1 = pop["recent"]
        name = DIRECTORY.agents["1002"].name
        assert (p1["outcome"], p1["answered_by"], p1["ivr_path"], p1["wrap_up"]) == (
            "answered",
            [f"{name} (1002)"],
            ["main", "policy"],
            "answered",
        )
        assert (p2["outcome"], p2["answered_by"], p2["ivr_path"]) == ("abandoned", [], ["main"])
        assert [t["number"] for t in pop["tickets"]] == ["20261207-0001"]
        assert pop["rating"]["rating"] == "satisfied"
        assert len(pop["callbacks"]) == 1 and pop["callbacks"][0]["status"] == "pending"
        assert pop["codes"] == ["answered", "nuisance"]  # no routing decision: any business
        assert isinstance(pop["sent_at"], float)

    run(tmp_path, body)


def test_a_departments_reply_reminds_the_owner_on_their_open_desk_and_no_one_else(
    tmp_path: Path,
) -> None:
    async def body(desks: Desks, base: str) -> None:
        mine = desks.matters.create(NewMatter(C, "pension", owner="1001"), "agent:1001")
        desks.matters.hand_over(mine.number, "agent:1001", "si-city", "paid late?")
        async with session() as dept, desks_of_1001_and_1002(base) as (s1001, s1002, _):
            csrf = await log_in(dept, base, "dept-city")
            reply = {"number": mine.number, "text": "paid on 3 December"}
            async with dept.post(
                base + "/api/dept/reply", json=reply, headers={"X-CSRF-Token": csrf}
            ) as r:
                assert r.status == 200, await r.text()
            tell = await asyncio.wait_for(next_event(s1001, "tell"), 10)
            # no reminder for 1002 (not their matter)
            seen = await heard_by_1002_up_to_their_own_change(desks, s1002)
        assert tell == {"number": mine.number, "department": "si-city"}
        assert C not in json.dumps(tell)
        assert [kind for kind, _ in seen] == ["state"]

    run(tmp_path, body)


def test_an_alert_for_the_owner_names_the_owner_and_the_alerts_kind() -> None:
    # the board's alerts as controller/matter_board.board_alert lists them
    overdue = {"kind": "matter-overdue", "to": "owner", "number": "M7", "owner": "1001"}
    late = {"kind": "matter-handover", "to": "owner", "number": "M8", "owner": "2001"}
    assert owner_alert(overdue) == ("1001", "M7", "overdue")
    assert owner_alert(late) == ("2001", "M8", "handover")
    assert owner_alert(overdue | {"to": "supervisor"}) is None  # the district supervisor's
    assert owner_alert(overdue | {"owner": ""}) is None  # a pool matter: no one's desk


def test_an_overdue_alert_reaches_the_owners_open_desk_and_no_one_else(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        async with desks_of_1001_and_1002(base) as (s1001, s1002, _):
            desks.desk.alert_owner("1001", "M7", "overdue")
            alert = await asyncio.wait_for(next_event(s1001, "alert"), 10)
            # no alert for 1002 (not their matter)
            seen = await heard_by_1002_up_to_their_own_change(desks, s1002)
        assert alert == {"number": "M7", "kind": "overdue"}
        assert [kind for kind, _ in seen] == ["state"]

    run(tmp_path, body)


def test_an_agent_account_opens_only_its_desk_and_its_own_calls(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        desks.apply(answered_by_1001("L1", C))
        async with session() as http:
            await log_in(http, base, "desk1001")
            async with http.get(base + "/", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/desk"
            for path in ("/api/state", "/api/events", "/api/recent", "/api/kpi", "/static/app.js"):
                async with http.get(base + path) as r:
                    assert r.status == 403, path
            async with http.get(base + "/api/desk/call/L1") as r:
                assert r.status == 200 and (await r.json())["caller"] == "139****5678"
            for other in ("Q1", "P1", "nope"):  # 1002's calls, and no call at all
                async with http.get(base + f"/api/desk/call/{other}") as r:
                    assert r.status == 403, other
        async with session() as http:
            await log_in(http, base, "city")  # a supervisor has no desk
            async with http.get(base + "/api/desk/me") as r:
                assert r.status == 403
            async with http.get(base + "/desk") as r:
                assert r.status == 403

    run(tmp_path, body)


def test_the_wrap_up_code_is_checked_stored_once_and_releases_the_agent(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        desks.apply(answered_by_1001("L1", C))
        desks.presence.answered("1001", NOW)  # as the controller does on leg.answered
        with desks.sessions() as s, s.begin():  # the rows the call writes behind
            s.add(Call(linkedid="L1", caller_number=C, started_at=NOW, ended_at=NOW))
            s.add(leg("L1", "1001", NOW))
        assert desks.presence.snapshot()["1001"].state is State.WRAP_UP
        async with session() as http:
            csrf = await log_in(http, base, "desk1001")
            headers = {"X-CSRF-Token": csrf}
            tries = [
                ({"linkedid": "L1", "code": "matter"}, 409),  # not a code for this business
                ({"linkedid": "Q1", "code": "answered"}, 409),  # not their call
                ({"linkedid": "L1"}, 400),
                ({"linkedid": "L1", "code": "nuisance", "note": "hung up at once"}, 200),
                ({"linkedid": "L1", "code": "answered"}, 409),  # once per call
            ]
            for sent, status in tries:
                async with http.post(base + "/api/desk/wrapup", json=sent, headers=headers) as r:
                    assert r.status == status, (sent, await r.text())
        assert desks.sent == [("1001", "wrapped", "")]
        assert desks.presence.snapshot()["1001"].state is State.AVAILABLE
        with desks.sessions() as s:
            rows = s.scalars(select(WrapUp).where(WrapUp.linkedid == "L1")).all()
            assert [(w.agent_id, w.code, w.note) for w in rows] == [
                ("1001", "nuisance", "hung up at once")
            ]

    run(tmp_path, body)


def test_the_agents_state_buttons_send_the_feature_codes_change(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        async with session() as http:
            csrf = await log_in(http, base, "desk1001")
            headers = {"X-CSRF-Token": csrf}
            for sent, status in (
                ({"change": "logout"}, 200),
                ({"change": "available"}, 200),  # logged out: a log-in
                ({"change": "pause", "reason": "lunch"}, 200),
                ({"change": "available"}, 200),  # paused: a resume
                ({"change": "pause", "reason": "nap"}, 400),
                ({"change": "vanish"}, 400),
            ):
                async with http.post(base + "/api/desk/state", json=sent, headers=headers) as r:
                    assert r.status == status, sent
            async with http.post(base + "/api/desk/state", json={"change": "logout"}) as r:
                assert r.status == 403  # no CSRF token
        assert desks.sent == [
            ("1001", "logout", ""),
            ("1001", "login", ""),
            ("1001", "pause", "lunch"),
            ("1001", "resume", ""),
        ]

    run(tmp_path, body)


def test_presence_holds_an_agent_who_answered_until_the_wrap_up_code() -> None:
    seat, t0 = "agent1001", NOW
    held = Presence(DIRECTORY, timedelta(seconds=10), hold_for_wrap_up=True)
    timed = Presence(DIRECTORY, timedelta(seconds=10))
    for p in (held, timed):
        p.device(seat, "INUSE", t0)
        p.answered("1001", t0)
        p.device(seat, "NOT_INUSE", t0 + timedelta(seconds=60))
        p.expire(t0 + timedelta(hours=2))
    assert held.snapshot()["1001"].state is State.WRAP_UP  # two hours on: still held
    assert timed.snapshot()["1001"].state is State.AVAILABLE  # the timer alone: free
    held.wrapped_up("1001", t0 + timedelta(hours=2))
    assert held.snapshot()["1001"].state is State.AVAILABLE
    # a seat busy without an answered call (a feature code, a supervisor's listening) owes none
    held.device(seat, "INUSE", t0 + timedelta(hours=3))
    held.device(seat, "NOT_INUSE", t0 + timedelta(hours=3, seconds=5))
    held.expire(t0 + timedelta(hours=3, seconds=16))
    assert held.snapshot()["1001"].state is State.AVAILABLE


def test_agent_accounts_name_an_agent_of_the_directory_and_only_they_do() -> None:
    check_role("agent", None, OFFICES, "1001", AGENTS)
    for role, agent, words in (
        ("agent", None, "--agent"),
        ("agent", "9999", "not an agent"),
        ("supervisor", "1001", "role agent only"),
    ):
        try:
            check_role(role, None, OFFICES, agent, AGENTS)
        except AuthError as exc:
            assert words in str(exc)
        else:
            raise AssertionError((role, agent))


def test_wrap_up_codes_come_per_business_with_a_list_for_any_other() -> None:
    path = Path("hotline.toml")
    policy = read_wrap_up(
        Table(
            {"wrap_up_required": True, "wrap_up_codes": {"pension": ["answered", "matter"]}},
            path,
            "[routing]",
        )
    )
    assert policy.required
    assert policy.codes_for("pension") == ("answered", "matter")
    assert policy.codes_for("employment") == WrapUpPolicy().codes_for("*")
    assert policy.refusal("matter", "pension") is None
    assert "expected one of answered, matter" in (policy.refusal("x", "pension") or "")
    assert not read_wrap_up(Table({}, path, "[routing]")).required
    try:
        read_wrap_up(Table({"wrap_up_codes": {"pension": []}}, path, "[routing]"))
    except ConfigError as exc:
        assert "hotline.toml: [routing.wrap_up_codes] pension: expected" in str(exc)
    else:
        raise AssertionError("an empty list of codes was taken")


def test_the_agent_raises_and_works_the_callers_matters_and_no_one_elses(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        desks.apply(answered_by_1001("L1", C))
        other = desks.matters.create(NewMatter(caller_number=D, category="complaint"), "test")
        async with session() as http:
            csrf = await log_in(http, base, "desk1001")
            headers = {"X-CSRF-Token": csrf}

            async def act(body: dict[str, str]) -> tuple[int, dict[str, Any]]:
                async with http.post(base + "/api/desk/matter", json=body, headers=headers) as r:
                    return r.status, await r.json()

            status, made = await act(
                {"action": "create", "linkedid": "L1", "category": "complaint", "text": "no pay"}
            )
            assert status == 200, made
            number = made["number"]
            for sent, expected in (
                ({"action": "note", "number": number, "text": "called the employer"}, 200),
                (
                    {
                        "action": "handover",
                        "number": number,
                        "department": "si-city",
                        "text": "please check the contributions",
                    },
                    200,
                ),
                ({"action": "notice", "number": number, "notice": "pension-transfer"}, 200),
                ({"action": "callback", "number": number, "at": "2020-01-01T10:00+08:00"}, 409),
                ({"action": "callback", "number": number, "at": "tomorrow"}, 400),
                ({"action": "note", "number": other.number, "text": "x"}, 403),  # D's matter
                ({"action": "create", "linkedid": "Q1", "category": "complaint"}, 403),
                ({"action": "fly", "number": number}, 400),
            ):
                status, reply = await act({"linkedid": "L1"} | sent)
                assert status == expected, (sent, reply)
            async with http.get(base + "/api/desk/call/L1") as r:
                pop = await r.json()
            # the department answers: the owner's desk lists the citizen to tell, masked
            desks.matters.reply(number, "si-city", "contributions were paid late; fixed")
            async with http.get(base + "/api/desk/tell") as r:
                tell = await r.json()
            assert [(m["number"], m["caller"], m["status"]) for m in tell] == [
                (number, "139****5678", "answered")
            ]
        (matter,) = pop["matters"]
        assert (matter["number"], matter["owner"], matter["status"], matter["summary"]) == (
            number,
            "1001",  # first inquiry: the agent who took the call
            "handed_over",
            "no pay",
        )
        assert matter["owner_name"] == f"{DIRECTORY.agents['1001'].name} (1001)"
        detail = desks.matters.get(number)
        kinds = [e.kind for e in detail.events]
        assert kinds[0] == "created" and "note" in kinds
        assert [h.department for h in detail.handovers] == ["si-city"]
        assert detail.calls == ["L1"]
        assert [n.notice for n in detail.notices] == ["pension-transfer"]
        assert C in desks.outbox.read_text()  # the notice went to the caller's own number

    run(tmp_path, body)


def test_the_agent_takes_over_restates_and_closes_a_matter_once_the_citizen_was_told(
    tmp_path: Path,
) -> None:
    async def body(desks: Desks, base: str) -> None:
        desks.apply(answered_by_1001("L2", C))
        new = desks.matters.create
        theirs = new(NewMatter(caller_number=C, category="complaint", owner="1002"), "t").number
        own_elsewhere = new(NewMatter(caller_number=D, category="consultation", owner="1001"), "t")
        not_ours = new(NewMatter(caller_number=D, category="consultation", owner="1002"), "t")
        async with session() as http:
            csrf = await log_in(http, base, "desk1001")
            headers = {"X-CSRF-Token": csrf}

            async def act(sent: dict[str, str]) -> tuple[int, dict[str, Any]]:
                async with http.post(base + "/api/desk/matter", json=sent, headers=headers) as r:
                    return r.status, await r.json()

            on_call = {"linkedid": "L2", "number": theirs}
            for sent, expected in (
                (on_call | {"action": "close", "text": "told"}, 403),  # 1002's, not 1001's
                (on_call | {"action": "take"}, 409),  # another's matter: a reason is needed
                (on_call | {"action": "take", "text": "1002 is on leave this week"}, 200),
                (on_call | {"action": "take", "text": "again"}, 409),  # theirs, in work already
                (on_call | {"action": "summary", "text": "wages unpaid since October"}, 200),
                (on_call | {"action": "close"}, 409),  # no word of how the citizen was told
                (
                    on_call
                    | {"action": "handover", "department": "si-city", "text": "paid or not?"},
                    200,
                ),
                (on_call | {"action": "close", "text": "told in the call"}, 409),  # reply first
            ):
                status, reply = await act(sent)
                assert status == expected, (sent, reply)
            desks.matters.reply(theirs, "si-city", "the employer paid on 5 December")
            status, reply = await act(
                on_call | {"action": "close", "text": "called back, the citizen was told"}
            )
            assert status == 200, reply
            # the agent's own matter, of another caller, without a call: closed from the desk
            status, reply = await act(
                {"action": "close", "number": own_elsewhere.number, "text": "told by phone"}
            )
            assert status == 200, reply
            status, _ = await act({"action": "note", "number": not_ours.number, "text": "x"})
            assert status == 403
        detail = desks.matters.get(theirs)
        assert (detail.matter.owner, detail.matter.status, detail.matter.told) == (
            "1001",
            "closed",
            "reason",
        )
        assert detail.matter.summary == "wages unpaid since October"
        assert detail.matter.close_reason == "called back, the citizen was told"
        assert [(e.kind, e.actor) for e in detail.events] == [
            ("created", "t"),
            ("assigned", "agent:1001"),
            ("taken", "agent:1001"),
            ("summary", "agent:1001"),
            ("handed_over", "agent:1001"),
            ("replied", "si-city"),
            ("closed", "agent:1001"),
        ]
        assert detail.events[1].detail == "1002 -> 1001: 1002 is on leave this week"
        assert desks.matters.get(own_elsewhere.number).matter.status == "closed"
        assert desks.matters.get(not_ours.number).events[-1].kind == "created"

    run(tmp_path, body)


def test_the_desk_searches_the_standard_answers_by_keyword_and_business(tmp_path: Path) -> None:
    async def body(desks: Desks, base: str) -> None:
        async with session() as http:
            await log_in(http, base, "desk1001")

            async def search(q: str, business: str = "") -> list[tuple[str, str]]:
                query = {"q": q, "business": business}
                async with http.get(base + "/api/desk/answers", params=query) as r:
                    assert r.status == 200
                    return [(a["id"], a["kind"]) for a in await r.json()]

            # config/notices.toml, read by hand: 转移 is in the two pension texts only; the
            # standard answer comes before the notice
            assert await search("转移") == [
                ("pension-transfer-progress", "answer"),
                ("pension-transfer", "notice"),
            ]
            # English, any case: four texts name Zheliban; two of them are about pensions
            assert len(await search("zheliban")) == 4
            assert await search("Zheliban", "pension") == [
                ("pension-transfer-progress", "answer"),
                ("pension-transfer", "notice"),
            ]
            assert await search("progress 15", "pension") == [
                ("pension-transfer-progress", "answer")
            ]
            assert await search("转移", "medical") == []
            async with http.get(base + "/api/desk/answers", params={"q": "转移"}) as r:
                (first, *_) = await r.json()
            assert first["title"] == {
                "zh-CN": "转移进度查询口径",
                "en": "Transfer progress: standard answer",
            }
        async with session() as http:
            await log_in(http, base, "city")  # a supervisor: not a desk
            async with http.get(base + "/api/desk/answers", params={"q": "转移"}) as r:
                assert r.status == 403

    run(tmp_path, body)
