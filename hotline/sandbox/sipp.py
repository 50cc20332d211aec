"""Simulated callers and agents: SIPp scenarios and how to run them.

Callers send INVITE to the hotline number from a `caller_match` address and press keys with
RFC 2833 DTMF (SIPp's own captures); agents are SIPp UAS phones on their seats' static
contacts that answer, talk (a G.711 capture) and hang up, or reply busy, or never answer.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from hotline.sandbox.asterisk_conf import INBAND_CALLER_ADDRESS as INBAND_CALLER_ADDRESS
from hotline.sandbox.tones import write_dtmf, write_tone

PCAP_DIR = Path("/usr/share/sip-tester")
_DTMF_NAMES = {"*": "star", "#": "pound"}
_ports = itertools.count(0)


class SippError(Exception):
    pass


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        raise SippError("sipp is not installed: run scripts/setup (Debian package sip-tester)")
    return found


def dtmf_pcap(key: str) -> Path:
    return PCAP_DIR / f"dtmf_2833_{_DTMF_NAMES.get(key, key)}.pcap"


def _template(name: str) -> str:
    return (
        resources.files("hotline.sandbox").joinpath("scenarios", name).read_text(encoding="utf-8")
    )


CALLER_HZ = 400.0  # each party's tone: the per-party audio can be told apart
AGENT_HZ = 1000.0


def party_audio(workdir: Path, hz: float) -> Path:
    """The looped μ-law tone a simulated party sends (written once per folder)."""
    path = workdir / f"tone-{int(hz)}hz.ulaw"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        write_tone(path, hz)
    return path


KEY_GAP_MS = 300  # between the keys of one string (each press also takes 250 ms)
INBAND_KEY_MS = 240  # an in-band key's tone and the silence after it


def caller_scenario(
    audio: Path,
    caller: str,
    keys: str = "",
    first_key_ms: int = 3000,
    gap_ms: int = 1500,
    hangup_after_ms: int | None = None,
    script: Sequence[tuple[int | str, str]] = (),
    inband: bool = False,
) -> str:
    """A caller who, after answer, presses keys and then either waits for the hotline to hang
    up or hangs up `hangup_after_ms` after the last step. `script` gives (wait, keys) steps,
    each string typed quickly (e.g. an ID number; an empty one only waits). A wait is
    milliseconds, or a cue's name: then the caller holds until it is told to go on its cue
    socket (`start_caller(cues=...)`, `CueSocket`), which a test does when it sees the named
    prompt start. Without a script, `keys` are pressed one at a time: the first after
    `first_key_ms`, the others `gap_ms` apart. `inband`: keys are sent as tones in the audio
    (call from INBAND_CALLER_ADDRESS, a `dtmf_mode = inband` endpoint)."""
    steps = list(script) or [(first_key_ms if i == 0 else gap_ms, k) for i, k in enumerate(keys)]
    presses = "\n".join(
        (
            _press_inband(key, wait if n == 0 else KEY_GAP_MS, audio.parent, audio)
            if inband
            else _press(key, wait if n == 0 else KEY_GAP_MS)
        )
        if key
        else _wait(wait)  # no keys: only the wait (e.g. hold until a prompt, then hang up)
        for wait, string in steps
        for n, key in enumerate(string or [""])
    )
    if hangup_after_ms is None:
        ending = _template("caller_wait_bye.xml.part")
    else:
        ending = f'<pause milliseconds="{hangup_after_ms}"/>\n' + _template(
            "caller_send_bye.xml.part"
        )
    return (
        _template("caller.xml")
        .replace("@PRESSES@", presses)
        .replace("@ENDING@", ending)
        .replace("@CALLER@", caller)
        .replace("@AUDIO@", str(audio))
    )


def busy_after_cues_ms(script: Sequence[tuple[int | str, str]], inband: bool = False) -> list[int]:
    """For each cued step of a `caller_scenario` script, how long the caller is busy after its
    go before it waits for the next one: its keys, then any timed steps up to the next cue. A
    go that arrives while SIPp is still pressing aborts the call, so the cue's sender waits
    this long (`PromptCues`)."""

    def keys_ms(keys: str) -> int:
        if not keys:
            return 0
        press = INBAND_KEY_MS if inband else 250
        return len(keys) * press + (len(keys) - 1) * KEY_GAP_MS

    busy: list[int] = []
    for wait, keys in script:
        if isinstance(wait, str):
            busy.append(keys_ms(keys))
        elif busy:
            busy[-1] += wait + keys_ms(keys)
    return busy


def answering_scenario(audio: Path, script: Sequence[tuple[int, str]], ring_ms: int = 500) -> str:
    """A phone that answers, presses keys per `script` ((wait ms, keys) steps, counted from
    the answer) and waits for the hotline to hang up."""
    keys = [
        (wait if n == 0 else KEY_GAP_MS, key)
        for wait, string in script
        for n, key in enumerate(string)
    ]
    # the last key ends the scenario's own steps: the hang-up it may cause can arrive at once,
    # so no pause follows it (a BYE during a pause would abort the SIPp call)
    presses = "\n".join(
        _press(key, wait, last=n == len(keys) - 1) for n, (wait, key) in enumerate(keys)
    )
    return (
        _template("phone_answer.xml")
        .replace("@RING_MS@", str(ring_ms))
        .replace("@PRESSES@", presses)
        .replace("@AUDIO@", str(audio))
    )


def _wait(wait: int | str) -> str:
    """Hold for a number of milliseconds, or until the cue socket says go (a twin command:
    SIPp's 3PCC listener; the command carries nothing but the call's id)."""
    if isinstance(wait, str):
        return f"<!-- cue: {escape(wait)} --><recvCmd/>"
    return f'<pause milliseconds="{wait}"/>'


def _press_inband(key: str, wait: int | str, workdir: Path, audio: Path) -> str:
    """A key sent as audio in the voice stream (the endpoint is `dtmf_mode = inband`): the
    stream switches to the key's tones for their length, then back to the party's tone."""
    name = {"*": "star", "#": "pound"}.get(key, key)
    tones = workdir / f"dtmf-{name}.ulaw"
    if not tones.exists():
        write_dtmf(tones, key)
    return (
        f"{_wait(wait)}\n"
        f'<nop><action><exec rtp_stream="{tones},1,0"/></action></nop>\n'
        f'<pause milliseconds="{INBAND_KEY_MS}"/>\n'
        f'<nop><action><exec rtp_stream="{audio},-1,0"/></action></nop>'
    )


def _press(key: str, wait: int | str, last: bool = False) -> str:
    # The voice stream pauses while a key's RTP events play: interleaved with another SSRC,
    # Asterisk takes each event packet of the capture for a new key press (seen: 8 for one).
    press = (
        f"{_wait(wait)}\n"
        '<nop><action><exec rtp_stream="pause"/></action></nop>\n'
        f'<nop><action><exec play_pcap_audio="{dtmf_pcap(key)}"/></action></nop>'
    )
    if last:
        return press
    return press + (
        '\n<pause milliseconds="250"/>\n<nop><action><exec rtp_stream="resume"/></action></nop>'
    )


def busy_agent_scenario() -> str:
    """A phone that answers every call with 486 Busy Here."""
    return _template("agent_busy.xml")


def unanswered_agent_scenario() -> str:
    """A phone that rings (180) and is never picked up."""
    return _template("agent_no_answer.xml")


def agent_scenario(audio: Path, ring_ms: int = 500, talk_ms: int = 3000) -> str:
    """An agent's phone: rings `ring_ms`, answers, talks `talk_ms` (a tone), hangs up."""
    return (
        _template("agent_answer.xml")
        .replace("@RING_MS@", str(ring_ms))
        .replace("@TALK_MS@", str(talk_ms))
        .replace("@AUDIO@", str(audio))
    )


