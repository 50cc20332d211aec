"""The live board's abandonment alert counts every caller who asked for a person and gave up,
those who hung up in the hold prompt or in hotline's line before any phone rang included: the
stored outcome says who asked, not the first ring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.pbx.calltracker import CallSnapshot
from hotline.settings import load_directory
from hotline.supervisor.live import Board
from routing.presence import Presence
from tests.conftest import REPO

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def ended(board: Board, linkedid: str, outcome: str, at: datetime) -> None:
    call = CallSnapshot(linkedid, "PJSIP/callers-1", "13900000000", "", "12333", at)
    board.apply([("call.started", call)])
    gone = CallSnapshot(
        linkedid, "PJSIP/callers-1", "13900000000", "", "12333", at, None, at, outcome
    )
    board.apply([("call.ended", gone)])


def spike(board: Board, now: datetime) -> list[dict[str, object]]:
    alerts = board.snapshot(now)["alerts"]
    assert isinstance(alerts, list)
    return [a for a in alerts if a["kind"] == "abandon-spike"]


def test_hang_ups_in_the_line_before_any_ring_raise_the_abandonment_alert() -> None:
    board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    # 4 answered, 2 who gave up in the line (no leg ever rang), 3 who only used the menus
    outcomes = ["answered"] * 4 + ["abandoned"] * 2 + ["self_service", "ivr_abandoned"] * 1
    for n, outcome in enumerate(outcomes):
        ended(board, f"L{n}", outcome, T0 + timedelta(seconds=n))
    # by hand: asked = 4 + 2 = 6 (the menu-only calls did not ask); 2 / 6 = 33.3 % > 10 %
    assert spike(board, T0 + timedelta(minutes=1)) == [
        {"kind": "abandon-spike", "percent": round(100 * 2 / 6, 1), "calls": 6}
    ]


def test_callers_who_only_used_the_menus_or_booked_a_callback_are_no_abandonment() -> None:
    board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    for n, outcome in enumerate(["answered"] * 4 + ["callback_booked", "ivr_abandoned"]):
        ended(board, f"M{n}", outcome, T0 + timedelta(seconds=n))
    assert spike(board, T0 + timedelta(minutes=1)) == []
