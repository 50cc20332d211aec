"""Several controllers on one database: agent claims in the database (two routing desks never
hold one agent), the scheduler leader's lease (one leader; taken over when it expires), and a
survey call placed once when the leader dies mid-call and the follower takes over.

Each scenario is a function of the database URL: here on SQLite files; the same functions run
on a real PostgreSQL server in tests/stack/test_scale_out.py."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.leader import SchedulerLeader
from hotline.controller.routing_desk import RoutingDesk
from hotline.pbx.dialplan import render, render_inbound
from hotline.pbx.presence_events import apply_event, site_lost
from hotline.settings import Settings, dialplan_parts, load_directory, load_settings
from hotline.store.db import open_engine, session_factory, write
from hotline.store.leases import AgentClaim, AgentClaims, LeaderLease
from hotline.store.models import Call, Leg, SurveyJob
from hotline.surveys.policy import SurveyPolicy
from hotline.surveys.service import SurveyDispatcher, SurveyStore
from hotline.tomltables import ConfigError
from routing.directory import Directory
from routing.presence import Presence
from routing.router import plan_call
from tests.conftest import REPO, write_config

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
AGENT = next(iter(DIRECTORY.agents))
# 10:00 in Hangzhou on a weekday: inside the survey calls' allowed hours
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Clock:
    """One fake time for leases (UTC) and the leader's own monotonic clock."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


OPEN: list[Engine] = []  # engines a scenario opened, disposed when it ends


def sessions_for(url: str) -> sessionmaker[Session]:
    engine = open_engine(url)
    OPEN.append(engine)
    return session_factory(engine)


def disposing(scenario: Callable[[str], None]) -> Callable[[str], None]:
    @functools.wraps(scenario)
    def run(url: str) -> None:
        try:
            scenario(url)
        finally:
            while OPEN:
                OPEN.pop().dispose()

    return run


def desk(url: str, holder: str, clock: Clock) -> RoutingDesk:
    """A routing desk as a controller on `url` has it, with claims shared in the database."""
    sessions = sessions_for(url)
    d = RoutingDesk(DIRECTORY, Presence(DIRECTORY), sessions)
    d.share_claims(AgentClaims(sessions, holder, timedelta(seconds=30), clock.now))
    return d


async def settle(d: RoutingDesk) -> None:
    """Wait for the desk's releases to reach the database."""
    await asyncio.gather(*d.releasing)


# --- the scenarios (also run on PostgreSQL) ------------------------------------------------


@disposing
def two_desks_never_hold_one_agent(url: str) -> None:
    clock = Clock()
    a, b = desk(url, "controller-a", clock), desk(url, "controller-b", clock)

    async def scenario() -> None:
        assert await a.claim(AGENT, "call-1")
        assert not await a.claim(AGENT, "call-2"), "the in-process fast path"
        assert not await b.claim(AGENT, "call-3"), "another controller's claim"
        a.release(AGENT)
        await settle(a)
        assert await b.claim(AGENT, "call-3")
        assert not await a.claim(AGENT, "call-4")
        assert AGENT not in a.claimed, "a refused claim leaves nothing behind"
        b.release(AGENT)
        await settle(b)
        # many claims at once from both desks: exactly one wins
        results = await asyncio.gather(
            *(d.claim(AGENT, f"race-{i}") for i in range(8) for d in (a, b))
        )
        assert sum(results) == 1

    asyncio.run(scenario())


@disposing
def a_dead_controllers_claim_expires_and_a_live_ones_is_renewed(url: str) -> None:
    clock = Clock()
    a, b = desk(url, "controller-a", clock), desk(url, "controller-b", clock)

    async def scenario() -> None:
        assert await a.claim(AGENT, "long-call")
        for _ in range(5):  # a conversation far longer than the 30 s lease, renewed
            clock.seconds += 20
            await asyncio.to_thread(a.renew_claims)
            assert not await b.claim(AGENT, "other")
        # controller a dies (no more renewals): its claim expires, then b may ring the agent
        clock.seconds += 25
        assert not await b.claim(AGENT, "other")
        clock.seconds += 10
        assert await b.claim(AGENT, "other")

    asyncio.run(scenario())


