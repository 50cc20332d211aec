"""The capacity benchmark's own parts (bench/capacity.py, twin.py, rtpwatch.py): the twin
walks the same prompts as the flow, prompts are recognised by their first packet, and the
latencies come out of a scripted packet trace as worked out by hand."""

from __future__ import annotations

import re
from pathlib import Path

from bench.capacity import (
    Step,
    controller_configs,
    headline,
    lin2ulaw,
    percentile,
    read_traces,
    scale_out_ratios,
    summarise,
    whole_count,
    write_configs,
)
from bench.rtpwatch import index_fingerprints, matching_prompt
from bench.twin import TWIN_NUMBER, render_twin
from hotline.settings import load_settings
from ivr.flow import load_flow
from tests.conftest import REPO


def _contexts(dialplan: str) -> dict[str, dict[str, list[str]]]:
    """context -> extension -> its applications in order."""
    out: dict[str, dict[str, list[str]]] = {}
    context, exten = "", ""
    for line in dialplan.splitlines():
        if m := re.fullmatch(r"\[(.+)\]", line.strip()):
            context = m.group(1)
            out[context] = {}
        elif m := re.fullmatch(r"exten => ([^,]+),1,(.*)", line.strip()):
            exten = m.group(1)
            out[context][exten] = [m.group(2)]
        elif m := re.fullmatch(r"same => n,(.*)", line.strip()):
            out[context][exten].append(m.group(1))
    return out


def _walk(dialplan: str, keys: dict[str, str]) -> list[str]:
    """What a caller meets from the twin's number: `keys` maps a prompt to the key pressed
    while it plays (none: the caller stays silent)."""
    contexts = _contexts(dialplan)
    met: list[str] = []
    apps = contexts["hotline-inbound"][TWIN_NUMBER]
    context = "hotline-inbound"
    for _ in range(50):
        for app in apps:
            name, _, arg = app.partition("(")
            arg = arg.removesuffix(")")
            if name in ("Background", "Playback"):
                prompt = arg.rsplit("/", 1)[1]
                met.append(prompt)
                if name == "Background" and prompt in keys:
                    apps = contexts[context][keys[prompt]]
                    break
            elif name == "WaitExten":
                apps = contexts[context]["t"]
                break
            elif name == "Goto":
                context = arg.split(",")[0]
                apps = contexts[context]["s"]
                break
            elif name in ("Dial", "MixMonitor"):
                met.append(f"{name}:{arg.split(',')[0].split('/')[-1] if name == 'Dial' else ''}")
            elif name == "Hangup":
                return met
        else:
            return met
    raise AssertionError(f"the walk did not end: {met}")


def test_the_twin_plays_the_flows_walk_with_the_same_keys() -> None:
    flow = load_flow(REPO / "dialplans" / "flows" / "12333.yaml")
    dialplan = render_twin(
        flow, "/p", "MixMonitor(rec.wav)", "agent1001", "hotline-inbound", "zh-CN"
    )
    walk = _walk(dialplan, {"main_menu": "2", "policy_menu": "1", "policy_social_insurance": "0"})
    assert walk == [
        "MixMonitor:",  # recorded from answer, before the greeting
        "welcome_lang",  # silence: the greeting's 1 s menu times out to the notice
        "recording_notice",
        "main_menu",
        "policy_menu",
        "policy_social_insurance",
        "transfer_hold",
        "Dial:agent1001",
    ]
    # 8 in the greeting switches the prompts to English for the rest of the walk
    english = _contexts(dialplan)["twin-english"]["s"]
    assert english[0] == "Set(TWIN_LANG=en)"
    assert "Background(/p/${TWIN_LANG}/main_menu)" in dialplan


def test_a_prompt_is_known_by_its_first_packet_within_a_code() -> None:
    frame = bytes(lin2ulaw(v) for v in [0, 300, -300, 1200, -5000, 9000] * 26 + [0] * 4)
    index = index_fingerprints({"welcome_lang": frame})
    # Asterisk's encoder puts a few samples one code off: still the prompt
    nudged = bytearray(frame)
    for i in (0, 7, 50, 120):
        nudged[i] = (nudged[i] + 1) & 0xFF
    assert matching_prompt(index, bytes(nudged)) == "welcome_lang"
    # another sound starting alike is not
    other = frame[:4] + bytes((b + 5) & 0xFF for b in frame[4:])
    assert matching_prompt(index, other) is None
    assert matching_prompt(index, b"\xff" * 160) is None
    # prompts that begin with the same words come as one name
    alike = index_fingerprints({"policy_menu": frame, "policy_social_insurance": frame})
    assert matching_prompt(alike, frame) == "policy_menu|policy_social_insurance"


def test_lin2ulaw_is_g711() -> None:
    # G.711 u-law: 0 -> 0xFF, the largest positive -> 0x80, the largest negative -> 0x00
    assert [lin2ulaw(v) for v in (0, 32767, -32768)] == [0xFF, 0x80, 0x00]
    assert lin2ulaw(1000) == 0xCE  # (1000 + 132) = 0b100_0110_1100: segment 3, mantissa 1


