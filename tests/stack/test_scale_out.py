"""Scale-out on a real PostgreSQL server (Debian's package, a cluster started here on loopback
as the postgres user and removed afterwards): the claim and leader scenarios of
tests/unit/test_scale_out.py on PostgreSQL, then two controllers sharing it behind one
sandbox Asterisk, and behind two sandbox Asterisk sites. If PostgreSQL cannot be set up the
tests fail; they never skip."""

from __future__ import annotations

import itertools
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.sandbox import commands as sandbox_cmd
from hotline.sandbox.instance import Instance
from hotline.sandbox.postgres import Cluster, PostgresError
from hotline.sandbox.settings import load_sandbox_settings
from hotline.settings import load_settings
from hotline.store.db import open_engine, upgrade
from hotline.store.leases import SchedulerLease
from hotline.store.models import Call, RouteDecision, SurveyJob
from tests.conftest import REPO, run_hotline, write_config
from tests.stack.conftest import (
    AGENT_PORTS,
    ALWAYS_OPEN,
    AMI_PORT,
    SIP_PORT,
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    wait_for,
)
from tests.stack.test_ivr import ZERO_IN_GREETING
from tests.stack.test_surveys import OPEN, caller_leaves_first
from tests.unit.test_migrations import assert_rows_kept, make_baseline_with_rows
from tests.unit.test_scale_out import SCENARIOS
from tests.unit.test_supervisor_scores import RACES

AGENT_NOW = [(3000, "0")]  # 0 during the greeting: a person at once
PORT_A, PORT_B = 14573, 14574  # A is the stack's usual FastAGI port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster]:
    if shutil.which("runuser") is None:
        pytest.fail("runuser is missing (util-linux): PostgreSQL cannot be started")
    folder = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    cluster = Cluster(folder, free_port())
    try:
        cluster.start()
    except PostgresError as exc:
        cluster.stop(remove=True)
        pytest.fail(f"PostgreSQL could not be set up: {exc}")
    yield cluster
    cluster.stop(remove=True)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_on_postgresql(scenario: Callable[[str], None], postgres: Cluster) -> None:
    scenario(postgres.database(f"scenario_{scenario.__name__[:40]}"))


@pytest.mark.parametrize("race", RACES, ids=lambda f: f.__name__)
def test_score_races_on_postgresql(race: Callable[[str], None], postgres: Cluster) -> None:
    """Two amendments of one score (or two first scores by one scorer) racing on PostgreSQL:
    the unique constraints let one land."""
    race(postgres.database(f"race_{race.__name__[:40]}"))


