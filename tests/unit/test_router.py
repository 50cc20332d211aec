"""The router's decisions on a small Hangzhou directory, with the reasons it gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import router
from routing.directory import Agent, Directory, Office, Post, Seat
from routing.presence import Presence, Snapshot, State
from routing.router import Plan, find_post, plan_call, prepare

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def directory() -> Directory:
    offices = {
        "city": Office("city", "市中心", "city"),
        "xihu": Office("xihu", "西湖区", "district"),
    }
    agents = {
        "1001": Agent("1001", "王芳", "s1001", "city", ("pension",)),
        "1002": Agent("1002", "李强", "s1002", "city", ("pension",)),
        "1003": Agent("1003", "赵敏", "s1003", "city", ("medical",)),
        "2001": Agent("2001", "陈静", "s2001", "xihu", ("pension",)),
        "2002": Agent("2002", "刘洋", "s2002", "xihu", ("pension",)),
        "2003": Agent("2003", "孙丽", "s2003", "xihu", ("pension",)),
    }
    seats = {a.seat: Seat(a.seat, a.office) for a in agents.values()}
    posts = {"pension-xihu": Post("pension-xihu", "pension", "xihu", "2001", "2002")}
    return Directory(offices, seats, agents, posts)


def presence(d: Directory) -> Presence:
    return Presence(d, wrap_up=timedelta(seconds=10), started=T0)  # everyone free since T0


def seen_at(p: Presence, when: datetime) -> Snapshot:
    """Presence at `when`: the wrap-ups that ended by then applied (the controller's timer)."""
    p.expire(when)
    return p.snapshot()


def drained(plan: Plan) -> Plan:
    while plan.next_step() is not None:
        pass
    return plan


def agents_of(plan: Plan) -> list[str]:
    return [s.agent_id for s in drained(plan).steps]


def test_a_answers_first_then_b_then_the_district_then_the_city_pool() -> None:
    d = directory()
    plan = plan_call(d, d.posts["pension-xihu"], "pension", "xihu", presence(d).snapshot(), 15)
    assert agents_of(plan) == ["2001", "2002", "2003", "1001", "1002"]  # 1003: no pension skill
    assert plan.steps[0].reason == "post pension-xihu A 2001"
    assert plan.steps[0].endpoint == "s2001" and plan.steps[0].timeout == 15


def test_busy_a_and_logged_out_b_are_skipped_with_their_reasons() -> None:
    d = directory()
    p = presence(d)
    p.device("s2001", "INUSE", T0)
    p.logout("2002", T0)
    plan = plan_call(d, d.posts["pension-xihu"], "pension", "xihu", seen_at(p, T0), 15)
    assert agents_of(plan)[0] == "2003"
    assert plan.describe().startswith(
        "post pension-xihu A 2001 talking -> post pension-xihu B 2002 logged-out -> "
        "district pool xihu: 2003"
    )


def test_pools_ring_the_longest_idle_agent_first() -> None:
    d = directory()
    p = presence(d)
    p.device("s1001", "INUSE", T0)
    seen_at(p, T0)
    p.device("s1001", "NOT_INUSE", T0 + timedelta(seconds=5))
    later = T0 + timedelta(minutes=5)  # 1001 freed at T0+5 s, after wrap-up: idle the shortest
    plan = plan_call(d, None, "pension", None, seen_at(p, later), 15)
    assert agents_of(plan) == ["1002", "1001"]


def test_wrap_up_paused_unreachable_and_claimed_agents_are_not_rung() -> None:
    d = directory()
    p = presence(d)
    p.device("s2001", "INUSE", T0)
    seen_at(p, T0)
    p.device("s2001", "NOT_INUSE", T0 + timedelta(seconds=1))  # wrap-up for 10 s
    p.pause("2002", "lunch", T0)
    p.contact("s2003", False, T0)
    at = T0 + timedelta(seconds=3)
    plan = plan_call(
        d, d.posts["pension-xihu"], "pension", "xihu", seen_at(p, at), 15, claimed={"1001"}
    )
    assert agents_of(plan) == ["1002"]
    assert "A 2001 wrap-up" in plan.describe()
    assert "B 2002 paused (lunch)" in plan.describe()
    assert "district pool xihu: 1 unreachable" in plan.describe()
    assert "city pool: 1002; 1 ringing for another call" in plan.describe()


def test_the_first_inquiry_owner_is_offered_first() -> None:
    d = directory()
    plan = plan_call(
        d, d.posts["pension-xihu"], "pension", "xihu", presence(d).snapshot(), 15, owner="1002"
    )
    assert agents_of(plan)[:3] == ["1002", "2001", "2002"]
    assert plan.chain[0] == "first-inquiry owner: 1002"


def test_an_owner_who_is_also_the_posts_b_is_asked_once_as_the_owner() -> None:
    d = directory()
    p = presence(d)
    p.device("s2002", "INUSE", T0)  # the owner, who is also B, is talking
    snapshot = seen_at(p, T0)
    plan = drained(plan_call(d, d.posts["pension-xihu"], "pension", "xihu", snapshot, 15, "2002"))
    assert plan.chain[:3] == (
        "first-inquiry owner 2002 talking",
        "post pension-xihu A: 2001",
        "district pool xihu: 2003",
    )
    assert [s.agent_id for s in plan.steps].count("2002") == 0


def test_an_owner_not_in_the_directory_is_not_asked() -> None:
    d = directory()
    plan = plan_call(
        d, d.posts["pension-xihu"], "pension", "xihu", presence(d).snapshot(), 15, owner="9999"
    )
    assert plan.next_step() is not None and plan.chain == ("post pension-xihu A: 2001",)


def test_nobody_available_means_the_queue() -> None:
    d = directory()
    p = presence(d)
    for agent in d.agents.values():
        p.logout(agent.id, T0)
    plan = drained(plan_call(d, d.posts["pension-xihu"], "pension", "xihu", seen_at(p, T0), 15))
    assert plan.steps == () and plan.chain[-1] == "queue"


def test_time_in_state_is_kept() -> None:
    d = directory()
    p = presence(d)
    p.device("s1001", "RINGING", T0 + timedelta(seconds=1))
    snap = seen_at(p, T0 + timedelta(seconds=1))
    assert snap["1001"].state is State.RINGING and snap["1001"].since == T0 + timedelta(seconds=1)
    p.device("s1001", "INUSE", T0 + timedelta(seconds=3))
    assert seen_at(p, T0 + timedelta(seconds=3))["1001"].state is State.TALKING


def test_a_plan_rings_at_most_max_rings_agents_and_counts_the_rest_by_reason() -> None:
    d = directory()
    p = presence(d)
    p.device("s2003", "INUSE", T0)
    plan = plan_call(d, d.posts["pension-xihu"], "pension", "xihu", seen_at(p, T0), 15, max_rings=3)
    assert agents_of(plan) == ["2001", "2002", "1001"]
    assert plan.chain[2:] == ("district pool xihu: 1 talking", "city pool: 1001", "then queue")


def test_presence_keeps_time_in_state_from_the_facts_not_from_when_it_is_read() -> None:
    d = directory()
    p = presence(d)
    p.pause("1001", "lunch", T0 + timedelta(minutes=1))
    later = seen_at(p, T0 + timedelta(hours=1))
    assert later["1001"].state is State.PAUSED and later["1001"].reason == "lunch"
    assert later["1001"].since == T0 + timedelta(minutes=1)
    assert later["1002"].idle_since == T0


def test_a_decision_is_the_first_step_and_the_chain_grows_as_steps_are_taken() -> None:
    d = directory()
    p = presence(d)
    p.device("s2001", "INUSE", T0)
    plan = plan_call(d, d.posts["pension-xihu"], "pension", "xihu", p.snapshot(), 15)
    assert plan.steps == () and plan.chain == ()  # nothing decided until asked
    first = plan.next_step()
    assert first is not None and first.agent_id == "2002"
    assert plan.chain == ("post pension-xihu A 2001 talking", "post pension-xihu B: 2002")
    second = plan.next_step()
    assert second is not None and second.agent_id == "2003"
    assert plan.describe().endswith("-> district pool xihu: 2003")


def test_a_later_step_reads_presence_as_it_is_then() -> None:
    """While A rings, 2003 logs in and 1001 pauses: the next steps ring 2003, not 1001."""
    d = directory()
    p = presence(d)
    p.device("s2002", "INUSE", T0)
    p.logout("2003", T0)
    plan = plan_call(d, d.posts["pension-xihu"], "pension", "xihu", p.snapshot(), 15)
    assert agents_of_next(plan) == "2001"
    p.login("2003", T0 + timedelta(seconds=5))
    p.pause("1001", "lunch", T0 + timedelta(seconds=6))
    assert agents_of(plan) == ["2001", "2003", "1002"]
    assert plan.describe() == (
        "post pension-xihu A: 2001 -> post pension-xihu B 2002 talking -> "
        "district pool xihu: 2003 -> city pool: 1002; 1 paused (lunch) -> then queue"
    )


def test_an_agent_claimed_after_the_plan_was_made_is_not_rung() -> None:
    d = directory()
    claimed: set[str] = set()
    plan = plan_call(d, None, "pension", None, presence(d).snapshot(), 15, claimed=claimed)
    assert agents_of_next(plan) == "1001"
    claimed.add("1002")  # another call rings 1002 now
    assert agents_of(plan) == ["1001"]
    assert plan.chain == ("city pool: 1001; 1 ringing for another call", "then queue")


def test_wrap_ups_end_by_the_clock_or_the_next_fact_not_by_reading_presence() -> None:
    d = directory()
    p = presence(d)
    p.device("s1001", "INUSE", T0)
    p.device("s1001", "NOT_INUSE", T0 + timedelta(seconds=5))  # wrap-up until T0+15 s
    assert p.next_wrap_up_end() == T0 + timedelta(seconds=15)
    assert p.snapshot()["1001"].state is State.WRAP_UP  # reading does no work
    p.pause("1003", "meeting", T0 + timedelta(seconds=40))  # any later fact ends it first
    assert p.snapshot()["1001"].state is State.AVAILABLE
    assert p.snapshot()["1001"].idle_since == T0 + timedelta(seconds=15)  # at its own end


def agents_of_next(plan: Plan) -> str:
    step = plan.next_step()
    assert step is not None
    return step.agent_id


def test_a_prepared_directory_routes_every_business_and_district_without_making_a_route() -> None:
    # the routing desk prepares the routes when a directory loads, so no caller's first call
    # of a route waits while it is made; the plans are the ones an unprepared directory gives
    d = directory()
    businesses = ["pension", "medical", "employment"]  # employment: no post, no skill
    districts: list[str | None] = ["xihu", "city", "gongshu", None]  # gongshu: no such office
    unprepared = {
        (b, district): drained(
            plan_call(d, find_post(d, "", b, district), b, district, presence(d).snapshot(), 20)
        ).describe()
        for b in businesses
        for district in districts
    }
    d = directory()  # a fresh directory, as after a reload
    assert prepare(d, 20) == 6  # pension and medical, each in city, xihu and no district
    made = dict(router._last[0].routes)
    for b in businesses:
        for district in districts:
            post = find_post(d, "", b, district)
            plan = drained(plan_call(d, post, b, district, presence(d).snapshot(), 20))
            assert plan.describe() == unprepared[(b, district)]
    # routes are made in use only for what a directory load cannot foresee: a business that
    # no post or agent offers, a district that is no office
    assert {k for k in router._last[0].routes if k not in made} == {
        (None, "pension", "gongshu"),
        (None, "medical", "gongshu"),
        *((None, "employment", district) for district in districts),
    }


def test_a_plan_says_whether_it_reached_the_posts_a_step_rung_or_passed_over() -> None:
    """The AB-fallback rate's denominator: an owner's ring comes before A; A passed over as
    talking has been reached as much as A rung."""
    d = directory()
    post = d.posts["pension-xihu"]
    owned = plan_call(d, post, "pension", "xihu", presence(d).snapshot(), 15, owner="1002")
    assert owned.next_step() is not None and owned.steps[0].role == "owner"
    assert not owned.reached("A")  # the owner rings first: A not reached (yet)
    owned.next_step()
    assert owned.reached("A") and owned.steps[-1].role == "A"
    p = presence(d)
    p.device("s2001", "INUSE", T0)  # A talking
    busy = plan_call(d, post, "pension", "xihu", p.snapshot(), 15)
    assert busy.next_step() is not None and busy.steps[0].role == "B"
    assert busy.reached("A") and busy.reached("B")
    nowhere = plan_call(d, None, "pension", "xihu", presence(d).snapshot(), 15)
    assert not drained(nowhere).reached("A")
