"""Room for real calls: 100 real SIP callers (SIPp, real RTP) on the line at the same moment
are all answered by the sandbox Asterisk and hear the greeting through hotline. Each caller and
each agent's leg holds an RTP port pair, so the sandbox's rtp.conf is sized from
`[sandbox] max_channels` (default 300); with the former fixed 100 ports, half of 100 callers
were refused with 488 "couldn't allocate a port for RTP instance"."""

from __future__ import annotations

from hotline.sandbox import sipp
from tests.stack.conftest import SIP_PORT, ControllerProcess, Stack, wait_for

CALLERS = 100
CALLER = "13700000100"
ON_THE_LINE_MS = 30_000  # each caller stays this long: all 100 are up at once (10 s ramp)


def test_a_hundred_real_sip_callers_at_once_are_all_answered_and_hear_the_greeting(
    stack: Stack, controller: ControllerProcess
) -> None:
    mark = stack.log_mark()
    work = stack.folder / "hundred-callers"
    scenario = sipp.caller_scenario(
        sipp.party_audio(work, sipp.CALLER_HZ), CALLER, hangup_after_ms=ON_THE_LINE_MS
    )
    party = sipp.start_caller(
        work, "callers", scenario, SIP_PORT, timeout_s=120, calls=CALLERS, rate=10
    )
    try:
        code = party.process.wait(150)
    finally:
        party.stop()
    # SIPp exits 0 only when every one of its calls was answered and ended as scripted
    assert code == 0, party.log.read_text(errors="replace")[-3000:]
    wait_for(
        lambda: len([c for c in stack.calls_from(CALLER) if c.ended_at]) == CALLERS,
        60,
        f"{CALLERS} calls stored as ended",
    )
    calls = stack.calls_from(CALLER)
    assert len(calls) == CALLERS
    # all on the line together: the last to arrive came before the first to leave
    assert max(c.started_at for c in calls) < min(c.ended_at for c in calls if c.ended_at)
    # and each heard the greeting, as Asterisk's own log says
    unheard = [c.linkedid for c in calls if "welcome_lang" not in stack.played(c, mark)]
    assert unheard == []
