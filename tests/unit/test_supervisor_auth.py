"""Accounts, sessions and the web app's guards (log-in, CSRF, headers, monitoring rules),
against a real aiohttp server on loopback and a SQLite file; Asterisk is a recording fake."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.pbx.calltracker import CallSnapshot, LegSnapshot
from hotline.settings import load_directory
from hotline.store.db import open_engine, session_factory
from hotline.store.models import (
    Call,
    Leg,
    MonitorSession,
    MutedSpan,
    Recording,
    RecordingAccess,
    RouteDecision,
    Score,
)
from hotline.supervisor.auth import (
    LEGACY_COST,
    Accounts,
    AuthError,
    User,
    hash_password,
    verify_password,
)
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board, mask_number
from hotline.supervisor.monitor import (
    MonitorDesk,
    MonitorError,
    audit_written,
    chanspy_action,
    may_monitor,
)
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.web import Supervision, build_app
from routing.presence import Presence
from tests.conftest import REPO

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
OFFICES = set(DIRECTORY.offices)
PASSWORD = "correct horse battery"


def test_passwords_are_salted_scrypt_and_verified() -> None:
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one != two and one.startswith("scrypt$")
    assert verify_password(PASSWORD, one) and not verify_password("wrong", one)
    assert not verify_password(PASSWORD, "garbage")


def accounts(tmp_path: Path, minutes: int = 60) -> Accounts:
    return Accounts(session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}")), minutes)


def test_users_are_checked_and_sessions_expire(tmp_path: Path) -> None:
    acc = accounts(tmp_path)
    with pytest.raises(AuthError, match="at least 10"):
        acc.add("ann", "short", "supervisor", None, "", OFFICES)
    with pytest.raises(AuthError, match="district"):
        acc.add("ann", PASSWORD, "supervisor", "atlantis", "", OFFICES)
    with pytest.raises(AuthError, match="phone"):
        acc.add("ann", PASSWORD, "supervisor", None, "PJSIP/x,w(1)", OFFICES)
    user = acc.add("ann", PASSWORD, "supervisor", "xihu", "PJSIP/sup9001", OFFICES)
    with pytest.raises(AuthError, match="exists"):
        acc.add("ann", PASSWORD, "qa", None, "", OFFICES)
    assert acc.authenticate("ann", "wrong password!") is None
    assert acc.authenticate("bob", PASSWORD) is None
    assert acc.authenticate("ann", PASSWORD) == user
    now = datetime.now(UTC)
    token, csrf = acc.open_session(user, now)
    assert acc.resume(token, now + timedelta(minutes=30)) == (user, csrf)
    # use slid the expiry: 80 minutes after the start is 50 after the last use
    assert acc.resume(token, now + timedelta(minutes=80)) is not None
    assert acc.resume(token, now + timedelta(minutes=200)) is None
    assert acc.resume("forged", now) is None
    token, _ = acc.open_session(user)
    acc.set_password("ann", "another good password")
    assert acc.resume(token) is None  # a new password closes the sessions


def test_monitoring_rules_and_the_chanspy_action_take_checked_values_only() -> None:
    xihu = User("x", "supervisor", "xihu", "PJSIP/sup9001")
    roles = ("supervisor", "admin")
    assert may_monitor(xihu, "xihu", roles) is None
    assert "only monitor agents of xihu" in (may_monitor(xihu, "city", roles) or "")
    assert "role qa" in (may_monitor(User("q", "qa", None, "PJSIP/q"), "city", roles) or "")
    assert "no phone" in (may_monitor(User("p", "admin", None, ""), "city", roles) or "")
    action = chanspy_action(
        "PJSIP/sup9001", "PJSIP/agent2001-0000000a", "whisper", "spy-1", "12399"
    )
    assert action["Application"] == "ChanSpy"
    assert action["Data"] == "PJSIP/agent2001-0000000a,qdEw"
    # the supervisor's phone shows the hotline's own number ([dialplan] number), not a constant
    assert action["CallerID"] == '"12399 whisper" <12399>'
    for spied in ("PJSIP/agent2001-0000000a,B", "Local/x@y", "PJSIP/a-0000000a\r\nAction: x"):
        with pytest.raises(MonitorError):
            chanspy_action("PJSIP/sup9001", spied, "listen", "spy-1", "12333")
    with pytest.raises(MonitorError):
        chanspy_action("PJSIP/sup9001", "PJSIP/agent2001-0000000a", "record", "spy-1", "12333")


def test_caller_numbers_are_masked() -> None:
    assert mask_number("13912345678") == "139****5678"
    assert mask_number("110") == "***"


# --- the web app -------------------------------------------------------------------------------

T0 = datetime.now(UTC)


class FakeAmi:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def action(self, name: str, **headers: Any) -> dict[str, str]:
        self.sent.append((name, headers))
        return {"Response": "Success"}


def supervision(tmp_path: Path) -> tuple[Supervision, FakeAmi]:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    acc = Accounts(sessions, 60, cost=LEGACY_COST)  # (the cost is tested on its own: speed)
    acc.add("city", PASSWORD, "supervisor", None, "PJSIP/sup9001", OFFICES)
    acc.add("xihu", PASSWORD, "supervisor", "xihu", "PJSIP/sup9002", OFFICES)
    presence = Presence(DIRECTORY)
    board = Board(DIRECTORY, presence.snapshot)
    board.apply(
        [
            ("call.started", CallSnapshot("L1", "PJSIP/callers-1", "13912345678", "", "12333", T0)),
            (
                "leg.ringing",
                LegSnapshot("U1", "L1", "PJSIP/agent1001-0000000a", "agent1001", "1001", T0),
            ),
            (
                "leg.answered",
                LegSnapshot("U1", "L1", "PJSIP/agent1001-0000000a", "agent1001", "1001", T0, T0),
            ),
        ]
    )
    ami = FakeAmi()
    settings = WebSettings()
    sup = Supervision(
        settings=settings,
        accounts=acc,
        sessions=sessions,
        directory=lambda: DIRECTORY,
        board=board,
        hub=Hub(board.snapshot, 0.05),
        monitor=MonitorDesk(sessions, ami.action, settings.monitor_roles, number="12333"),
        sheet=load_sheet(settings.score_sheet),
        recordings_root=tmp_path / "recordings",
    )
    return sup, ami


Client = Callable[[str, str], Awaitable[tuple[int, dict[str, str], str]]]


def run(tmp_path: Path, body: Callable[[Supervision, str, FakeAmi], Awaitable[None]]) -> None:
    async def main() -> None:
        sup, ami = supervision(tmp_path)
        server = TestServer(build_app(sup))
        await server.start_server()
        try:
            await body(sup, str(server.make_url("")).rstrip("/"), ami)
        finally:
            await server.close()

    asyncio.run(main())


async def log_in(
    http: aiohttp.ClientSession, base: str, user: str, password: str = PASSWORD
) -> str:
    """Logs in like the browser; returns the page's CSRF token."""
    async with http.get(f"{base}/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"csrf": token.group(1), "username": user, "password": password}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as reply:
        assert reply.status == 303, await reply.text()
    async with http.get(f"{base}/") as page:
        match = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert match is not None
    return match.group(1)


def test_without_a_session_only_the_login_page_is_reachable(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for path in ("/api/state", "/api/events", "/api/kpi", "/api/kpi.csv", "/api/sheet"):
                async with http.get(base + path) as r:
                    assert r.status == 401, path
            async with http.get(base + "/", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/login"
            async with http.get(base + "/static/app.js", allow_redirects=False) as r:
                assert r.status == 401
            async with http.post(base + "/api/monitor", json={}) as r:
                assert r.status == 401
            async with http.get(base + "/login") as r:
                assert r.status == 200
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["X-Frame-Options"] == "DENY"
                cookie = r.headers["Set-Cookie"]
                assert "HttpOnly" in cookie and "SameSite=Strict" in cookie

    run(tmp_path, body)


def test_log_in_needs_the_forms_token_and_the_right_password(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            form = {"csrf": "made-up", "username": "city", "password": PASSWORD}
            async with http.post(base + "/login", data=form, allow_redirects=False) as r:
                assert r.status == 401  # no login cookie matches: the form is refused
            async with http.get(base + "/login") as page:
                found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            assert found is not None
            form = {"csrf": found.group(1), "username": "city", "password": "not it at all"}
            async with http.post(base + "/login", data=form, allow_redirects=False) as r:
                assert r.status == 401
            csrf = await log_in(http, base, "city")
            async with http.get(base + "/api/state") as r:
                state = await r.json()
            assert state["calls"][0]["caller"] == "139****5678"
            async with http.get(base + "/api/sheet") as r:
                assert r.status == 200
            assert csrf

    run(tmp_path, body)


def test_every_post_needs_the_sessions_csrf_token_and_a_same_site_origin(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, ami: FakeAmi) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "city")
            request = {"linkedid": "L1", "mode": "listen"}
            async with http.post(base + "/api/monitor", json=request) as r:
                assert r.status == 403
            async with http.post(
                base + "/api/monitor", json=request, headers={"X-CSRF-Token": "wrong"}
            ) as r:
                assert r.status == 403
            headers = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
            async with http.post(base + "/api/monitor", json=request, headers=headers) as r:
                assert r.status == 403
            assert ami.sent == []
            async with http.post(
                base + "/api/monitor", json=request, headers={"X-CSRF-Token": csrf}
            ) as r:
                assert r.status == 200, await r.text()
            ((name, sent),) = ami.sent
            assert name == "Originate" and sent["Channel"] == "PJSIP/sup9001"
            assert sent["Data"] == "PJSIP/agent1001-0000000a,qdE"

    run(tmp_path, body)


def test_a_district_supervisor_cannot_monitor_another_district_and_it_is_audited(
    tmp_path: Path,
) -> None:
    async def body(sup: Supervision, base: str, ami: FakeAmi) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "xihu")
            async with http.post(
                base + "/api/monitor",
                json={"linkedid": "L1", "mode": "barge"},
                headers={"X-CSRF-Token": csrf},
            ) as r:
                assert r.status == 403
                assert "only monitor agents of xihu" in (await r.json())["error"]
        assert ami.sent == []
        with sup.sessions() as s:
            (row,) = s.scalars(select(MonitorSession)).all()
        assert (row.username, row.mode, row.linkedid) == ("xihu", "barge", "L1")
        assert row.result.startswith("refused")

    run(tmp_path, body)


def store_answered_call(sup: Supervision, linkedid: str, agent_id: str, caller: str) -> None:
    """A finished call in the store that `agent_id` answered (what a score must name)."""
    with sup.sessions() as s, s.begin():
        s.add(Call(linkedid=linkedid, caller_number=caller, started_at=T0, ended_at=T0))
        s.add(
            Leg(
                uniqueid=f"{linkedid}-leg",
                linkedid=linkedid,
                channel=f"PJSIP/agent{agent_id}-0000000a",
                endpoint=f"agent{agent_id}",
                agent_id=agent_id,
                ring_at=T0,
                answered_at=T0,
            )
        )


def test_a_vetoed_score_saves_as_zero_and_amendments_are_new_rows(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        bands = {item.id: "excellent" for item in sup.sheet.items}
        store_answered_call(sup, "L1", "1001", "13912345678")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "city")
            headers = {"X-CSRF-Token": csrf}
            first = {"linkedid": "L1", "agent_id": "1001", "bands": bands, "veto_reason": "推诿"}
            async with http.post(base + "/api/scores", json=first, headers=headers) as r:
                saved = await r.json()
            assert saved["total"] == 0 and saved["vetoed"]
            fix = {**first, "veto_reason": "", "amends": saved["id"]}
            async with http.post(base + "/api/scores", json=fix, headers=headers) as r:
                amended = await r.json()
            assert amended["total"] == 100
            async with http.post(base + "/api/scores", json=fix, headers=headers) as r:
                assert r.status == 409  # the first score was amended already
            for wrong in (2**63, True, 0, "1"):  # no score has it: a 400, not a server error
                bad = {**fix, "amends": wrong}
                async with http.post(base + "/api/scores", json=bad, headers=headers) as r:
                    assert r.status == 400, (wrong, await r.text())
            async with http.get(base + "/api/scores?agent=1001") as r:
                history = await r.json()
        assert [(h["id"], h["superseded"]) for h in history] == [
            (amended["id"], False),
            (saved["id"], True),
        ]
        with sup.sessions() as s:
            rows = s.scalars(select(Score).order_by(Score.id)).all()
        assert [(r.total, r.vetoed, r.amends) for r in rows] == [
            (0.0, True, None),
            (100.0, False, saved["id"]),
        ]

    run(tmp_path, body)


def test_users_command_adds_lists_and_refuses_in_one_line(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import hotline_in_process, write_config

    config = write_config(tmp_path)

    def hotline(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        # in this process: the commands' work and words are the point, not the process
        return hotline_in_process(config, *args, stdin=password + "\n")

    added = hotline(
        "users", "add", "wang", "--role", "qa", "--district", "xihu", "--password-stdin"
    )
    assert added.returncode == 0 and "added wang (qa, district xihu" in added.stdout
    listed = hotline("users", "list")
    assert listed.stdout.split() == ["wang", "qa", "xihu", "-"]
    for args, message in [
        (("users", "add", "wang", "--role", "qa"), "exists already"),
        (("users", "add", "li", "--role", "qa", "--district", "mars"), "district 'mars'"),
        (("users", "passwd", "nobody"), "no user 'nobody'"),
    ]:
        refused = hotline(*args, "--password-stdin")
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert refused.stderr.startswith("hotline: error: ") and message in refused.stderr
    short = hotline("users", "passwd", "wang", "--password-stdin", password="short")
    assert short.returncode == 2 and "at least 10" in short.stderr
    assert hotline("users", "--help").returncode == 0
    assert hotline("top", "--help").returncode == 0


def test_a_finished_calls_recording_plays_through_the_audited_access(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        folder = tmp_path / "recordings"
        folder.mkdir()
        (folder / "L9.wav").write_bytes(b"RIFF" + b"\0" * 60)
        with sup.sessions() as s, s.begin():
            s.add(
                Recording(
                    linkedid="L9",
                    path="L9.wav",
                    seconds=61.0,
                    caller_talk=20.0,
                    agent_talk=35.0,
                    talk_ratio=0.57,
                    started_at=T0,
                    catalogued_at=T0,
                )
            )
            # the PIN was keyed 12.3 s to 19.8 s into the call: the recording was muted
            s.add(
                MutedSpan(
                    linkedid="L9",
                    started_at=T0 + timedelta(seconds=12.3),
                    ended_at=T0 + timedelta(seconds=19.8),
                    kind="pin",
                )
            )
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await log_in(http, base, "city")
            async with http.get(base + "/api/recording/L9") as r:
                assert r.status == 400  # the policy asks why: no purpose, no recording
                assert "purpose" in (await r.json())["error"]
            why = "?purpose=monthly%20QA%20sample"
            async with http.get(base + "/api/recording/L9" + why) as r:
                measures = await r.json()
            assert measures["seconds"] == 61.0 and measures["talk_ratio"] == 0.57
            assert measures["muted"] == [[12.3, 19.8, "pin"]]
            async with http.get(base + "/api/recording/L9/audio" + why) as r:
                assert r.status == 200 and (await r.read()).startswith(b"RIFF")
            async with http.get(base + "/api/recording/nope/audio" + why) as r:
                assert r.status == 404
        with sup.sessions() as s:
            rows = s.scalars(select(RecordingAccess).order_by(RecordingAccess.id)).all()
        assert [(a.user, a.action, a.granted, a.purpose) for a in rows] == [
            ("city", "show", False, ""),
            ("city", "show", True, "monthly QA sample"),
            ("city", "listen", True, "monthly QA sample"),
        ]

    run(tmp_path, body)


def test_hotline_top_logs_in_and_prints_the_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotline.cli.top import TopError, run_top
    from hotline.settings import load_settings
    from tests.conftest import write_config

    settings = load_settings(write_config(tmp_path / "config"))

    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        assert await run_top(settings, "city", PASSWORD, once=True, url=base) == 0
        with pytest.raises(TopError, match="log-in refused"):
            await run_top(settings, "city", "not the password", once=True, url=base)

    run(tmp_path, body)
    out = capsys.readouterr().out
    assert "139****5678" in out and "talking" in out and "1001" in out
    assert "王芳" in out  # agents with their names and states


def test_kpis_come_as_json_with_the_alarm_and_as_csv(tmp_path: Path) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        with sup.sessions() as s, s.begin():
            s.add(
                Call(
                    linkedid="K1",
                    caller_number="13900000009",
                    started_at=T0 - timedelta(minutes=5),
                    ended_at=T0 - timedelta(minutes=4),
                    outcome="abandoned",
                )
            )
            s.add(RouteDecision(linkedid="K1", decided_at=T0, post="pension-city", chain="x"))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await log_in(http, base, "city")
            async with http.get(base + "/api/kpi?hours=24") as r:
                kpi = await r.json()
            assert kpi["total"]["asked"] == 1 and kpi["total"]["connection_rate"] == 0.0
            assert kpi["alarm"] is True and kpi["target"] == 95.0
            async with http.get(base + "/api/kpi.csv") as r:
                assert r.content_type == "text/csv"
                lines = (await r.text()).splitlines()
        assert lines[0].startswith(
            "scope,id,calls,entered_ivr,self_service,ivr_abandoned,fallback,asked,answered,"
            "answered_15s,abandoned"
        )
        # one call, stored as abandoned (no IVR summary on this hand-made row)
        assert lines[1].startswith("total,city,1,0,0,0,0,1,0,0,1,")
        assert lines[2].startswith("district,city,1,0,0,0,0,1,0")

    run(tmp_path, body)


def test_a_monitoring_session_follows_asterisks_events_into_the_audit(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    ami = FakeAmi()
    changes: list[int] = []
    desk = MonitorDesk(
        sessions, ami.action, ("supervisor",), lambda: changes.append(1), number="12333"
    )
    boss = User("boss", "supervisor", None, "PJSIP/sup9001")
    spied = "PJSIP/agent1001-0000000a"

    async def main() -> None:
        live = await desk.start(boss, "barge", "L1", "1001", "city", spied)
        ((_, sent),) = ami.sent
        assert sent["Data"] == f"{spied},qdEB"
        desk.on_event(
            {
                "Event": "OriginateResponse",
                "ActionID": live.action_id,
                "Response": "Success",
                "Channel": "PJSIP/sup9001-00000001",
            }
        )
        assert sent["ChannelId"] == live.action_id  # the supervisor's channel's uniqueid
        desk.on_event(
            {
                "Event": "ChanSpyStart",
                "SpyerChannel": "PJSIP/sup9001-00000001",
                "SpyerUniqueid": live.action_id,
                "SpyeeChannel": spied,
            }
        )
        assert desk.sessions_of("boss") == [
            {"id": live.id, "mode": "barge", "linkedid": "L1", "active": True, "ringing": False}
        ]
        with pytest.raises(MonitorError, match="another supervisor"):
            await desk.end(User("eve", "supervisor", None, "PJSIP/x"), live.id)
        await desk.end(boss, live.id)
        assert ami.sent[-1] == ("Hangup", {"Channel": "PJSIP/sup9001-00000001"})
        desk.on_event(
            {
                "Event": "ChanSpyStop",
                "SpyerChannel": "PJSIP/sup9001-00000001",
                "SpyerUniqueid": live.action_id,
                "SpyeeChannel": spied,
            }
        )
        assert desk.sessions_of("boss") == []
        # a phone that does not answer: the session is dropped, the audit says why
        other = await desk.start(boss, "listen", "L2", "1001", "city", spied)
        desk.on_event(
            {
                "Event": "OriginateResponse",
                "ActionID": other.action_id,
                "Response": "Failure",
                "Reason": "3",
            }
        )
        await audit_written()  # the audit updates run off the loop, in order

    asyncio.run(main())
    with sessions() as s:
        rows = s.scalars(select(MonitorSession).order_by(MonitorSession.id)).all()
    assert [(r.mode, r.result) for r in rows] == [("barge", "ended"), ("listen", "no answer: 3")]
    assert rows[0].started_at is not None and rows[0].ended_at is not None
    assert changes  # the board was told


def test_two_supervisors_on_one_call_each_end_their_own_session(tmp_path: Path) -> None:
    """An AMI replay: A and B listen to the same agent; Asterisk reports B's ChanSpyStart
    first (B's phone answered sooner). Each session follows its own channel (Originate
    ChannelId = SpyerUniqueid), so A's End hangs up A's phone, never B's."""
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    ami = FakeAmi()
    desk = MonitorDesk(sessions, ami.action, ("supervisor",), number="12333")
    ann = User("ann", "supervisor", None, "PJSIP/sup9001")
    bob = User("bob", "supervisor", None, "PJSIP/sup9002")
    spied = "PJSIP/agent1001-0000000a"
    channel = {"ann": "PJSIP/sup9001-00000011", "bob": "PJSIP/sup9002-00000012"}

    def spy(event: str, who: str, live_id: str) -> dict[str, str]:
        return {
            "Event": event,
            "SpyerChannel": channel[who],
            "SpyerUniqueid": live_id,
            "SpyeeChannel": spied,
        }

    async def main() -> None:
        a = await desk.start(ann, "listen", "L1", "1001", "city", spied)
        b = await desk.start(bob, "listen", "L1", "1001", "city", spied)
        assert a.action_id != b.action_id
        # B answers first; neither OriginateResponse has arrived yet
        desk.on_event(spy("ChanSpyStart", "bob", b.action_id))
        desk.on_event(spy("ChanSpyStart", "ann", a.action_id))
        assert (a.spyer, b.spyer) == (channel["ann"], channel["bob"])
        assert desk.sessions_of("ann")[0]["active"] and desk.sessions_of("bob")[0]["active"]
        await desk.end(ann, a.id)
        assert ami.sent[-1] == ("Hangup", {"Channel": channel["ann"]})
        # A's phone hangs up: only A's session ends
        desk.on_event({"Event": "Hangup", "Channel": channel["ann"], "Uniqueid": a.action_id})
        assert desk.sessions_of("ann") == [] and len(desk.sessions_of("bob")) == 1
        # an event about a channel of no session (or without its uniqueid) changes nothing
        desk.on_event({"Event": "ChanSpyStop", "SpyerChannel": channel["bob"]})
        desk.on_event({"Event": "Hangup", "Channel": "PJSIP/x-1", "Uniqueid": "1795.9"})
        assert len(desk.sessions_of("bob")) == 1
        await desk.end(bob, b.id)
        assert ami.sent[-1] == ("Hangup", {"Channel": channel["bob"]})
        desk.on_event(spy("ChanSpyStop", "bob", b.action_id))
        assert desk.sessions_of("bob") == []
        # a phone still ringing is ended by the uniqueid hotline gave its channel
        c = await desk.start(ann, "listen", "L1", "1001", "city", spied)
        await desk.end(ann, c.id)
        assert ami.sent[-1] == ("Hangup", {"Channel": c.action_id})
        await audit_written()

    asyncio.run(main())
    with sessions() as s:
        rows = s.scalars(select(MonitorSession).order_by(MonitorSession.id)).all()
    assert [(r.username, r.result) for r in rows] == [
        ("ann", "ended"),
        ("bob", "ended"),
        ("ann", "requested"),  # hung up while ringing: Asterisk reports no answer later
    ]
