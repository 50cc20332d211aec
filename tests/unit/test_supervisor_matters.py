"""The matters on the supervisors' web and the departments' page, against a real aiohttp server
on loopback, a real matters service on a SQLite file and a controlled clock: a district
supervisor sees only their district's matters, the matter KPIs of a scripted week (worked out
by hand below), a department account sees only what was handed over to it and its reply
reaches the owner; matter alerts reach the board in their district's scope only."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.matter_board import MatterBoardAdapter, board_alert
from hotline.matters.departments import Department
from hotline.matters.lifecycle import Alert, DuePolicy, DueRule
from hotline.matters.service import MatterService, NewMatter
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call
from hotline.supervisor.auth import LEGACY_COST, Accounts, AuthError
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board
from hotline.supervisor.matters_web import MattersWeb
from hotline.supervisor.monitor import MonitorDesk
from hotline.supervisor.scope import Scope, board_view
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.web import Supervision, build_app
from routing.calendar import Calendar, parse_span
from routing.directory import Agent, Directory, Office, Post, Seat
from routing.presence import Presence
from tests.conftest import REPO, write_config
from tests.unit.test_matter_service import Clock, local

PASSWORD = "correct horse battery"
CALLER = "13900002222"


DIRECTORY = Directory(
    offices={
        "city": Office("city", "市中心", "city"),
        "xihu": Office("xihu", "西湖区", "district"),
        "binjiang": Office("binjiang", "滨江区", "district"),
    },
    seats={s: Seat(s, o) for s, o in [("s1001", "city"), ("s2001", "xihu"), ("s3001", "binjiang")]},
    agents={
        "1001": Agent("1001", "王芳", "s1001", "city"),
        "2001": Agent("2001", "陈静", "s2001", "xihu"),
        "3001": Agent("3001", "李明", "s3001", "binjiang"),
    },
    posts={
        "pension-xihu": Post("pension-xihu", "pension", "xihu", "2001", "1001"),
        "pension-binjiang": Post("pension-binjiang", "pension", "binjiang", "3001", "1001"),
    },
    calendar=Calendar((parse_span("mon-fri 08:30-12:00"), parse_span("mon-fri 13:30-17:00"))),
)
DEPARTMENTS = {
    "si-xihu": Department("si-xihu", "西湖区社保中心", "Xihu SI centre", district="xihu"),
    "si-city": Department("si-city", "市社保中心", "City SI centre"),
}
POLICY = DuePolicy(rules={"consultation": DueRule(), "complaint": DueRule(working_days=5)})


def make(tmp_path: Path) -> tuple[sessionmaker[Session], MatterService, Clock, Accounts]:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    clock = Clock(local("2026-12-07T10:00"))  # a Monday
    service = MatterService(sessions, DIRECTORY, DEPARTMENTS, POLICY, now=clock)
    acc = Accounts(sessions, 60, cost=LEGACY_COST)
    offices = set(DIRECTORY.offices)
    acc.add("city", PASSWORD, "supervisor", None, "", offices)
    acc.add("xihu", PASSWORD, "supervisor", "xihu", "", offices)
    acc.add("dept-xihu", PASSWORD, "department", None, "", offices, None, frozenset(),
            "si-xihu", frozenset(DEPARTMENTS))  # fmt: skip
    return sessions, service, clock, acc


def scenario(
    sessions: sessionmaker[Session], service: MatterService, clock: Clock
) -> dict[str, str]:
    """Monday 2026-12-07 10:00 to Tuesday 09:00, Hangzhou time:
    A  xihu consultation (due Mon 17:00), raised in call A, closed Mon 11:00 while that call
       lasted (it ended 11:30): on time, first contact, 1 h to close;
    B  xihu complaint (due 5 working days later), handed over to si-xihu: open, not overdue;
    C  binjiang consultation (due Mon 17:00): still open on Tuesday: overdue;
    D  xihu consultation (due Mon 17:00) closed Tue 09:00: late, 23 h to close."""
    with write(sessions) as s:
        s.add(Call(linkedid="call-A", started_at=local("2026-12-07T09:58"),
                   ended_at=local("2026-12-07T11:30"), outcome="answered"))  # fmt: skip
    a = service.create(NewMatter(CALLER, "pension", "xihu", linkedid="call-A"), "agent:2001")
    b = service.create(NewMatter(CALLER, "pension", "xihu", "complaint", "complaint"), "ivr")
    c = service.create(NewMatter("13900004444", "pension", "binjiang"), "ivr")
    d = service.create(NewMatter("13900005555", "pension", "xihu"), "ivr")
    service.hand_over(b.number, "agent:2001", "si-xihu", "转移接续办到哪一步了？")
    clock.at = local("2026-12-07T11:00")
    service.close(a.number, "agent:2001", "reason", "answered in the call")
    clock.at = local("2026-12-08T09:00")
    service.close(d.number, "agent:2001", "reason", "phoned back")
    return {"A": a.number, "B": b.number, "C": c.number, "D": d.number}


def run(
    tmp_path: Path, body: Callable[[str, dict[str, str], MatterService], Awaitable[None]]
) -> None:
    async def main() -> None:
        sessions, service, clock, acc = make(tmp_path)
        numbers = scenario(sessions, service, clock)
        board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
        settings = WebSettings()

        async def no_ami(name: str, **headers: object) -> dict[str, str]:
            raise AssertionError("no AMI here")

        sup = Supervision(
            settings=settings,
            accounts=acc,
            sessions=sessions,
            directory=lambda: DIRECTORY,
            board=board,
            hub=Hub(board.snapshot, 0.05),
            monitor=MonitorDesk(sessions, no_ami, settings.monitor_roles, number="12333"),
            sheet=load_sheet(settings.score_sheet),
            extra_routes=MattersWeb(MatterBoardAdapter(service), lambda: DIRECTORY).routes(),
        )
        server = TestServer(build_app(sup))
        await server.start_server()
        try:
            await body(str(server.make_url("")).rstrip("/"), numbers, service)
        finally:
            await server.close()

    asyncio.run(main())


async def log_in(http: aiohttp.ClientSession, base: str, user: str) -> str:
    async with http.get(f"{base}/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"csrf": token.group(1), "username": user, "password": PASSWORD}
    async with http.post(f"{base}/login", data=form) as page:
        found = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert found is not None, "the log-in did not land on a page"
    return found.group(1)


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def test_a_district_supervisor_sees_only_their_districts_matters_and_the_city_sees_all(
    tmp_path: Path,
) -> None:
    async def body(base: str, n: dict[str, str], _service: MatterService) -> None:
        async with session() as http:
            await log_in(http, base, "xihu")
            # asking for another district changes nothing: the account's own is used
            async with http.get(base + "/api/matters?district=binjiang") as r:
                data = await r.json()
            assert data["district"] == "xihu"
            assert [m["number"] for m in data["rows"]] == [n["D"], n["B"], n["A"]]
            assert data["counts"] == {
                "status": {"handed_over": 1},
                "district": {"xihu": 1},
                "overdue": {},
                "department": {"si-xihu": 1},
            }
            async with http.get(base + "/api/matters?department=si-xihu") as r:
                assert [m["number"] for m in (await r.json())["rows"]] == [n["B"]]
            async with http.get(base + f"/api/matters/{n['C']}") as r:
                assert r.status == 404  # binjiang's: as if it did not exist
            async with http.get(base + f"/api/matters/{n['B']}") as r:
                detail = await r.json()
            assert detail["caller"] == "139****2222"
            assert CALLER not in str(detail)
            assert [e["kind"] for e in detail["history"]] == ["created", "handed_over"]
            assert detail["handovers"][0]["department"] == "si-xihu"
        async with session() as http:
            await log_in(http, base, "city")
            async with http.get(base + "/api/matters?overdue=1") as r:
                assert [m["number"] for m in (await r.json())["rows"]] == [n["C"]]
            async with http.get(base + "/api/matters?district=binjiang") as r:
                assert [m["number"] for m in (await r.json())["rows"]] == [n["C"]]
            async with http.get(base + "/api/matters?status=closed") as r:
                assert [m["number"] for m in (await r.json())["rows"]] == [n["D"], n["A"]]
            async with http.get(base + "/api/matters?status=nonsense") as r:
                assert r.status == 400

    run(tmp_path, body)


def test_the_matter_kpis_of_the_scripted_days_in_each_scope(tmp_path: Path) -> None:
    async def body(base: str, n: dict[str, str], _service: MatterService) -> None:
        period = "from=2026-12-07&to=2026-12-08"
        async with session() as http:
            await log_in(http, base, "city")
            async with http.get(f"{base}/api/matters/kpi?{period}") as r:
                city = await r.json()
        # opened A B C D; closed A (on time, first contact, 1 h) and D (late, 23 h);
        # overdue: C (open, due Mon 17:00); B is due next week
        assert city["total"] == {
            "opened": 4,
            "closed": 2,
            "closed_on_time": 1,
            "on_time_rate": 50.0,
            "first_contact": 1,
            "first_contact_rate": 50.0,
            "average_close_hours": 12.0,
            "overdue": 1,
        }
        assert city["districts"]["binjiang"] == {
            "opened": 1,
            "closed": 0,
            "closed_on_time": 0,
            "on_time_rate": None,
            "first_contact": 0,
            "first_contact_rate": None,
            "average_close_hours": None,
            "overdue": 1,
        }
        async with session() as http:
            await log_in(http, base, "xihu")
            async with http.get(f"{base}/api/matters/kpi?{period}&district=binjiang") as r:
                xihu = await r.json()
        assert xihu["district"] == "xihu"
        assert list(xihu["districts"]) == ["xihu"]
        assert (xihu["total"]["opened"], xihu["total"]["closed"], xihu["total"]["overdue"]) == (
            3,
            2,
            0,
        )
        assert xihu["businesses"]["pension"]["average_close_hours"] == 12.0

    run(tmp_path, body)


def test_a_department_account_sees_only_its_hand_overs_and_its_reply_reaches_the_owner(
    tmp_path: Path,
) -> None:
    async def body(base: str, n: dict[str, str], service: MatterService) -> None:
        async with session() as http:
            csrf = await log_in(http, base, "dept-xihu")  # "/" sent it to /dept
            for path in ("/api/matters", "/api/state", "/api/kpi", "/desk", "/static/app.js"):
                async with http.get(base + path, allow_redirects=False) as r:
                    assert r.status == 403, path
            async with http.get(base + "/api/dept/matters?waiting=1") as r:
                assert [m["number"] for m in (await r.json())["rows"]] == [n["B"]]
            async with http.get(base + f"/api/dept/matters/{n['A']}") as r:
                assert r.status == 404
            async with http.get(base + f"/api/dept/matters/{n['B']}") as r:
                shown = await r.json()
            assert "history" not in shown and shown["caller"] == "139****2222"
            reply = {"number": n["B"], "text": "已于12月8日办结转移"}
            async with http.post(base + "/api/dept/reply", json=reply) as r:
                assert r.status == 403  # no CSRF token
            headers = {"X-CSRF-Token": csrf}
            refused = {"number": n["A"], "text": "?"}
            async with http.post(base + "/api/dept/reply", json=refused, headers=headers) as r:
                assert r.status == 409
            async with http.post(base + "/api/dept/reply", json=reply, headers=headers) as r:
                assert r.status == 200, await r.text()
        # the owner's reminder: the matter is on their list of citizens to tell, in the history
        assert [m.number for m in service.to_tell("2001")] == [n["B"]]
        events = service.get(n["B"]).events
        assert (events[-1].kind, events[-1].actor) == ("replied", "dept-xihu")

    run(tmp_path, body)


def test_department_accounts_name_a_known_department_and_only_they_do(tmp_path: Path) -> None:
    _sessions, _service, _clock, acc = make(tmp_path)
    offices, known = set(DIRECTORY.offices), frozenset(DEPARTMENTS)
    with pytest.raises(AuthError, match="--department ID"):
        acc.add("d2", PASSWORD, "department", None, "", offices, None, frozenset(), None, known)
    with pytest.raises(AuthError, match="not in the departments file"):
        acc.add("d2", PASSWORD, "department", None, "", offices, None, frozenset(), "nope", known)
    with pytest.raises(AuthError, match="for role department only"):
        acc.add(
            "d2", PASSWORD, "supervisor", None, "", offices, None, frozenset(), "si-xihu", known
        )
    user = acc.add(
        "d2", PASSWORD, "department", None, "", offices, None, frozenset(), "si-city", known
    )
    assert (user.role, user.department) == ("department", "si-city")
    assert acc.user("d2") == user


def test_matter_alerts_reach_the_board_in_their_districts_scope_only() -> None:
    board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    at = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    board.matter_alert(
        {"kind": "matter-overdue", "to": "owner", "number": "1", "district": "binjiang"}, at
    )
    board.matter_alert(
        {"kind": "matter-handover", "to": "supervisor", "number": "2", "district": "xihu"}, at
    )
    board.matter_alert(
        {"kind": "matter-overdue", "to": "owner", "number": "1", "district": "binjiang"}, at
    )
    snapshot = board.snapshot(at)
    kinds = [(a["kind"], a["number"]) for a in alerts_of(snapshot)]
    assert kinds == [("matter-overdue", "1"), ("matter-handover", "2")]  # once each, newest first
    xihu = alerts_of(board_view(snapshot, Scope("xihu")))
    assert [a["number"] for a in xihu] == ["2"]


def test_every_controllers_board_shows_the_alerts_the_leaders_clock_raised(
    tmp_path: Path,
) -> None:
    """Two controllers: the leader's clock raises the alerts and pushes them to its own board;
    the other's board reads them back from their stamps in the store. The scenario's C
    (binjiang, due Mon 17:00, still open) is past due at Tue 09:00: its owner is alerted; its
    supervisor once 8 working hours have passed since (Tue 08:30-12:00 and 13:30-17:00 make 7,
    Wed 08:30-09:30 the 8th): Wed 09:30."""
    sessions, service, clock, _acc = make(tmp_path)
    n = scenario(sessions, service, clock)  # the clock is at Tue 09:00
    leader = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    other = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    for alert, matter in service.raise_alerts():
        leader.matter_alert(board_alert(alert, matter), clock.at)
    clock.at = local("2026-12-09T09:30")
    for alert, matter in service.raise_alerts():
        leader.matter_alert(board_alert(alert, matter), clock.at)

    raised = service.alerts_since(local("2026-12-08T00:00"))
    assert [(a.kind, a.to, a.number, at) for a, _m, at in raised] == [
        ("overdue", "owner", n["C"], local("2026-12-08T09:00")),
        ("overdue", "supervisor", n["C"], local("2026-12-09T09:30")),
    ]
    assert [a.to for a, _m, _at in service.alerts_since(local("2026-12-09T00:00"))] == [
        "supervisor"
    ]
    stored = [(board_alert(a, m), at) for a, m, at in raised]
    assert [other.stored_matter_alert(row, at) for row, at in stored] == [True, True]
    assert [other.stored_matter_alert(row, at) for row, at in stored] == [False, False]
    assert [leader.stored_matter_alert(row, at) for row, at in stored] == [False, False]
    snapshot = other.snapshot(clock.at)
    # on Wed 09:30 the owner's alert, 24.5 h old, has left the board (24 h are shown)
    assert [(a["to"], a["number"]) for a in alerts_of(snapshot)] == [("supervisor", n["C"])]
    assert alerts_of(snapshot) == alerts_of(leader.snapshot(clock.at))
    assert alerts_of(board_view(snapshot, Scope("xihu"))) == []  # C is Binjiang's
    assert len(alerts_of(board_view(snapshot, Scope("binjiang")))) == 1
    # a controller started after the alert was raised shows it too
    restarted = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    for row, at in stored:
        restarted.stored_matter_alert(row, at)
    assert alerts_of(restarted.snapshot(clock.at)) == alerts_of(snapshot)


def alerts_of(data: dict[str, object]) -> list[dict[str, object]]:
    alerts = data["alerts"]
    assert isinstance(alerts, list)
    return alerts


def test_a_matter_alert_as_the_board_shows_it_names_no_caller() -> None:
    sessions = session_factory(open_engine("sqlite://"))
    service = MatterService(
        sessions, DIRECTORY, DEPARTMENTS, POLICY, now=Clock(local("2026-12-07T10:00"))
    )
    matter = service.create(NewMatter(CALLER, "pension", "xihu"), "ivr")
    row = board_alert(Alert(matter.number, "supervisor", "handover"), matter)
    assert row == {
        "kind": "matter-handover",
        "to": "supervisor",
        "number": matter.number,
        "district": "xihu",
        "owner": "2001",
    }


def test_users_add_a_department_account_from_the_shell_naming_the_departments_file(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)

    def hotline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hotline.cli.main", "-c", str(config), *args],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )

    added = hotline("users", "add", "si", "--role", "department", "--department", "si-xihu",
                    "--password-stdin")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added si (department, whole city, department si-xihu)" in added.stdout
    assert hotline("users", "list").stdout.split() == ["si", "department", "city", "-",
                                                       "department", "si-xihu"]  # fmt: skip
    refused = hotline("users", "add", "x2", "--role", "department", "--department", "mars",
                      "--password-stdin")  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "department 'mars': not in the departments file (known: " in refused.stderr