def test_latencies_from_a_scripted_trace(tmp_path: Path) -> None:
    events = tmp_path / "events.txt"
    events.write_text(
        "answer 99.000 20000 0-old@caller\n"  # before the step: not counted
        "answer 100.000 20002 1-x@caller\n"
        "prompt 100.120 20002 welcome_lang\n"
        "answer 101.000 20004 2-x@caller\n"
        "prompt 101.250 20004 welcome_lang\n"
        "prompt 109.300 20002 recording_notice\n"
        "key 116.500 20002 2\n"
        "prompt 116.540 20002 policy_menu\n"
        "key 119.600 20002 1\n"
        "prompt 119.700 20002 policy_social_insurance\n"
        "key 117.000 20004 2\n"
        "prompt 117.060 20004 main_menu\n"  # the wrong prompt after 2
        "prompt 20.0 20000 welcome_lang\n"
    )
    traces = read_traces(events, 100.0, 200.0)
    assert [t.answered for t in traces] == [100.0, 101.0]
    step = summarise("fastagi", 1.0, 2, (2, 0), traces)
    # greetings 120 and 250 ms; p50 and p99 of two values are the larger (nearest rank up)
    assert step["greetings_heard"] == 2
    assert step["greeting_ms_p50"] == step["greeting_ms_p99"] == 250.0
    # reactions 40 and 100 ms (the third key met the wrong prompt)
    assert step["reactions"] == 2
    assert round(step["reaction_ms_p50"], 3) == 100.0  # type: ignore[arg-type]
    assert step["wrong_prompts"] == 1
    assert step["held"] is True
    slow = summarise("fastagi", 1.0, 3, (2, 1), traces)
    assert slow["held"] is False  # a failed call, and a call whose greeting was not heard


def test_percentile_is_nearest_rank_up() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([], 0.5) is None


def test_two_controllers_get_a_port_and_a_log_each_and_share_the_database(
    tmp_path: Path,
) -> None:
    base, _classic = write_configs(tmp_path)
    url = "postgresql+psycopg://hotline:secret@127.0.0.1:16432/capacity_c2"
    first, second = (load_settings(p) for p in controller_configs(base, 2, url))
    assert (first.agi.port, second.agi.port) == (16573, 16574)
    assert first.database_url == second.database_url == url
    assert first.log_file != second.log_file
    # the dialplan (loaded from the first) takes both in turn, the first first
    assert (first.dialplan.agi_host, first.dialplan.agi_port) == ("127.0.0.1", 16573)
    assert first.dialplan.agi_more == (("127.0.0.1", 16574),)
    (alone,) = (load_settings(p) for p in controller_configs(base, 1, url))
    assert alone.dialplan.agi_more == () and alone.agi.port == 16573


def _step(controllers: int, rate: float, own_ms: float, children_ms: float) -> Step:
    return Step(
        variant="fastagi", rate=rate, calls=10, completed=10, failed=0, greetings_heard=10,
        greeting_ms_p50=40.0, greeting_ms_p99=90.0, reactions=30, reaction_ms_p50=2.0,
        reaction_ms_p99=20.0, wrong_prompts=0, asterisk_cpu_ms_per_call=350.0,
        asterisk_children_cpu_ms_per_call=0.0, controller_cpu_ms_per_call=own_ms,
        controller_children_cpu_ms_per_call=children_ms, asterisk_rss_mb=120.0,
        controller_rss_mb=90.0, started=0.0, seconds=40.0, controllers=controllers,
        calls_per_controller=[10] if controllers == 1 else [5, 5], backlog=[], held=True,
    )  # fmt: skip


def test_the_scale_out_ratio_is_two_controllers_cpu_per_call_over_one_at_the_same_rate() -> None:
    steps = [
        _step(1, 1.0, own_ms=60.0, children_ms=300.0),
        _step(1, 2.0, own_ms=50.0, children_ms=250.0),
        _step(2, 1.0, own_ms=66.0, children_ms=294.0),
        _step(2, 2.0, own_ms=75.0, children_ms=225.0),
        _step(2, 3.0, own_ms=80.0, children_ms=200.0),  # no one-controller step at 3: left out
    ]
    # by hand: 66/60 = 1.1 and (66+294)/(60+300) = 360/360 = 1.0;
    # 75/50 = 1.5 and (75+225)/(50+250) = 300/300 = 1.0
    assert scale_out_ratios(steps) == {
        "2/1": {"1": {"own": 1.1, "with_children": 1.0}, "2": {"own": 1.5, "with_children": 1.0}}
    }
    assert headline(steps, ["fastagi"])["held_rate"] == {"fastagi": 2.0, "fastagix2": 3.0}


def test_a_counts_cpu_per_call_takes_in_its_drain_only_once_the_backlog_is_gone() -> None:
    steps = [_step(1, 1.0, own_ms=100.0, children_ms=600.0), _step(1, 2.0, 100.0, 300.0)]
    steps[0].calls, steps[1].calls = 25, 50
    drained: dict[str, object] = {
        "samples": [(0.0, 31), (5.0, 12), (10.0, 0)],
        "controller_cpu_s": 1.5,
        "controller_children_cpu_s": 9.0,
    }
    # by hand: own (25 x 100 + 50 x 100 + 1500) / 75 = 9000 / 75 = 120;
    # children (25 x 600 + 50 x 300 + 9000) / 75 = 39000 / 75 = 520
    assert whole_count(steps, drained) == {
        "calls": 75,
        "controller_cpu_ms_per_call": 120.0,
        "controller_children_cpu_ms_per_call": 520.0,
    }
    # recordings still waiting when the drain ended: their archive CPU is not all in
    assert whole_count(steps, {**drained, "samples": [(0.0, 31), (5.0, 12)]}) is None