@disposing
def one_leader_and_a_takeover_when_its_lease_expires(url: str) -> None:
    clock = Clock()
    lease = timedelta(seconds=6)
    elected: list[str] = []

    def leader(name: str) -> SchedulerLeader:
        async def on_elected() -> None:
            elected.append(name)

        return SchedulerLeader(
            LeaderLease(sessions_for(url), name, lease=lease, now=clock.now),
            on_elected,
            clock.monotonic,
        )

    a, b = leader("a"), leader("b")

    async def scenario() -> None:
        await a.renew()
        await b.renew()
        assert (a.is_leader, b.is_leader) == (True, False)
        for _ in range(4):  # a renews in time: b never leads
            clock.seconds += 2
            await a.renew()
            await b.renew()
            assert (a.is_leader, b.is_leader) == (True, False)
        # a stops (killed: no renewal, no give-up); a's own view ends with its lease
        clock.seconds += 5
        await b.renew()
        assert not b.is_leader, "not before the lease has expired"
        clock.seconds += 1.5
        assert not a.is_leader, "a stale leader stops running jobs by its own clock"
        await b.renew()
        assert b.is_leader
        await a.renew()  # a comes back: it is a follower now
        assert (a.is_leader, b.is_leader) == (False, True)
        # a clean stop gives the lease up at once
        await b.step_down()
        await a.renew()
        assert a.is_leader
        assert elected == ["a", "b", "a"]

    asyncio.run(scenario())