def test_open_engine_creates_and_checks_the_tables_on_postgresql(postgres: Cluster) -> None:
    url = postgres.database("fresh")
    # two controllers starting at once: the advisory lock keeps their CREATE TABLEs apart
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_engine(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    engine = open_engine(url)  # and once more on the existing tables (the schema check)
    try:
        with Session(engine) as session:
            assert session.scalars(select(Call)).all() == []
    finally:
        engine.dispose()


def test_a_baseline_database_with_rows_is_upgraded_keeping_every_row_on_postgresql(
    postgres: Cluster,
) -> None:
    url = postgres.database("baseline_rows")
    make_baseline_with_rows(url)
    upgrade(url)
    assert_rows_kept(url)
    open_engine(url).dispose()


# --- two controllers, one Asterisk, one PostgreSQL --------------------------------------


class Controller:
    """`hotline serve` as a process we may kill."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hotline.cli.main", "-c", str(config), "serve"],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_for(
            lambda: "event=controller.ready" in self.text() or self.process.poll() is not None,
            30,
            "the controller to be ready",
        )
        assert self.process.poll() is None, f"the controller exited at start:\n{self.text()}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def controller_config(
    stack: Stack, name: str, port: int, url: str, surveys: str = "enabled = false"
) -> Path:
    config = write_config(
        stack.folder / name,
        ami_port=AMI_PORT,
        agi_port=port,
        sip_port=SIP_PORT,
        name="pytest",
        agent_ports=AGENT_PORTS,
        hours=ALWAYS_OPEN,
        extra="[routing]\nwrap_up_seconds = 0",  # an agent is free again when a call ends
        surveys=surveys,
    )
    text = config.read_text()
    text = text.replace(
        'url = "sqlite:///hotline.db"',
        f'url = "{url}"\nleader_lease = 3\nclaim_lease = 6',
    )
    text = text.replace(
        "[dialplan]\n",
        f'[dialplan]\nagi_addresses = ["127.0.0.1:{PORT_A}", "127.0.0.1:{PORT_B}"]\n',
    )
    config.write_text(text)
    return config


def no_agent_rang_for_two_calls_at_once(engine_url: str, callers: list[str]) -> None:
    engine = create_engine(engine_url)
    try:
        with Session(engine) as session:
            calls = session.scalars(select(Call).where(Call.caller_number.in_(callers))).all()
            spans: dict[str, list[tuple[float, float]]] = {}
            for call in calls:
                for leg in call.legs:
                    assert leg.ended_at is not None
                    spans.setdefault(leg.agent_id or leg.endpoint, []).append(
                        (leg.ring_at.timestamp(), leg.ended_at.timestamp())
                    )
    finally:
        engine.dispose()
    for agent, found in spans.items():
        found.sort()
        for (_, end), (start, _) in itertools.pairwise(found):
            assert start >= end - 0.05, f"agent {agent} rang for two calls at once: {found}"


def handled(engine_url: str, caller: str) -> tuple[str, str | None]:
    """The call's outcome and who answered, per the controller's own route decision."""
    engine = create_engine(engine_url)
    try:
        with Session(engine) as session:
            call = session.scalars(select(Call).where(Call.caller_number == caller)).one()
            decision = session.scalars(
                select(RouteDecision).where(RouteDecision.linkedid == call.linkedid)
            ).first()
            return call.outcome, decision.answered_by if decision else "no decision"
    finally:
        engine.dispose()


def ended(engine_url: str, callers: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        engine = create_engine(engine_url)
        try:
            with Session(engine) as session:
                rows = session.scalars(select(Call).where(Call.caller_number.in_(callers))).all()
                return len(rows) == len(callers) and all(c.ended_at for c in rows)
        finally:
            engine.dispose()

    return check


def settled(engine_url: str, callers: list[str]) -> None:
    """Calls placed at once through the controllers: all stored as ended, no agent rung for
    two of them at once, and a route decision for each (each went through a controller)."""
    wait_for(ended(engine_url, callers), 20, f"the {len(callers)} calls stored as ended")
    no_agent_rang_for_two_calls_at_once(engine_url, callers)
    wait_for(
        lambda: all(handled(engine_url, c)[1] != "no decision" for c in callers),
        15,
        "a route decision for every call",
    )


def leader(engine_url: str) -> str:
    engine = create_engine(engine_url)
    try:
        with Session(engine) as session:
            lease = session.get(SchedulerLease, "scheduler")
            return lease.holder if lease else ""
    finally:
        engine.dispose()


def test_two_controllers_share_one_asterisk_and_one_postgresql(
    stack: Stack, postgres: Cluster
) -> None:
    url = postgres.database("two_controllers")
    config_a = controller_config(stack, "ctl-a", PORT_A, url)
    config_b = controller_config(stack, "ctl-b", PORT_B, url)
    loaded = run_hotline(config_a, "dialplan", "load")
    assert loaded.returncode == 0, loaded.stderr
    shown = stack.instance.cli("dialplan show hotline-inbound")
    assert f"agi://127.0.0.1:{PORT_A}/" in shown and f"agi://127.0.0.1:{PORT_B}/" in shown
    a = b = None
    try:
        a = Controller(config_a, stack.folder / "ctl-a.log")
        a.wait_ready()
        b = Controller(config_b, stack.folder / "ctl-b.log")
        b.wait_ready()
        assert f"agi{PORT_A}" in leader(url), "the first controller leads"
        assert "event=leader.elected" not in b.text()

        # 1. four callers at once for two agents, through both controllers (the callers hang
        # up first: 12 s after answer, while the agents would talk for 15 s)
        callers = [f"1390000031{n}" for n in range(4)]
        with (
            agent_phone(stack, "so-a", "agent1001", talk_ms=15_000),
            agent_phone(stack, "so-b", "agent1002", talk_ms=15_000),
        ):
            threads = [
                threading.Thread(
                    target=place_call,
                    args=(stack, f"so-{n}", caller),
                    kwargs={"script": AGENT_NOW, "hangup_after_ms": 12_000, "timeout": 60},
                )
                for n, caller in enumerate(callers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(90)
        settled(url, callers)
        outcomes = [handled(url, c) for c in callers]
        assert all(who != "no decision" for _, who in outcomes), outcomes
        assert sum(outcome == "answered" for outcome, _ in outcomes) >= 2, outcomes
        for ctl in (a, b):  # the round-robin gave each controller calls
            assert ctl.text().count("event=route.decision") >= 1, ctl.text()[-3000:]

        # 2. the leader dies: calls still go through the other, which takes the jobs over
        before = b.text().count("event=route.decision")
        mark = stack.log_mark()
        a.process.kill()
        a.process.wait()
        later = [f"1390000032{n}" for n in range(2)]
        with (
            agent_phone(stack, "so-c", "agent1001", talk_ms=2000),
            agent_phone(stack, "so-d", "agent1002", talk_ms=2000),
        ):
            for n, caller in enumerate(later):
                place_call(stack, f"so-after-{n}", caller, script=ZERO_IN_GREETING, timeout=60)
        wait_for(ended(url, later), 20, "the calls after the kill stored as ended")
        wait_for(
            lambda: all(handled(url, c)[1] != "no decision" for c in later),
            15,
            "the route decisions of the calls after the kill",
        )
        for caller in later:
            outcome, who = handled(url, caller)
            assert outcome == "answered" and who not in (None, "no decision"), (caller, who)
        assert b.text().count("event=route.decision") == before + 2
        # one of the two started at A's turn: refused, so the dialplan went on to B
        assert "hotline: controller unreachable" in stack.asterisk_log()[mark:]
        wait_for(lambda: "event=leader.elected" in b.text(), 10, "the other controller to lead")
        assert f"agi{PORT_B}" in leader(url)
    finally:
        for ctl in (a, b):
            if ctl is not None:
                ctl.stop()
        restored = run_hotline(stack.config, "dialplan", "load")
        assert restored.returncode == 0, restored.stderr


def test_a_survey_call_is_placed_once_when_the_leader_dies_while_placing_it(
    stack: Stack, postgres: Cluster
) -> None:
    url = postgres.database("survey_leader")
    config_a = controller_config(stack, "sv-ctl-a", PORT_A, url, surveys=OPEN)
    config_b = controller_config(stack, "sv-ctl-b", PORT_B, url, surveys=OPEN)
    loaded = run_hotline(config_a, "dialplan", "load")
    assert loaded.returncode == 0, loaded.stderr
    caller = "13900000330"
    a = b = None
    try:
        a = Controller(config_a, stack.folder / "sv-ctl-a.log")
        a.wait_ready()
        b = Controller(config_b, stack.folder / "sv-ctl-b.log")
        b.wait_ready()
        with callers_phone(stack, "svl-phone", keys="1") as phone:
            caller_leaves_first(stack, "svl-call", caller)  # then A, the leader, queues a job
            wait_for(lambda: "event=survey.dialing" in a.text(), 30, "the survey call placed")
            a.process.kill()  # the leader dies while its survey call is on the way
            a.process.wait()
            assert phone.process.wait(60) == 0, phone.log.read_text(errors="replace")[-1500:]
        wait_for(lambda: "event=leader.elected" in b.text(), 10, "B to take the jobs over")
        ticks = b.text().count("Running job")
        wait_for(lambda: b.text().count("Running job") >= ticks + 6, 20, "more of B's ticks")
        assert "event=survey.dialing" not in b.text(), "the new leader placed it again"
        assert a.text().count("event=survey.dialing") == 1
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                (job,) = session.scalars(select(SurveyJob).where(SurveyJob.number == caller))
        finally:
            engine.dispose()
        # placed once; the dead leader never heard how it went, so it is not redialled
        assert (job.attempts, job.status) == (1, "unknown"), (job.attempts, job.status)
    finally:
        for ctl in (a, b):
            if ctl is not None:
                ctl.stop()
        restored = run_hotline(stack.config, "dialplan", "load")
        assert restored.returncode == 0, restored.stderr


# --- two Asterisk sites, one controller pool, one PostgreSQL -------------------------------

BOX = "xihu-box"
BOX_ADDRESS = "127.0.0.4"  # its SIP and AMI address (the main box is on 127.0.0.1)
BOX_SITE = f"""
[[site]]
id = "{BOX}"
trunk = "site-{BOX}"
address = "{BOX_ADDRESS}"
sip_port = {SIP_PORT}
ami_port = 15238
"""


def with_box(config: Path) -> Path:
    """The seat agent2002 on the box, the box followed over AMI (as in test_sites.py)."""
    seats = config.parent / "seats.toml"
    text = seats.read_text().replace(
        'endpoint = "agent2002"\noffice = "xihu"',
        f'endpoint = "agent2002"\noffice = "xihu"\nsite = "{BOX}"',
    )
    assert f'site = "{BOX}"' in text
    seats.write_text(text + BOX_SITE)
    return config


def answered_legs(engine_url: str, caller: str) -> tuple[str, list[str]]:
    """The call's linkedid and the seats that answered it."""
    engine = create_engine(engine_url)
    try:
        with Session(engine) as session:
            call = session.scalars(select(Call).where(Call.caller_number == caller)).one()
            return call.linkedid, [leg.endpoint for leg in call.legs if leg.answered_at]
    finally:
        engine.dispose()


def box_log(box: Instance) -> str:
    return (box.home / "log" / "messages.log").read_text(errors="replace")


def calls_at_once(stack: Stack, calls: list[tuple[str, str, str]]) -> None:
    """(name, caller number, Asterisk address) each pressing 0 for a person, all at once."""
    threads = [
        threading.Thread(
            target=place_call,
            args=(stack, name, caller),
            kwargs={"script": AGENT_NOW, "timeout": 60, "asterisk": asterisk},
        )
        for name, caller, asterisk in calls
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)


def test_two_sites_share_one_controller_pool_and_one_postgresql(
    stack: Stack, postgres: Cluster
) -> None:
    url = postgres.database("two_sites")
    config_a = with_box(controller_config(stack, "site-ctl-a", PORT_A, url))
    config_b = with_box(controller_config(stack, "site-ctl-b", PORT_B, url))
    settings = load_settings(config_a)
    ((_site, box),) = sandbox_cmd.site_instances(settings)
    a = b = None
    try:
        # both boxes' dialplans enter the pool: the main box reloaded, the box started; the
        # main box's round-robin counter from 0, as the fresh box's (earlier tests moved it)
        sandbox_cmd.up(settings, say=lambda _line: None)
        stack.instance.cli("dialplan set global HOTLINE_AGI_TURN 0")
        shown = box.cli("dialplan show hotline-inbound")
        assert f"agi://127.0.0.1:{PORT_A}/12333,{BOX}" in shown, shown
        assert f"agi://127.0.0.1:{PORT_B}/12333,{BOX}" in shown, shown
        a = Controller(config_a, stack.folder / "site-ctl-a.log")
        b = Controller(config_b, stack.folder / "site-ctl-b.log")
        for ctl in (a, b):
            ctl.wait_ready()
            wait_for(
                lambda ctl=ctl: f"event=presence.resync site={BOX}" in ctl.text(),
                15,
                "the controller to follow the box's AMI",
            )
        with (
            agent_phone(stack, "ts-2001", "agent2001", behaviour="busy"),
            agent_phone(stack, "ts-1002", "agent1002", behaviour="busy"),
            agent_phone(stack, "ts-1001", "agent1001", talk_ms=4000),
            agent_phone(stack, "ts-2002", "agent2002", talk_ms=4000),  # rung by the box
        ):
            # 1. two callers at each box at once; two agents answer, one on each box: Xihu
            # numbers want 2002 (on the box) first, the others 1001 (main), so each agent is
            # wanted by calls on both boxes through both controllers
            main_calls = ["057187000311", "13900000341"]
            box_calls = ["057187000312", "13900000342"]
            calls_at_once(
                stack,
                [(f"ts-m{n}", c, "127.0.0.1") for n, c in enumerate(main_calls)]
                + [(f"ts-b{n}", c, BOX_ADDRESS) for n, c in enumerate(box_calls)],
            )
            callers = main_calls + box_calls
            settled(url, callers)
            assert [handled(url, c)[0] for c in callers] == ["answered"] * 4
            # the calls are the boxes' own (the box's ids carry its system name)
            box_prefix = f"{load_sandbox_settings(settings.file).name}-{BOX}-"
            linkedids = [answered_legs(url, c)[0] for c in callers]
            assert [lid.startswith(box_prefix) for lid in linkedids] == [False] * 2 + [True] * 2
            # each box's round-robin gave each controller one of its two calls
            for ctl in (a, b):
                assert "site=main" in ctl.text() and f"site={BOX}" in ctl.text(), ctl.text()[-3000:]

            # 2. B dies: A serves both boxes; each box's call is answered across the trunk.
            # Two calls went in at each box, so each box's next call is B's turn: refused,
            # its dialplan goes on to A
            before = a.text().count("event=route.decision")
            main_mark, box_mark = stack.log_mark(), len(box_log(box))
            b.process.kill()
            b.process.wait()
            at_main, at_box = "057187000313", "13900000343"
            calls_at_once(stack, [("ts-m9", at_main, "127.0.0.1"), ("ts-b9", at_box, BOX_ADDRESS)])
            wait_for(ended(url, [at_main, at_box]), 20, "the calls after the kill stored as ended")
            wait_for(
                lambda: a.text().count("event=route.decision") == before + 2,
                15,
                "A's route decisions of the calls after the kill",
            )
        went_on = f"unreachable (AGISTATUS=FAILURE) -> trying agi://127.0.0.1:{PORT_A}/12333"
        assert went_on in stack.asterisk_log()[main_mark:]
        assert went_on in box_log(box)[box_mark:]
        assert handled(url, at_main) == ("answered", "2002")  # main box -> the box's seat
        assert handled(url, at_box) == ("answered", "1001")  # the box -> the main box's seat
        assert answered_legs(url, at_main)[1] == ["agent2002"]
        assert answered_legs(url, at_box)[1] == ["agent1001"]
        assert "Called PJSIP/agent1001@main" in box_log(box)  # it rang the main box's seat
    finally:
        for ctl in (a, b):
            if ctl is not None:
                ctl.stop()
        box.stop()
        sandbox_cmd.up(stack.settings, say=lambda _line: None)  # the single-site sandbox again
