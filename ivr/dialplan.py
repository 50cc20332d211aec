"""The Asterisk contexts rendered for the hotline's number.

The dialplan is the safety net: it answers, starts the full-call recording, enters the
controller over FastAGI, and if the controller did not finish the call (unreachable, crashed:
`HOTLINE_HANDLED` unset) it delivers the caller to the static fallback queue, a person.
"""

from __future__ import annotations

from recordings.naming import DIALPLAN_FILE_EXPRESSION

from .config import Settings
from .runtime import HANDLED_VARIABLE

INBOUND_CONTEXT = "hotline-inbound"
FALLBACK_QUEUE = "hotline-fallback"


def render_inbound(settings: Settings) -> str:
    dp = settings.dialplan
    record = f"{settings.recordings.asterisk_directory.rstrip('/')}/{DIALPLAN_FILE_EXPRESSION}"
    agi = f"agi://{dp.agi_host}:{dp.agi_port}/{settings.flows.entry}"
    return f"""[{INBOUND_CONTEXT}]
exten => {dp.number},1,Answer()
 same => n,MixMonitor({record})
 same => n,AGI({agi})
 same => n,GotoIf($["${{{HANDLED_VARIABLE}}}" = "1"]?handled)
 same => n,Verbose(1,hotline: controller did not handle the call \
(AGISTATUS=${{AGISTATUS}}): fallback queue)
 same => n,Queue({FALLBACK_QUEUE},,,,600)
 same => n(handled),Hangup()
"""
