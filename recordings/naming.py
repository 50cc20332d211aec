"""Where a call's recording lives. One rule, used by the dialplan and by the controller.

The name comes from Asterisk's linkedid only: caller-controlled values (caller ID, dialled
digits, SIP headers) never reach a file name.
"""

from __future__ import annotations

import re

# What the generated dialplan hands to MixMonitor (Asterisk expands it per call).
DIALPLAN_FILE_EXPRESSION = "${CHANNEL(linkedid)}.wav"
_LINKEDID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")


def file_name(linkedid: str) -> str:
    if not _LINKEDID.match(linkedid) or linkedid.startswith("."):
        raise ValueError(f"not an Asterisk linkedid: {linkedid!r}")
    return f"{linkedid}.wav"
