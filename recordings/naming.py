"""Where a call's recording lives. One rule, used by the dialplan and by the controller.

The name comes from Asterisk's linkedid only: caller-controlled values (caller ID, dialled
digits, SIP headers) never reach a file name.
"""

from __future__ import annotations

import re

# What the generated dialplan hands to MixMonitor (Asterisk expands it per call).
DIALPLAN_FILE_EXPRESSION = "${CHANNEL(linkedid)}.wav"
_LINKEDID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")


def _checked(linkedid: str) -> str:
    if not _LINKEDID.match(linkedid) or linkedid.startswith("."):
        raise ValueError(f"not an Asterisk linkedid: {linkedid!r}")
    return linkedid


def file_name(linkedid: str) -> str:
    return f"{_checked(linkedid)}.wav"


def message_name(linkedid: str, n: int) -> str:
    """A voice message left in the IVR (without extension: Asterisk's RECORD FILE adds it)."""
    return f"msg-{_checked(linkedid)}-{int(n)}"
