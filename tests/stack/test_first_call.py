"""The first call end to end on the real stack, and the dialplan's safety net."""

from __future__ import annotations

import wave

from hotline.sandbox import sipp
from tests.conftest import run_hotline, write_config
from tests.stack.conftest import (
    AGENT_PORTS,
    SIP_PORT,
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
)
from tests.stack.test_recordings import probe


def test_caller_presses_0_reaches_the_agent_and_the_call_is_stored_and_recorded(
    stack: Stack, controller: ControllerProcess
) -> None:
    with agent_phone(stack, "first-call-agent", talk_ms=4000):
        # 0 during the greeting: a person at once (RFC 2833 DTMF from SIPp)
        place_call(stack, "first-call", "13800138000", script=[(3000, "0")])
        call = stack.ended_call("13800138000")

    # the digit reached the controller, which dialled the post's A agent
    assert stack.ivr_path(call.linkedid) == [
        ("no_topic_yet", "set"),  # business "other" until the caller picks a topic
        ("welcome", "digit:0"),
        ("agent_hours", "open"),
        ("to_agent", "answered"),
    ]
    assert "endpoint=agent1001" in controller.text()

    assert call.did == "12333"
    assert call.outcome == "answered"
    assert call.answered_at is not None and call.ended_at is not None
    assert call.started_at <= call.answered_at < call.ended_at
    (leg,) = call.legs
    assert (leg.endpoint, leg.agent_id, leg.dial_status) == ("agent1001", "1001", "ANSWER")
    assert leg.answered_at is not None and leg.ended_at is not None
    talk = (leg.ended_at - leg.answered_at).total_seconds()
    assert 3.5 <= talk <= 6.0  # the agent talked 4 s, then hung up

    assert call.recording == f"{call.linkedid}.wav"
    wav = stack.settings.recordings.directory / call.recording
    # read with the standard library and ffprobe, not the product's wav_info: the header is
    # complete when the frames it declares fill the file after its 44 bytes
    with wave.open(str(wav), "rb") as w:
        declared = w.getnframes() * w.getsampwidth() * w.getnchannels()
    assert wav.stat().st_size > 44 and declared == wav.stat().st_size - 44
    call_seconds = (call.ended_at - call.answered_at).total_seconds()
    seconds = probe(wav)
    assert abs(seconds - call_seconds) <= 1.0, (seconds, call_seconds)


def test_controller_down_the_call_still_reaches_a_person_through_the_fallback_queue(
    stack: Stack,
) -> None:
    work = stack.folder / "fallback"
    # one answered call, then this phone's SIPp exits 0: proof a person picked up
    agent = sipp.start_agent(
        work,
        "agent1001",
        AGENT_PORTS[0],
        sipp.agent_scenario(sipp.party_audio(work, sipp.AGENT_HZ), talk_ms=2000),
        max_calls=1,
    )
    try:
        caller = sipp.start_caller(
            work,
            "caller",
            sipp.caller_scenario(sipp.party_audio(work, sipp.CALLER_HZ), "13800138001"),
            SIP_PORT,
        )
        assert caller.process.wait(60) == 0, caller.log.read_text()
        assert agent.process.wait(10) == 0, agent.log.read_text()
    finally:
        agent.stop()
    assert (
        "controller did not handle the call (AGISTATUS=FAILURE): fallback queue"
        in stack.asterisk_log()
    )


def test_wrong_ami_secret_is_one_line_and_a_non_zero_exit(stack: Stack) -> None:
    config = write_config(
        stack.folder / "wrong-secret",
        ami_port=stack.settings.ami.port,
        agi_port=14599,
        name="pytest",
        secret="not-the-secret",
    )
    result = run_hotline(config, "serve", timeout=30)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "hotline: error" in line]
    assert errors == [
        f"hotline: error: AMI login refused for user 'hotline' at 127.0.0.1:"
        f"{stack.settings.ami.port}: check [ami] username and secret against "
        "Asterisk's manager.conf"
    ]
    assert "Traceback" not in result.stderr and "not-the-secret" not in result.stderr


def test_unreachable_asterisk_is_one_line_and_a_non_zero_exit(stack: Stack) -> None:
    config = write_config(stack.folder / "no-asterisk", ami_port=1, agi_port=14598, name="pytest")
    result = run_hotline(config, "serve", timeout=30)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "hotline: error: cannot reach Asterisk AMI at 127.0.0.1:1: Connection refused"
    )
