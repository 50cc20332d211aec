"""Where a call's recording lives. One rule, used by the dialplan and by the controller.

The name comes from Asterisk's linkedid only: caller-controlled values (caller ID, dialled
digits, SIP headers) never reach a file name.

Files of one call, in the recordings folder::

    <linkedid>.wav          the whole call, both directions mixed (from answer, IVR included)
    <linkedid>-caller.wav   what the caller said (MixMonitor's per-leg receive/transmit file)
    <linkedid>-agent.wav    what the caller heard: the IVR, the agent, hold
    archive/<linkedid>.<ext>          the compact archive copy (mp3 or opus)
    archive/<linkedid>-caller.<ext>   ... per party
    playback/<linkedid>.<ext>         loudness-normalised, for listening
"""

from __future__ import annotations

import re

# What the generated dialplan hands to MixMonitor (Asterisk expands it per call).
LINKEDID_EXPRESSION = "${CHANNEL(linkedid)}"
DIALPLAN_FILE_EXPRESSION = f"{LINKEDID_EXPRESSION}.wav"
PARTIES = ("caller", "agent")
ARCHIVE_FOLDER = "archive"
PLAYBACK_FOLDER = "playback"
# starts with a letter or digit: never a hidden file, never read as a command-line option
_LINKEDID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}\Z")
_FILE = re.compile(
    r"^(?P<linkedid>[0-9A-Za-z][0-9A-Za-z._-]{0,63}?)(?:-(?P<party>caller|agent))?\.wav\Z"
)


def _checked(linkedid: str) -> str:
    if not _LINKEDID.match(linkedid) or linkedid.startswith("."):
        raise ValueError(f"not an Asterisk linkedid: {linkedid!r}")
    return linkedid


def file_name(linkedid: str) -> str:
    return f"{_checked(linkedid)}.wav"


def party_file_name(linkedid: str, party: str) -> str:
    if party not in PARTIES:
        raise ValueError(f"not a party: {party!r}")
    return f"{_checked(linkedid)}-{party}.wav"


def archive_name(linkedid: str, ext: str, party: str | None = None) -> str:
    """Relative to the recordings folder, e.g. 'archive/1700000000.12.mp3'."""
    stem = _checked(linkedid) if party is None else party_file_name(linkedid, party)[:-4]
    return f"{ARCHIVE_FOLDER}/{stem}.{_ext(ext)}"


def playback_name(linkedid: str, ext: str) -> str:
    return f"{PLAYBACK_FOLDER}/{_checked(linkedid)}.{_ext(ext)}"


def _ext(ext: str) -> str:
    if ext not in ("mp3", "opus", "ogg", "wav"):
        raise ValueError(f"not an archive extension: {ext!r}")
    return ext


def parse_file_name(name: str) -> tuple[str, str | None] | None:
    """'1700000000.12-caller.wav' -> ('1700000000.12', 'caller'); None for anything else
    (voice messages, stray files: the catalogue ignores them)."""
    m = _FILE.match(name)
    if m is None or name.startswith((".", "msg-")):
        return None
    return m["linkedid"], m["party"]


def mixmonitor_application(
    directory: str, *, caller_side: bool = True, append: bool = False
) -> str:
    """The dialplan application that records a call: one mixed file and one per party.

    MixMonitor's r() file holds what the channel it runs on sent (received by Asterisk), t()
    what it was sent. On the caller's channel (caller_side) r() is the caller; on an agent's
    channel (a callback, originated to the agent first) it is the agent. `append` (MixMonitor's
    a option) goes on with the call's three files instead of starting them again: the
    recording restarted for the rest of a call (after a blind transfer) stays one call's."""
    folder = directory.rstrip("/")
    received, sent = ("caller", "agent") if caller_side else ("agent", "caller")
    mixed = f"{folder}/{DIALPLAN_FILE_EXPRESSION}"
    r_file = f"{folder}/{LINKEDID_EXPRESSION}-{received}.wav"
    t_file = f"{folder}/{LINKEDID_EXPRESSION}-{sent}.wav"
    options = ("a" if append else "") + f"r({r_file})t({t_file})"
    return f"MixMonitor({mixed},{options})"


def message_name(linkedid: str, n: int) -> str:
    """A voice message left in the IVR (without extension: Asterisk's RECORD FILE adds it)."""
    return f"msg-{_checked(linkedid)}-{int(n)}"
