"""The district scope on plain data, worked out by hand (found by mutation testing, issue 21):
a call is a district's by its own district or by the office of an agent on it, and the live
board a district supervisor gets keeps exactly what touches their district."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.supervisor.scope import CITY, Scope, board_view, covers_call, scope_of

XIHU = Scope("xihu")


@dataclass(frozen=True)
class Account:
    role: str
    district: str | None


def test_who_sees_the_city_and_who_one_district() -> None:
    assert scope_of(Account("admin", "xihu")) == CITY  # an admin sees the city, district or not
    assert scope_of(Account("supervisor", None)) == CITY
    assert scope_of(Account("qa", None)) == CITY
    assert scope_of(Account("supervisor", "xihu")) == XIHU
    assert scope_of(Account("qa", "xihu")) == XIHU
    assert (CITY.city, CITY.key, XIHU.city, XIHU.key) == (True, "", False, "xihu")


def test_a_call_is_a_districts_by_its_own_district_or_by_an_agent_on_it() -> None:
    assert covers_call(XIHU, "xihu", ["city"])  # Xihu's call, a city agent took it
    assert covers_call(XIHU, "city", ["xihu"])  # the city's overflow, a Xihu seat took it
    assert covers_call(XIHU, "xihu", [])  # Xihu's call, nobody on it yet
    assert not covers_call(XIHU, "city", ["city"])
    assert not covers_call(XIHU, "city", [])
    assert covers_call(CITY, "city", [])  # the city sees every call


BOARD: dict[str, object] = {
    "calls": [
        {"linkedid": "own", "district": "xihu", "agent_office": "city"},
        {"linkedid": "overflow", "district": "city", "agent_office": "xihu"},
        {"linkedid": "other", "district": "city", "agent_office": "city"},
        "not a row",  # anything that is not a row is dropped, never shown
    ],
    "agents": [{"id": "1001", "office": "city"}, {"id": "2001", "office": "xihu"}],
    "queue": [
        {"linkedid": "waiting", "district": "xihu"},
        {"linkedid": "overflow", "district": "city"},  # a city call, on a Xihu seat's phone
        {"linkedid": "other", "district": "city"},
    ],
    "districts": [{"id": "city"}, {"id": "xihu"}],
    "alerts": [
        {"kind": "abandonment", "district": "xihu"},
        {"kind": "long wait", "district": "city", "linkedid": "overflow"},
        {"kind": "long wait", "district": "city", "linkedid": "other"},
        {"kind": "abandonment spike"},  # the city's own figure: no district
    ],
    "stamp": 7,
}


def test_a_district_supervisors_board_keeps_what_touches_their_district() -> None:
    seen = board_view(BOARD, XIHU)
    assert seen == {
        "calls": [
            {"linkedid": "own", "district": "xihu", "agent_office": "city"},
            {"linkedid": "overflow", "district": "city", "agent_office": "xihu"},
        ],
        "agents": [{"id": "2001", "office": "xihu"}],
        "queue": [
            {"linkedid": "waiting", "district": "xihu"},
            {"linkedid": "overflow", "district": "city"},
        ],
        "districts": [{"id": "xihu"}],
        "alerts": [
            {"kind": "abandonment", "district": "xihu"},
            {"kind": "long wait", "district": "city", "linkedid": "overflow"},
        ],
        "stamp": 7,  # what the scope says nothing about passes unchanged
    }


def test_the_citys_board_is_the_whole_picture() -> None:
    assert board_view(BOARD, CITY) == BOARD


def test_a_board_with_missing_or_odd_lists_shows_nothing_of_them() -> None:
    odd = {"calls": None, "agents": "x", "queue": [{"linkedid": 1, "district": 5}]}
    assert board_view(odd, XIHU) == {
        "calls": [],
        "agents": [],
        "queue": [],
        "districts": [],
        "alerts": [],
    }