def transferring_agent_scenario(
    audio: Path, target: str, ring_ms: int = 500, talk_ms: int = 2000
) -> str:
    """An agent's phone that answers, talks `talk_ms`, then blind-transfers the caller to the
    agent number `target` with the phone's transfer key (a REFER) and is hung up."""
    return (
        _template("agent_transfer.xml")
        .replace("@RING_MS@", str(ring_ms))
        .replace("@TALK_MS@", str(talk_ms))
        .replace("@AUDIO@", str(audio))
        .replace("@TARGET@", target)
    )


def _spawn(command: list[str], workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )


@dataclass
class SippParty:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_agent(
    workdir: Path,
    endpoint: str,
    contact_port: int,
    scenario: str,
    max_calls: int | None = None,
    address: str = "127.0.0.1",
) -> SippParty:
    """A UAS on `address`:`contact_port` (a seat's static contact, or the callers' side of the
    trunk for callbacks). With `max_calls` it exits after that many calls (0 when all
    succeeded); without, it serves calls until stopped."""
    workdir.mkdir(parents=True, exist_ok=True)
    xml = workdir / f"{endpoint}.xml"
    xml.write_text(scenario, encoding="utf-8")
    log = workdir / f"{endpoint}.log"
    command = [
        sipp_binary(),
        "-sf",
        str(xml),
        "-i",
        address,
        "-p",
        str(contact_port),
        "-mi",
        address,
        "-mp",
        str(44000 + (contact_port % 4096) * 4),  # 4 ports each; 5071 and 15071 apart
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(workdir / f"{endpoint}.errors.log"),
    ]
    if max_calls is not None:
        command += ["-m", str(max_calls)]
    return SippParty(_spawn(command, workdir, log), log)


