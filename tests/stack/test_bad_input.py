"""A hostile caller on the real stack: a SIPp INVITE whose From display name and user carry
quotes, `${...}`, `$(...)`, backticks, `;`, `&`, `'` and Chinese, and who mashes 60 keys.

What must hold: the call is handled and ends at a person; the caller ID is stored verbatim
(as Asterisk reported it: nothing evaluated, nothing stripped by hotline); nothing it names
is executed (a marker file never appears); the dialplan ran only hotline's own applications;
the controller sent no broken AGI command and crashed nowhere. One call, 50-75 s.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from hotline.sandbox import sipp
from hotline.sandbox.settings import load_sandbox_settings
from hotline.store.models import Call
from tests.stack.conftest import (
    SIP_PORT,
    ControllerProcess,
    Stack,
    agent_phone,
    wait_for,
)

# the apps hotline's dialplan runs for an inbound call (hotline/pbx/dialplan.py), and Asterisk's own
EXPECTED_APPS = {"Answer", "MixMonitor", "AGI", "GotoIf", "Hangup", "Dial", "Set", "Return"}
FLOOD = "123456789*#9*8#7123#*#*#456789*#1#2#3#4#5#6#7#8#9#*1*2*3*4*5*6"  # 60 keys, no 0


def hostile_scenario(work: Path, user: str, display: str) -> str:
    """The shipped caller scenario with the From and Contact headers replaced."""
    scenario = sipp.caller_scenario(
        sipp.party_audio(work, sipp.CALLER_HZ), "13900000001", script=[(2500, FLOOD)]
    )
    benign = '"13900000001" <sip:13900000001@[local_ip]:[local_port]>'
    assert scenario.count(benign) == 2  # INVITE and ACK
    scenario = scenario.replace(benign, f'"{display}" <sip:{user}@[local_ip]:[local_port]>')
    contact = "<sip:13900000001@[local_ip]:[local_port]>"
    return scenario.replace(contact, "<sip:caller@[local_ip]:[local_port]>")


def test_a_hostile_caller_id_mashing_60_keys_is_handled_stored_verbatim_and_runs_nothing(
    stack: Stack, controller: ControllerProcess
) -> None:
    marker = Path(f"/tmp/hl-pwn-{uuid.uuid4().hex[:6]}")
    inside = load_sandbox_settings(stack.settings.file).rootfs / str(marker).lstrip("/")
    # SIP allows ' $ ( ) & ; = + , in a URI's user part, and anything but a bare " or \ in
    # a quoted display name (\" is a quote); SIPp's own [keywords] must be avoided
    user = "13900000001'$(id)&x=1,2+3$"
    display = f'张三 A\\"b;c${{X}}$(touch {marker})`touch {marker}`|&'
    mark = stack.log_mark()
    work = stack.folder / "hostile-caller"
    # the flood takes about 36 s (60 keys, 0.55 s each, from 2.5 s after the answer); the
    # agent talks longer, so the caller's keys are all sent before anyone hangs up
    with agent_phone(stack, "hostile-agent", talk_ms=36_000):
        caller = sipp.start_caller(
            work, "caller", hostile_scenario(work, user, display), SIP_PORT, timeout_s=150
        )
        try:
            code = caller.process.wait(160)
        finally:
            caller.stop()
        assert code == 0, caller.log.read_text(errors="replace")[-3000:]

    # the call row: the caller ID stored as sent. (Asterisk keeps the display name's \" as
    # it came, and C-escapes names over AMI; the AMI adapter undoes that.)
    def hostile_call() -> list[Call]:
        return [
            c
            for c in stack._query(lambda s: list(s.query(Call).all()))
            if marker.name in c.caller_name and c.ended_at
        ]

    wait_for(hostile_call, 20, "the hostile call to be stored as ended")
    (call,) = hostile_call()
    assert call.caller_number == user
    assert call.caller_name == display
    assert call.outcome == "answered"  # a person took the call after the flood

    # the flood ended at a person within the guards
    path = stack.ivr_path(call.linkedid)
    assert path[-1][1] == "answered", path
    assert len(path) <= 2 * 80 + 20, len(path)
    (again,) = stack.calls_from(call.caller_number)  # found by its number, as stored
    assert [leg.dial_status for leg in again.legs][-1:] == ["ANSWER"]

    # nothing executed, nothing injected
    assert not marker.exists() and not inside.exists()
    log = stack.asterisk_log()[mark:]
    ran = set(re.findall(r"Executing \[[^\]]*\] (\w+)\(", log))
    assert ran and ran <= EXPECTED_APPS, ran
    for line in log.splitlines():
        if "Executing [" in line:
            assert "touch" not in line and "${X}" not in line, line
    assert "AGI Tx >> 510" not in log and "AGI Tx >> 520" not in log
    text = controller.text()
    assert "agi.crashed" not in text and "Traceback" not in text
