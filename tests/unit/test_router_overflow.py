"""The whole city linked: overflow tiers by the caller's wait, a district opting out, and the
caller's language first. Expected plans are worked out by hand from the small directory below:
city 1001, 1002 (pension; 1001 also speaks English); Xihu 2001 (pension, English), 2002
(pension); Binjiang 3001 (pension). Posts: pension-city (A 1001, B 1002), pension-xihu
(A 2001, B 2002)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from routing.directory import Agent, Directory, Office, Post, Seat
from routing.presence import Presence
from routing.router import Overflow, Plan, plan_call

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TIERS = Overflow(city_after=0, districts_after=10)


def directory(binjiang_takes_overflow: bool = True) -> Directory:
    offices = {
        "city": Office("city", "市中心", "city"),
        "xihu": Office("xihu", "西湖区", "district"),
        "binjiang": Office("binjiang", "滨江区", "district"),
    }
    agents = {
        "1001": Agent("1001", "王芳", "s1001", "city", ("pension",), ("zh-CN", "en")),
        "1002": Agent("1002", "李强", "s1002", "city", ("pension",)),
        "2001": Agent("2001", "陈静", "s2001", "xihu", ("pension",), ("zh-CN", "en")),
        "2002": Agent("2002", "刘洋", "s2002", "xihu", ("pension",)),
        "3001": Agent("3001", "周敏", "s3001", "binjiang", ("pension",)),
    }
    seats = {a.seat: Seat(a.seat, a.office) for a in agents.values()}
    posts = {
        "pension-city": Post("pension-city", "pension", "city", "1001", "1002"),
        "pension-xihu": Post("pension-xihu", "pension", "xihu", "2001", "2002"),
        "pension-binjiang": Post(
            "pension-binjiang", "pension", "binjiang", "3001", "3001", binjiang_takes_overflow
        ),
    }
    return Directory(offices, seats, agents, posts)


def busy(d: Directory, *agents: str) -> Presence:
    p = Presence(d, wrap_up=timedelta(seconds=10), started=T0)
    for agent_id in agents:
        p.device(d.agents[agent_id].seat, "INUSE", T0)
    return p


def drained(plan: Plan) -> Plan:
    while plan.next_step() is not None:
        pass
    return plan


def city_call(d: Directory, p: Presence, waited: float, overflow: Overflow = TIERS) -> Plan:
    post = d.posts["pension-city"]
    snapshot = p.snapshot()
    return drained(
        plan_call(d, post, "pension", None, snapshot, 15, overflow=overflow, waited=waited)
    )


def test_city_agents_busy_a_city_caller_waits_until_the_district_tier_opens() -> None:
    d = directory()
    p = busy(d, "1001", "1002")
    early = city_call(d, p, waited=4)
    assert early.steps == ()
    assert early.describe() == (
        "post pension-city A 1001 talking -> post pension-city B 1002 talking"
        " -> overflow after 10 s: not yet -> queue"
    )
    late = city_call(d, p, waited=10)
    # the other districts in directory order, each pool's longest idle first
    assert [(s.agent_id, s.role) for s in late.steps] == [
        ("2001", "overflow"),
        ("2002", "overflow"),
        ("3001", "overflow"),
    ]
    assert late.describe() == (
        "post pension-city A 1001 talking -> post pension-city B 1002 talking"
        " -> overflow after 10 s, xihu pool: 2001, 2002"
        " -> overflow after 10 s, binjiang pool: 3001 -> then queue"
    )


def test_a_district_caller_goes_to_the_city_at_once_and_to_other_districts_later() -> None:
    d = directory()
    p = busy(d, "2001", "2002")
    post = d.posts["pension-xihu"]
    plan = drained(plan_call(d, post, "pension", "xihu", p.snapshot(), 15, overflow=TIERS))
    assert [s.agent_id for s in plan.steps] == ["1001", "1002"]
    assert "city pool: 1001, 1002 -> overflow after 10 s: not yet" in plan.describe()
    slower_city = Overflow(city_after=5, districts_after=10)
    plan = drained(
        plan_call(d, post, "pension", "xihu", p.snapshot(), 15, overflow=slower_city, waited=5)
    )
    assert [s.agent_id for s in plan.steps] == ["1001", "1002"]  # 5 s: the city, not Binjiang
    plan = drained(
        plan_call(d, post, "pension", "xihu", p.snapshot(), 15, overflow=slower_city, waited=10)
    )
    assert [(s.agent_id, s.role) for s in plan.steps] == [
        ("1001", "city"),
        ("1002", "city"),
        ("3001", "overflow"),  # never the caller's own district again
    ]


def test_a_district_that_opts_out_on_its_post_takes_no_overflow() -> None:
    d = directory(binjiang_takes_overflow=False)
    plan = city_call(d, busy(d, "1001", "1002"), waited=60)
    assert [s.agent_id for s in plan.steps] == ["2001", "2002"]
    assert "binjiang" not in plan.describe()


def test_without_district_tiers_a_city_caller_only_ever_waits_for_the_city() -> None:
    d = directory()
    plan = city_call(
        d, busy(d, "1001", "1002"), waited=600, overflow=replace(TIERS, districts_after=None)
    )
    assert plan.steps == () and plan.describe().endswith("talking -> queue")


def test_an_english_caller_is_offered_english_speakers_first_then_anyone() -> None:
    d = directory()
    p = busy(d)
    post = d.posts["pension-xihu"]
    plan = drained(
        plan_call(d, post, "pension", "xihu", p.snapshot(), 15, overflow=TIERS, language="en")
    )
    # speakers of the route (A 2001, then the city pool's 1001), then the ladder without them
    assert [s.agent_id for s in plan.steps] == ["2001", "1001", "2002", "1002"]
    assert plan.describe() == (
        "en speaker: 2001 -> en speaker: 1001 -> no other free en speaker, then anyone"
        " -> post pension-xihu B: 2002 -> city pool: 1002 -> overflow after 10 s: not yet"
        " -> then queue"
    )


def test_an_english_caller_with_no_speaker_free_is_told_why_and_routed_as_usual() -> None:
    d = directory()
    p = busy(d, "1001", "2001")
    post = d.posts["pension-xihu"]
    plan = drained(plan_call(d, post, "pension", "xihu", p.snapshot(), 15, language="en"))
    assert [s.agent_id for s in plan.steps] == ["2002", "1002"]
    assert plan.describe().startswith(
        "no free en speaker, then anyone -> post pension-xihu A 2001 talking"
    )


def test_a_mandarin_caller_has_no_language_tier() -> None:
    d = directory()
    post = d.posts["pension-xihu"]
    plan = drained(plan_call(d, post, "pension", "xihu", busy(d).snapshot(), 15, language="zh-CN"))
    assert plan.chain[0] == "post pension-xihu A: 2001"