def start_caller(
    workdir: Path,
    name: str,
    scenario: str,
    sip_port: int,
    number: str = "12333",
    address: str = "127.0.0.2",
    timeout_s: int = 90,
    asterisk: str = "127.0.0.1",
    calls: int = 1,
    rate: int = 10,
    cues: int | None = None,
) -> SippParty:
    """`calls` calls (one by default; several all at once, started `rate` a second) from
    `address` to the hotline on the Asterisk at `asterisk`:`sip_port`; the process exits 0
    when every call succeeded. With `cues` (a free TCP port on loopback; one call only) the
    caller's cue waits are released through `CueSocket(cues)`."""
    workdir.mkdir(parents=True, exist_ok=True)
    xml = workdir / f"{name}.xml"
    xml.write_text(scenario, encoding="utf-8")
    log = workdir / f"{name}.log"
    n = next(_ports) % 2000
    command = [
        sipp_binary(),
        "-sf",
        str(xml),
        "-i",
        address,
        "-p",
        str(15000 + n),
        "-mi",
        address,
        "-mp",
        str(32000 + n * 4),
        "-m",
        str(calls),
        "-l",
        str(calls),
        "-r",
        str(rate),
        "-s",
        number,
        "-nostdin",
        "-timeout",
        f"{timeout_s}s",
        "-timeout_error",
        "-trace_err",
        "-error_file",
        str(workdir / f"{name}.errors.log"),
        f"{asterisk}:{sip_port}",
    ]
    if cues is not None:
        if calls != 1:
            raise SippError("cues drive one call: start one caller per cued call")
        command += ["-3pcc", f"127.0.0.1:{cues}", "-cid_str", f"cue{cues}-%u"]
    return SippParty(_spawn(command, workdir, log), log)


class CueSocket:
    """The go signal for a cued caller (`start_caller(cues=port)`): each `go()` releases its
    next cue wait. SIPp's 3PCC listener takes a command as text ending in ESC, addressed by
    the call's id, and ends the caller if this socket closes first: keep it open until the
    caller's process has exited."""

    def __init__(self, port: int, connect_within: float = 10.0) -> None:
        self.call_id = f"cue{port}-1"
        deadline = time.monotonic() + connect_within
        while True:
            try:
                self._socket = socket.create_connection(("127.0.0.1", port), timeout=5)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SippError(f"the cued caller never listened on 127.0.0.1:{port}") from None
                time.sleep(0.05)

    def go(self) -> None:
        self._socket.sendall(f"Call-ID: {self.call_id}\r\n\x1b".encode())

    def close(self) -> None:
        self._socket.close()