class FakeAmi:
    """Asterisk's side of Originate: `hang` keeps the call ringing until the process dies."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.logged_in = True
        self.originated: list[str] = []

    async def action(self, name: str, timeout: float = 0, **headers: Any) -> Any:
        assert name == "Originate"
        self.originated.append(headers["Variable"][0])
        if self.hang:
            await asyncio.Event().wait()
        return [{"Event": "OriginateResponse", "Response": "Success"}]


def answered_call(sessions: sessionmaker[Session], linkedid: str, caller: str) -> None:
    ended = T0 - timedelta(minutes=10)
    with write(sessions) as session:
        session.add(
            Call(
                linkedid=linkedid,
                caller_number=caller,
                started_at=ended - timedelta(minutes=3),
                answered_at=ended - timedelta(minutes=2),
                ended_at=ended,
                outcome="answered",
            )
        )
        session.add(
            Leg(
                uniqueid=f"{linkedid}.1",
                linkedid=linkedid,
                channel=f"PJSIP/{AGENT}-1",
                endpoint="agent1001",
                agent_id=AGENT,
                ring_at=ended - timedelta(minutes=2),
                answered_at=ended - timedelta(minutes=2),
                ended_at=ended,
                dial_status="ANSWER",
            )
        )


@disposing
def a_survey_call_is_placed_once_when_the_leader_dies(url: str) -> None:
    clock = Clock()
    policy = SurveyPolicy(opens=datetime.min.time(), per_caller=timedelta(0))
    lease = timedelta(seconds=6)

    def directory() -> Directory:
        return DIRECTORY

    class Controller:
        def __init__(self, name: str, hang: bool) -> None:
            sessions = sessions_for(url)
            self.store = SurveyStore(sessions, directory, policy)
            self.ami = FakeAmi(hang)
            self.surveys = SurveyDispatcher(
                self.store,
                self.ami,  # type: ignore[arg-type]
                '"12333" <12333>',
                "callers",
                clock.now,
            )

            async def on_elected() -> None:
                await asyncio.to_thread(self.store.recover)

            self.leader = SchedulerLeader(
                LeaderLease(sessions, name, lease=lease, now=clock.now),
                on_elected,
                clock.monotonic,
            )
            self.tick = self.leader.gate(self.surveys.tick)

        async def beat(self) -> None:  # what the clock runs every 2 s
            await self.leader.renew()
            await self.tick()
            await asyncio.sleep(0.05)  # the placing tasks start

    async def scenario() -> None:
        a, b = Controller("a", hang=True), Controller("b", hang=False)
        answered_call(a.store.sessions, "call-1", "13800000001")
        await a.beat()
        await b.beat()
        assert len(a.ami.originated) == 1, "the leader placed the survey call"
        assert b.ami.originated == []
        # the leader dies while the survey call rings: its tasks are gone, nothing renews
        for task in a.surveys.calls:
            task.cancel()
        for _ in range(6):  # the follower keeps beating through the takeover and after
            clock.seconds += 2
            await b.beat()
        assert b.leader.is_leader
        answered_call(b.store.sessions, "call-2", "13800000002")
        for _ in range(3):
            clock.seconds += 2
            await b.beat()
        with b.store.sessions() as session:
            rows = session.execute(
                select(SurveyJob.linkedid, SurveyJob.status, SurveyJob.attempts).order_by(
                    SurveyJob.linkedid
                )
            ).all()
        assert [tuple(r) for r in rows] == [("call-1", "unknown", 1), ("call-2", "answered", 1)]
        placed = a.ami.originated + b.ami.originated
        assert len(placed) == 2 and len(set(placed)) == 2, placed  # each survey call once

    asyncio.run(scenario())


SCENARIOS: list[Callable[[str], None]] = [
    two_desks_never_hold_one_agent,
    a_dead_controllers_claim_expires_and_a_live_ones_is_renewed,
    one_leader_and_a_takeover_when_its_lease_expires,
    a_survey_call_is_placed_once_when_the_leader_dies,
]


# --- on SQLite ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_on_one_sqlite_file(scenario: Callable[[str], None], sqlite_url: str) -> None:
    scenario(sqlite_url)


@disposing
def a_claim_goes_ahead_on_local_claims_when_the_database_is_away(sqlite_url: str) -> None:
    clock = Clock()
    a = desk(sqlite_url, "controller-a", clock)

    def away(*_args: object) -> str | None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    assert a.shared is not None
    a.shared.take = away  # type: ignore[method-assign]

    async def scenario() -> None:
        assert await a.claim(AGENT, "call-1"), "the call is not held up"
        assert not await a.claim(AGENT, "call-2"), "our own claims still hold"
        a.release(AGENT)
        assert await a.claim(AGENT, "call-3")

    asyncio.run(scenario())


@disposing
def without_shared_claims_the_desk_keeps_to_memory(sqlite_url: str) -> None:
    sessions = sessions_for(sqlite_url)
    d = RoutingDesk(DIRECTORY, Presence(DIRECTORY), sessions)

    async def scenario() -> None:
        assert await d.claim(AGENT)
        assert not await d.claim(AGENT)
        d.release(AGENT)
        assert await d.claim(AGENT)

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalars(select(AgentClaim)).all() == []
        assert session.execute(text("SELECT 1")).scalar() == 1


def test_a_claim_goes_ahead_on_local_claims_when_the_database_is_away(sqlite_url: str) -> None:
    a_claim_goes_ahead_on_local_claims_when_the_database_is_away(sqlite_url)


def test_without_shared_claims_the_desk_keeps_to_memory(sqlite_url: str) -> None:
    without_shared_claims_the_desk_keeps_to_memory(sqlite_url)


# --- configuration and the dialplan for several controllers --------------------------------


def two_controller_settings(tmp_path: Path, url: str) -> Settings:
    config = write_config(tmp_path, agi_port=4573)
    text = config.read_text()
    text = text.replace('url = "sqlite:///hotline.db"', f'url = "{url}"\nleader_lease = 6')
    text = text.replace(
        "[dialplan]\n", '[dialplan]\nagi_addresses = ["127.0.0.1:4573", "10.0.0.2:4574"]\n'
    )
    config.write_text(text)
    return load_settings(config)


def test_postgresql_turns_shared_claims_on_and_sqlite_keeps_them_in_memory(
    tmp_path: Path,
) -> None:
    pg = two_controller_settings(tmp_path / "pg", "postgresql+psycopg://h:p@127.0.0.1:1/h")
    assert pg.scale.shared_claims and pg.scale.leader_lease == 6
    assert pg.dialplan.agi_more == (("10.0.0.2", 4574),)
    lite = load_settings(write_config(tmp_path / "lite"))
    assert not lite.scale.shared_claims and lite.dialplan.agi_more == ()


def test_the_dialplan_takes_controllers_in_turn_and_the_next_on_failure(tmp_path: Path) -> None:
    settings = two_controller_settings(tmp_path, "sqlite:///x.db")
    inbound = render_inbound(dialplan_parts(settings))
    a, b = "agi://127.0.0.1:4573/12333", "agi://10.0.0.2:4574/12333"
    lines = [line.split(",", 1)[1] if "," in line else line for line in inbound.splitlines()]
    assert "Set(GLOBAL(HOTLINE_AGI_TURN)=$[(0${GLOBAL(HOTLINE_AGI_TURN)} + 1) % 2])" in lines
    assert inbound.index(f"n(agi_turn_0),AGI({a})") < inbound.index(f"AGI({b})")
    assert inbound.index(f"n(agi_turn_1),AGI({b})") < inbound.rindex(f"AGI({a})")
    assert inbound.count('"${AGISTATUS}" != "FAILURE"') == 2
    # then, as with one controller, the fallback queue for a call nobody handled
    assert inbound.index("n(agi_done)") < inbound.index("Queue(hotline-fallback")
    one = load_settings(write_config(tmp_path / "one"))
    assert "HOTLINE_AGI_TURN" not in render_inbound(dialplan_parts(one))


# --- two Asterisk sites sharing the controllers --------------------------------------------

BOX = """
[[site]]
id = "xihu-box"
trunk = "site-xihu-box"
address = "10.0.0.4"
ami_port = 5038
"""


def two_site_settings(tmp_path: Path) -> Settings:
    config = two_controller_settings(tmp_path, "sqlite:///x.db").file
    seats = config.parent / "seats.toml"
    text = seats.read_text().replace(
        'endpoint = "agent2002"\noffice = "xihu"',
        'endpoint = "agent2002"\noffice = "xihu"\nsite = "xihu-box"',
    )
    seats.write_text(text + BOX)
    return load_settings(config)


def test_a_seat_is_dialled_from_the_box_the_call_is_on(tmp_path: Path) -> None:
    directory = two_site_settings(tmp_path).directory
    # a call on the main box: its own seats, the box's through the main box's trunk to it
    assert directory.dial_target("agent1001") == "agent1001"
    assert directory.dial_target("agent2002") == "agent2002@site-xihu-box"
    # a call on the box: its own seat, every other one through its trunk to the main box
    assert directory.dial_target("agent2002", "xihu-box") == "agent2002"
    assert directory.dial_target("agent1001", "xihu-box") == "agent1001@main"


def test_a_site_box_enters_the_same_controllers_naming_itself(tmp_path: Path) -> None:
    settings = two_site_settings(tmp_path)
    box = render(dialplan_parts(settings), "xihu-box")
    assert "n(agi_turn_0),AGI(agi://127.0.0.1:4573/12333,xihu-box)" in box
    assert "AGI(agi://10.0.0.2:4574/12333,xihu-box)" in box
    assert "Queue(hotline-fallback" in box  # its own safety net
    main = render(dialplan_parts(settings))
    assert ",xihu-box)" not in main.split("[hotline-from-site]")[0]
    # over the trunks: the box rings its own seat; the main box its own and relays the box's
    assert box.split("[hotline-from-site]")[1].strip().splitlines() == [
        "exten => agent2002,1,Dial(PJSIP/agent2002,120)",
        " same => n,Hangup()",
    ]
    relay = main.split("[hotline-from-site]")[1]
    assert "exten => agent1001,1,Dial(PJSIP/agent1001,120)" in relay
    assert "exten => agent2002,1,Dial(PJSIP/agent2002@site-xihu-box,120)" in relay


def test_a_seats_state_counts_only_from_its_own_box(tmp_path: Path) -> None:
    directory = two_site_settings(tmp_path).directory
    presence = Presence(directory, timedelta(0))
    busy = {"Event": "DeviceStateChange", "Device": "PJSIP/agent2002", "State": "INUSE"}
    assert apply_event(presence, directory, busy, T0) is None  # INVALID on the main box
    assert presence.snapshot()["2002"].state.value == "available"
    assert apply_event(presence, directory, busy, T0, "xihu-box") is not None
    assert presence.snapshot()["2002"].state.value == "talking"


def test_a_box_that_is_down_has_its_seats_skipped_until_it_answers_again(
    tmp_path: Path,
) -> None:
    directory = two_site_settings(tmp_path).directory
    presence = Presence(directory, timedelta(0))
    assert site_lost(presence, directory, "xihu-box", T0) == 1  # agent2002's seat only
    states = {a: p.state.value for a, p in presence.snapshot().items()}
    assert states["2002"] == "unreachable"
    assert {a for a, s in states.items() if s != "available"} == {"2002"}
    for seat in ("agent2001", "agent1002"):  # the post's A and B are talking
        busy = {"Event": "DeviceStateChange", "Device": f"PJSIP/{seat}", "State": "INUSE"}
        apply_event(presence, directory, busy, T0)
    plan = plan_call(
        directory, directory.posts["pension-xihu"], "pension", "xihu", presence.snapshot(), 20
    )
    step = plan.next_step()
    assert step is not None and step.agent_id == "1001"  # the city pool, at once
    assert plan.describe() == (
        "post pension-xihu A 2001 talking -> post pension-xihu B 1002 talking"
        " -> district pool xihu: 1 unreachable -> city pool: 1001"
    )
    # the box answers again: its resync reports the seat idle, and it is rung again
    idle = {"Event": "DeviceStateChange", "Device": "PJSIP/agent2002", "State": "NOT_INUSE"}
    apply_event(presence, directory, idle, T0 + timedelta(seconds=5), "xihu-box")
    assert presence.snapshot()["2002"].state.value == "available"


def test_a_site_cannot_be_called_main(tmp_path: Path) -> None:
    settings = two_site_settings(tmp_path)
    seats = settings.seats_file
    seats.write_text(seats.read_text().replace('id = "xihu-box"', 'id = "main"'))
    with pytest.raises(ConfigError, match=r"\[\[site\]\] #1 id: expected a name other than"):
        load_settings(settings.file)
