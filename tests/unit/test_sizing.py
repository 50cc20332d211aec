"""bench/sizing.py: boxes and controllers for a busy hour, every figure worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.sizing import Assumptions, Measured, SizingError, main, measured_from, size

# 20 s walks: Asterisk 400 ms (20 ms per call-second), controller 50 ms, archive 200 ms (10 ms
# per recorded second)
MEASURED = Measured(
    rate=2.0,
    walk_seconds=20.0,
    asterisk_ms_per_call=400.0,
    controller_ms_per_call=50.0,
    archive_ms_per_call=200.0,
)
# 36,000 calls a day, 10 % in the busy hour: 3,600 in that hour, 1 call/s; a box's budget is
# 8 cores x 0.5 = 4 cores
SMALL = Assumptions(
    calls_per_day=36_000,
    busy_hour_share=0.1,
    ivr_seconds=50,
    agent_share=0.5,
    handle_seconds=200,
    agent_leg_factor=2,
    cores_per_box=8,
    headroom=0.5,
)


def test_a_small_hotline_by_hand() -> None:
    s = size(MEASURED, SMALL)
    assert s.arrival_per_second == pytest.approx(1.0)
    assert s.ivr_erlangs == pytest.approx(50.0)  # 1 x 50
    assert s.agent_erlangs == pytest.approx(100.0)  # 1 x 0.5 x 200
    assert s.asterisk_ms_per_call_second == pytest.approx(20.0)  # 400 / 20
    assert s.asterisk_cores == pytest.approx(5.0)  # (50 + 100 x 2) x 20 / 1000
    assert s.asterisk_boxes == 2  # ceil(5 / 4)
    assert s.controller_cores == pytest.approx(0.05)  # 1 x 50 / 1000
    assert s.controllers == 2  # max(2, ceil(0.05 / 0.5) = 1): two so one survives
    assert s.archive_ms_per_recorded_second == pytest.approx(10.0)  # 200 / 20
    assert s.recorded_seconds_per_second == pytest.approx(150.0)  # 50 + 100
    assert s.archive_cores == pytest.approx(1.5)  # 150 x 10 / 1000
    assert s.archive_boxes == 1  # ceil(1.5 / 4)


def test_twenty_times_the_calls_needs_more_controllers_than_the_pair() -> None:
    big = Assumptions(**{**SMALL.__dict__, "calls_per_day": 720_000})  # 20 calls/s
    heavier = Measured(**{**MEASURED.__dict__, "controller_ms_per_call": 100.0})
    s = size(heavier, big)
    assert s.arrival_per_second == pytest.approx(20.0)  # 720,000 x 0.1 / 3600
    assert s.asterisk_cores == pytest.approx(100.0)  # (1000 + 2000 x 2) x 20 / 1000
    assert s.asterisk_boxes == 25  # 100 / 4
    assert s.controller_cores == pytest.approx(2.0)  # 20 x 100 / 1000
    assert s.controllers == 4  # ceil(2 / 0.5): one core per process, half of it used
    assert s.archive_cores == pytest.approx(30.0)  # 3000 recorded s/s x 10 / 1000
    assert s.archive_boxes == 8  # ceil(30 / 4)


def _step(rate: float, controllers: int, held: bool, asterisk: float) -> dict[str, object]:
    return {
        "variant": "fastagi",
        "rate": rate,
        "controllers": controllers,
        "held": held,
        "asterisk_cpu_ms_per_call": asterisk,
        "asterisk_children_cpu_ms_per_call": 10.0,
        "controller_cpu_ms_per_call": 60.0,
        "controller_children_cpu_ms_per_call": 250.0,
    }


RESULT: dict[str, Any] = {
    "walk": {"keys": [[16000, "2"], [3000, "1"], [3000, "0"]]},
    "steps": [
        _step(1.0, 1, True, 320.0),
        _step(2.0, 1, True, 300.0),
        _step(3.0, 1, False, 900.0),  # did not hold: not the default
        _step(2.0, 2, True, 500.0),  # two controllers: never the measured side
        {**_step(2.0, 1, True, 111.0), "variant": "twin"},
    ],
}


def test_the_measured_side_is_the_highest_held_fastagi_step_with_one_controller() -> None:
    m = measured_from(RESULT, None)
    assert m.rate == 2.0
    assert m.asterisk_ms_per_call == 310.0  # 300 + its 10 ms of children
    assert (m.controller_ms_per_call, m.archive_ms_per_call) == (60.0, 250.0)
    # 16 + 3 + 3 s of keys from answer, the agent answers after 0.5 s and talks 2 s
    assert m.walk_seconds == pytest.approx(24.5)
    assert measured_from(RESULT, 1.0).asterisk_ms_per_call == 330.0
    with pytest.raises(SizingError, match=r"at 5 calls/s \(the run has: 1, 2, 3\)"):
        measured_from(RESULT, 5.0)
    with pytest.raises(SizingError, match="no FastAGI step with one controller held"):
        measured_from({**RESULT, "steps": RESULT["steps"][2:3]}, None)


def test_the_cli_prints_the_arithmetic_and_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tmp_path / "capacity.json"
    result.write_text(json.dumps(RESULT))
    assert main([str(result), "--calls-per-day", "36000", "--busy-hour-share", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "λ = 36000 × 0.1 / 3600 = 1.000 calls/s" in out
    # defaults: IVR 60, 60 % to an agent for 240 s: 60 + 144 x 2 = 348 call-seconds' worth
    # at 310 / 24.5 = 12.65 ms each: 4.40 cores, ceil(4.40 / 4) = 2 boxes
    assert "= 4.40;  boxes = ceil(4.40 / 4) = 2" in out
    assert main([str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.json" in err and "Traceback" not in err
    result.write_text(json.dumps({"walk": RESULT["walk"], "steps": [{"variant": "fastagi"}]}))
    assert main([str(result), "--rate", "2"]) == 1
    assert "not a capacity result" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "capacity.json"), "--agent-share", "1.5"])
