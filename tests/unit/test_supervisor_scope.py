"""District scope on every endpoint of the supervisors' web and on its live stream: a table of
endpoint x account, each expected answer written by hand from the scenario below (issue 16,
item 3), against a real aiohttp server on loopback and a SQLite file.

The scenario (agents from config/seats.toml: 1001 and 1002 in the city centre, 2001 and 2002
in Xihu; Xihu numbers start 057187):
- live: LC, a city caller talking to 1001; LX, a Xihu caller talking to 2001; LO, a city
  caller whom Xihu's 2002 took (the city's overflow: Xihu sees it through its agent);
- stored (ended, recorded, scored by a 'seed' scorer): SC, a city caller answered by 1001; SX,
  a Xihu caller answered by 2001.
Accounts: admin, city (supervisor), cityqa (qa), xihu (supervisor, xihu), xihuqa (qa, xihu),
binjiang (supervisor, binjiang: a district with none of these calls).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.pbx.calltracker import CallSnapshot, LegSnapshot
from hotline.settings import load_directory
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call, Leg, Recording, RecordingAccess, Score
from hotline.supervisor.auth import LEGACY_COST, Accounts
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board
from hotline.supervisor.monitor import MonitorDesk
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.web import Supervision, build_app
from routing.presence import Presence
from tests.conftest import REPO
from tests.unit.test_supervisor_auth import PASSWORD, FakeAmi, log_in

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
NOW = datetime.now(UTC)
T0 = NOW - timedelta(minutes=10)
MONTH = f"{T0.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m}"

ACCOUNTS = {
    # name: (role, district)
    "admin": ("admin", None),
    "city": ("supervisor", None),
    "cityqa": ("qa", None),
    "xihu": ("supervisor", "xihu"),
    "xihuqa": ("qa", "xihu"),
    "binjiang": ("supervisor", "binjiang"),
}
CITY_WIDE = {"admin", "city", "cityqa"}
XIHU = {"xihu", "xihuqa"}

# --- what each account must see, by hand ------------------------------------------------------
LIVE = {"city": {"LC", "LX", "LO"}, "xihu": {"LX", "LO"}, "binjiang": set()}
AGENTS = {"city": {"1001", "1002", "2001", "2002"}, "xihu": {"2001", "2002"}, "binjiang": set()}
STORED = {"city": {"SC", "SX"}, "xihu": {"SX"}, "binjiang": set()}
SCORED_AGENTS = {"city": {"1001", "2001"}, "xihu": {"2001"}, "binjiang": set()}
OFFICE_ROWS = {"city": set(DIRECTORY.offices), "xihu": {"xihu"}, "binjiang": {"binjiang"}}
KPI_CALLS = {"city": 2, "xihu": 1, "binjiang": 0}
KPI_DISTRICTS = {"city": {"city", "xihu"}, "xihu": {"xihu"}, "binjiang": set()}


ITEMS = ("accuracy", "completeness", "relevance", "tone", "intonation", "rate")


def view(name: str) -> str:
    if name in CITY_WIDE:
        return "city"
    return "xihu" if name in XIHU else "binjiang"


def live_legs(linkedid: str, caller: str, agent: str) -> list[tuple[str, Any]]:
    channel, endpoint = f"PJSIP/agent{agent}-0000000{linkedid[-1].lower()}", f"agent{agent}"
    leg = LegSnapshot(f"U{linkedid}", linkedid, channel, endpoint, agent, NOW)
    return [
        ("call.started", CallSnapshot(linkedid, f"PJSIP/c-{linkedid}", caller, "", "12333", NOW)),
        ("leg.ringing", leg),
        ("leg.answered", LegSnapshot(f"U{linkedid}", linkedid, channel, endpoint, agent, NOW, NOW)),
    ]


def scenario(tmp_path: Path) -> Supervision:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    acc = Accounts(sessions, 60, cost=LEGACY_COST)  # (the cost is tested on its own: speed)
    for name, (role, district) in ACCOUNTS.items():
        acc.add(name, PASSWORD, role, district, f"PJSIP/sup-{name}", set(DIRECTORY.offices))
    board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    board.apply(
        live_legs("LC", "13912345678", "1001")
        + live_legs("LX", "05718700001", "2001")
        + live_legs("LO", "13800000002", "2002")
    )
    folder = tmp_path / "recordings"
    folder.mkdir()
    with sessions() as s, s.begin():
        for linkedid, caller, agent in (
            ("SC", "13911112222", "1001"),
            ("SX", "05718733333", "2001"),
        ):
            s.add(Call(linkedid=linkedid, caller_number=caller, started_at=T0, ended_at=T0))
            s.add(
                Leg(
                    uniqueid=f"U{linkedid}",
                    linkedid=linkedid,
                    channel=f"PJSIP/agent{agent}-0000000a",
                    endpoint=f"agent{agent}",
                    agent_id=agent,
                    ring_at=T0,
                    answered_at=T0,
                    ended_at=T0,
                )
            )
            (folder / f"{linkedid}.wav").write_bytes(b"RIFF" + b"\0" * 60)
            s.add(Recording(linkedid=linkedid, path=f"{linkedid}.wav", catalogued_at=T0))
            s.add(
                Score(
                    linkedid=linkedid,
                    agent_id=agent,
                    scorer="seed",
                    sheet="s@1",
                    items=json.dumps({"points": {}}),
                    total=80.0,
                    created_at=T0,
                )
            )
    settings = WebSettings()
    return Supervision(
        settings=settings,
        accounts=acc,
        sessions=sessions,
        directory=lambda: DIRECTORY,
        board=board,
        hub=Hub(board.snapshot, 0.05),
        monitor=MonitorDesk(sessions, FakeAmi().action, settings.monitor_roles, number="12333"),
        sheet=load_sheet(settings.score_sheet),
        recordings_root=folder,
    )


async def first_frame(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(base + "/api/events") as r:
        async for line in r.content:
            if line.startswith(b"data: "):
                frame: dict[str, Any] = json.loads(line[6:])
                return frame
    raise AssertionError("the stream ended without a frame")


async def reads(http: aiohttp.ClientSession, base: str, name: str) -> None:
    """Every read endpoint, for one account."""
    scope = view(name)
    async with http.get(base + "/api/state") as r:
        state = await r.json()
    assert {c["linkedid"] for c in state["calls"]} == LIVE[scope], name
    assert {a["id"] for a in state["agents"]} == AGENTS[scope], name
    assert {d["id"] for d in state["districts"]} == OFFICE_ROWS[scope], name
    frame = await first_frame(http, base)
    assert {c["linkedid"] for c in frame["calls"]} == LIVE[scope], name
    assert {a["id"] for a in frame["agents"]} == AGENTS[scope], name

    async with http.get(base + "/api/recent") as r:
        assert {c["linkedid"] for c in await r.json()} == STORED[scope], name
    async with http.get(base + "/api/scores") as r:
        assert {s["linkedid"] for s in await r.json()} == STORED[scope], name
    async with http.get(base + "/api/scores?agent=1001") as r:
        assert r.status == (200 if scope == "city" else 403), name
    async with http.get(base + f"/api/scores/monthly?month={MONTH}") as r:
        monthly = await r.json()
    assert {a["agent_id"] for a in monthly["agents"]} == SCORED_AGENTS[scope], name

    async with http.get(base + "/api/kpi") as r:
        kpi = await r.json()
    assert kpi["total"]["calls"] == KPI_CALLS[scope], name
    assert set(kpi["districts"]) == KPI_DISTRICTS[scope], name
    async with http.get(base + "/api/kpi.csv") as r:
        rows = [line.split(",")[:2] for line in (await r.text()).splitlines()[1:]]
    assert {key for kind, key in rows if kind == "district"} == KPI_DISTRICTS[scope], name

    why = "?purpose=complaint%20review"
    for linkedid in ("SC", "SX"):
        allowed = linkedid in STORED[scope]
        for suffix in ("", "/audio"):
            async with http.get(f"{base}/api/recording/{linkedid}{suffix}{why}") as r:
                assert r.status == (200 if allowed else 403), (name, linkedid, suffix)


async def writes(http: aiohttp.ClientSession, base: str, name: str, csrf: str) -> None:
    """Scoring and monitoring, for one account."""
    scope, headers = view(name), {"X-CSRF-Token": csrf}
    bands = {item: "good" for item in ITEMS}
    for linkedid, agent in (("SC", "1001"), ("SX", "2001")):
        body = {"linkedid": linkedid, "agent_id": agent, "bands": bands}
        async with http.post(base + "/api/scores", json=body, headers=headers) as r:
            expected = 200 if linkedid in STORED[scope] else 403
            assert r.status == expected, (name, linkedid, await r.text())
    async with http.post(
        base + "/api/monitor", json={"linkedid": "LC", "mode": "listen"}, headers=headers
    ) as r:
        # qa never monitors; a district supervisor only their district's agents
        assert r.status == (200 if name in ("admin", "city") else 403), (name, await r.text())


def test_every_endpoint_answers_each_account_within_its_scope(tmp_path: Path) -> None:
    sup = scenario(tmp_path)
    assert [i.id for i in sup.sheet.items] == list(ITEMS)

    async def main() -> None:
        server = TestServer(build_app(sup))
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        try:
            for name in ACCOUNTS:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    csrf = await log_in(http, base, name)
                    await reads(http, base, name)
                    await writes(http, base, name, csrf)
        finally:
            await server.close()

    asyncio.run(main())
    with sup.sessions() as s:
        refused = s.scalars(select(RecordingAccess).where(RecordingAccess.granted.is_(False))).all()
    # every refusal of a recording is audited: xihu and xihuqa (SC, page and audio: 2 each),
    # binjiang (SC and SX, page and audio: 4)
    assert sorted((a.user, a.action) for a in refused) == sorted(
        [(u, act) for u in ("xihu", "xihuqa") for act in ("show", "listen")]
        + [("binjiang", act) for act in ("show", "listen") for _ in range(2)]
    )
    assert all(a.purpose == "complaint review" for a in refused)
