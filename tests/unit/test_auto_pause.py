"""Auto-pause: an agent who lets N routed rings in a row run out is paused with reason
`no-answer` (the count is the desk's; presence carries the pause)."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline.controller.routing_desk import RoutingDesk
from routing.directory import Agent, Directory, Office, Seat
from routing.presence import Presence, State

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def test_an_agent_who_lets_two_rings_in_a_row_run_out_is_paused_no_answer() -> None:
    offices = {"city": Office("city", "市中心", "city")}
    agents = {"1001": Agent("1001", "王芳", "s1001", "city", ("pension",))}
    d = Directory(offices, {"s1001": Seat("s1001", "city")}, agents)
    presence = Presence(d, started=NOW)
    desk = RoutingDesk(d, presence, None, now=lambda: NOW, auto_pause_after=2)
    assert not desk.rang("1001", "NOANSWER")
    assert not desk.rang("1001", "ANSWER")  # an answer starts the count again
    assert not desk.rang("1001", "NOANSWER")
    assert not desk.rang("1001", "BUSY")  # busy is not a ring left to run out
    assert presence.snapshot()["1001"].state is State.AVAILABLE
    assert desk.rang("1001", "NOANSWER")  # the second NOANSWER in a row
    paused = presence.snapshot()["1001"]
    assert (paused.state, paused.reason) == (State.PAUSED, "no-answer")
    presence.resume("1001", NOW)  # *14 at the seat or `hotline agent resume`
    assert presence.snapshot()["1001"].state is State.AVAILABLE


def test_auto_pause_zero_never_pauses() -> None:
    offices = {"city": Office("city", "市中心", "city")}
    agents = {"1001": Agent("1001", "王芳", "s1001", "city", ("pension",))}
    d = Directory(offices, {"s1001": Seat("s1001", "city")}, agents)
    presence = Presence(d, started=NOW)
    desk = RoutingDesk(d, presence, None, now=lambda: NOW, auto_pause_after=0)
    assert not any(desk.rang("1001", "NOANSWER") for _ in range(5))
    assert presence.snapshot()["1001"].state is State.AVAILABLE


def test_pending_callbacks_read_back_from_sqlite_keep_their_places_in_the_line() -> None:
    """SQLite gives stored times back without their zone: a controller that starts with
    callbacks pending must still compare their places with the line's (zone-aware) ones."""
    offices = {"city": Office("city", "市中心", "city")}
    d = Directory(offices, {"s1001": Seat("s1001", "city")}, {})
    desk = RoutingDesk(d, Presence(d, started=NOW), None, now=lambda: NOW)
    stored = datetime(2026, 12, 7, 9, 0)  # 09:00 UTC, as a naive row
    desk.callbacks_pending([stored])
    assert desk.callback_ahead_of(datetime(2026, 12, 7, 9, 1, tzinfo=UTC))
    assert not desk.callback_ahead_of(datetime(2026, 12, 7, 8, 59, tzinfo=UTC))
    desk.callback_placed(stored)  # dialled: it leaves the line
    assert not desk.callback_ahead_of(datetime(2026, 12, 7, 9, 1, tzinfo=UTC))
    desk.callback_requeued(stored)  # to try again, at the same place
    assert desk.callback_ahead_of(datetime(2026, 12, 7, 9, 1, tzinfo=UTC))
