"""Scores (issue 16 item 4, issue 15 item 8): a score names a call that exists and an agent who
answered it, within the scorer's scope; one first score per call per scorer and "amend once"
are kept by the database (the racing scenarios also run on PostgreSQL from
tests/stack/test_scale_out.py); the monthly roll-up per agent, worked out by hand, on the page
and from `hotline report scores`."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hotline.settings import load_directory, load_settings
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call, Leg, Score
from hotline.supervisor.scope import CITY
from hotline.supervisor.score_report import ScoredCall, parse_month, roll_up
from hotline.supervisor.scoring import ScoreError
from hotline.supervisor.web import Supervision, _save_score
from tests.conftest import REPO, hotline_in_process, write_config
from tests.unit.test_scale_out import disposing, sessions_for
from tests.unit.test_supervisor_auth import FakeAmi, log_in, run, store_answered_call

DIRECTORY = load_directory(REPO / "config" / "seats.toml")
GOOD = {i: "good" for i in ("accuracy", "completeness", "relevance", "tone", "intonation", "rate")}


def test_a_score_names_a_real_call_its_answering_agent_and_stays_in_scope(
    tmp_path: Path,
) -> None:
    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        store_answered_call(sup, "C1", "1001", "13912345678")  # a city call, 1001 answered
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "xihu")
            headers = {"X-CSRF-Token": csrf}
            for call, agent, status, says in [
                ("made-up", "1001", 409, "no call 'made-up'"),
                ("C1", "1002", 409, "did not answer"),
                ("C1", "1001", 403, "not in your district"),
            ]:
                body = {"linkedid": call, "agent_id": agent, "bands": GOOD}
                async with http.post(base + "/api/scores", json=body, headers=headers) as r:
                    assert r.status == status and says in (await r.json())["error"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "city")
            headers = {"X-CSRF-Token": csrf}
            body = {"linkedid": "C1", "agent_id": "1001", "bands": GOOD}
            async with http.post(base + "/api/scores", json=body, headers=headers) as r:
                city_score = (await r.json())["id"]
            async with http.post(base + "/api/scores", json=body, headers=headers) as r:
                assert r.status == 409 and "amend that score" in (await r.json())["error"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await log_in(http, base, "xihu")
            zero = {**body, "bands": {i: "fail" for i in GOOD}, "amends": city_score}
            async with http.post(
                base + "/api/scores", json=zero, headers={"X-CSRF-Token": csrf}
            ) as r:
                assert r.status == 403  # Xihu cannot amend the city's score to 0
        with sup.sessions() as s:
            assert [(r.scorer, r.amends) for r in s.scalars(select(Score))] == [("city", None)]

    run(tmp_path, body)


def _seed(url: str) -> int:
    sessions = sessions_for(url)
    with sessions() as s, s.begin():
        s.add(Call(linkedid="R1", caller_number="1", started_at=datetime.now(UTC)))
        s.add(
            Leg(
                uniqueid="R1-a",
                linkedid="R1",
                channel="PJSIP/agent1001-00000001",
                endpoint="agent1001",
                agent_id="1001",
                ring_at=datetime.now(UTC),
                answered_at=datetime.now(UTC),
            )
        )
        first = _score("R1", "ann", None)
        s.add(first)
        s.flush()
        return first.id


def _score(linkedid: str, scorer: str, amends: int | None) -> Score:
    return Score(
        linkedid=linkedid,
        agent_id="1001",
        scorer=scorer,
        sheet="s@1",
        items="{}",
        total=50.0,
        created_at=datetime.now(UTC),
        amends=amends,
    )


def _race(url: str, rows: list[Score]) -> list[str]:
    """Each row saved by its own thread and connection, started together."""
    gate = threading.Barrier(len(rows))
    results: list[str] = []

    def save(row: Score) -> None:
        sessions = sessions_for(url)
        gate.wait()
        try:
            _save_score(sessions, DIRECTORY, row, CITY)
            results.append("saved")
        except ScoreError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=save, args=(row,)) for row in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


@disposing
def two_racing_amendments_cannot_both_land(url: str) -> None:
    first = _seed(url)
    results = _race(url, [_score("R1", "bob", first), _score("R1", "eve", first)])
    assert results == ["saved", f"score {first} was already amended"]
    with sessions_for(url)() as s:
        assert len(s.scalars(select(Score).where(Score.amends == first)).all()) == 1
        # and not by luck of timing: the database itself refuses a second amendment
        s.add(_score("R1", "mallory", first))
        with pytest.raises(IntegrityError):
            s.flush()


@disposing
def a_scorer_scores_a_call_first_only_once(url: str) -> None:
    _seed(url)
    results = _race(url, [_score("R1", "bob", None), _score("R1", "bob", None)])
    assert results == ["bob has scored call R1 already: amend that score", "saved"]


RACES = [two_racing_amendments_cannot_both_land, a_scorer_scores_a_call_first_only_once]


@pytest.mark.parametrize("scenario", RACES, ids=lambda f: f.__name__)
def test_races_on_sqlite(scenario: object, tmp_path: Path) -> None:
    assert callable(scenario)
    scenario(f"sqlite:///{tmp_path / 'race.db'}")


# --- the monthly roll-up -----------------------------------------------------------------------

WEIGHTS = {"accuracy": 40.0, "tone": 60.0}


def test_the_roll_up_per_agent_is_as_worked_out_by_hand() -> None:
    rows = [
        # 1001: two calls; C1 scored by two supervisors
        ScoredCall("1001", "C1", 90.0, False, {"accuracy": 36.0, "tone": 54.0}),
        ScoredCall("1001", "C1", 70.0, False, {"accuracy": 40.0, "tone": 30.0}),
        ScoredCall("1001", "C2", 0.0, True, {"accuracy": 20.0, "tone": 60.0}),
        ScoredCall("2001", "C3", 100.0, False, {"accuracy": 40.0, "tone": 60.0}),
    ]
    got = {r.agent_id: r.as_json() for r in roll_up(rows, WEIGHTS)}
    # 1001: calls {C1, C2} = 2; scores 3; average (90 + 70 + 0) / 3 = 53.33; 1 veto;
    # accuracy shares 0.9, 1.0, 0.5 -> 0.8; tone 0.9, 0.5, 1.0 -> 0.8: a tie, the first item
    assert got["1001"] == {
        "agent_id": "1001",
        "calls_scored": 2,
        "scores": 3,
        "average": 53.33,
        "vetoes": 1,
        "lowest_item": "accuracy",
        "lowest_item_share": 80.0,
    }
    assert got["2001"]["average"] == 100.0 and got["2001"]["lowest_item_share"] == 100.0
    assert roll_up([], WEIGHTS) == []
    for bad in ("2026-13", "26-01", "2026-1", "last month"):
        with pytest.raises(ValueError, match="expected YYYY-MM"):
            parse_month(bad)


def test_report_scores_counts_current_scores_of_the_months_calls(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    sessions = session_factory(open_engine(load_settings(config).database_url))
    # Asia/Shanghai: 2026-11-30 16:30 UTC is 2026-12-01 00:30 local (December); 2026-11-30
    # 15:30 UTC is 23:30 on 30 November (not December)
    december, november = (
        datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
    )
    with sessions() as s, s.begin():
        for linkedid, at in (("D1", december), ("D2", december), ("N1", november)):
            s.add(Call(linkedid=linkedid, caller_number="1", started_at=at, ended_at=at))
        points = {"accuracy": 15.0}  # the shipped sheet weighs accuracy 25

        def add(linkedid: str, total: float, vetoed: bool, amends: int | None = None) -> int:
            row = Score(
                linkedid=linkedid,
                agent_id="2001",
                scorer="ann",
                sheet="12333-qa@1",
                items=json.dumps({"points": points}),
                total=total,
                vetoed=vetoed,
                created_at=december,
                amends=amends,
            )
            s.add(row)
            s.flush()
            return row.id

        wrong = add("D1", 10.0, False)
        add("D1", 80.0, False, amends=wrong)  # the amendment replaces the 10
        add("D2", 0.0, True)
        add("N1", 99.0, False)  # November's call: not counted

    # by hand: calls D1, D2 -> 2; scores 80 and 0 -> average 40; 1 veto
    def report(*args: str) -> subprocess.CompletedProcess[str]:
        # in this process: the report's figures and words are the point, not the process
        return hotline_in_process(config, "report", "scores", *args)

    (agent,) = json.loads(report("--month", "2026-12", "--json").stdout)["agents"]
    assert (agent["agent_id"], agent["calls_scored"], agent["average"], agent["vetoes"]) == (
        "2001",
        2,
        40.0,
        1,
    )
    assert agent["lowest_item"] == "accuracy" and agent["lowest_item_share"] == 60.0  # 15 / 25
    csv_out = report("--month", "2026-12", "--csv").stdout.splitlines()
    assert csv_out[0].startswith("agent_id,calls_scored,scores,average,vetoes")
    assert csv_out[1].startswith("2001,2,2,40.0,1,accuracy,60.0")
    bad = report("--month", "12")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "YYYY-MM" in bad.stderr
    assert report("--help").returncode == 0
