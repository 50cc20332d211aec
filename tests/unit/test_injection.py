"""Caller-controlled text never reaches an AGI command, an AMI action, the dialplan, a file
name or a shell unquoted or unchecked.

Caller ID number and name, dialled digits and SIP headers are the attacker's (LIBRARY-FACTS:
"Injection"). Each way out of the controller is tested here:
- AGI: every argument is quoted the way res_agi.c's parser reads it back (a model of its
  `parse_args` below), CR/LF/NUL refused; whole calls with hostile caller IDs through the
  FastAGI server and the classic process-per-call entry send no caller text at all;
- AMI: values lose CR/LF (tests/protocol/test_fuzz_ami.py); the numbers hotline dials back
  (callbacks, surveys) and the supervisor's ChanSpy are checked against strict patterns;
- dialplan: the rendered contexts expand only variables hotline or Asterisk sets;
- file names: from the linkedid only, checked; hostile names in the folder are ignored;
- shell: no shell anywhere, every process started with an argument list.
"""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.controller.assembly import classic_call_handler
from hotline.controller.calls import CallHandler
from hotline.controller.routing_desk import CALLBACK_NUMBER
from hotline.pbx.agi import AgiSession, FastAgiServer, format_command, quote
from hotline.pbx.dialplan import TRANSFER_CONTEXT, render, render_transfer
from hotline.settings import dialplan_parts, load_settings
from hotline.surveys.policy import refusal
from recordings import naming
from tests.conftest import REPO, write_config

HOSTILE = [
    "13900000001'$(id)",
    '"a\\"b;c${X}" <sip:13900000001>',
    "1390000&PJSIP/evil@callers",
    "139;rm -rf / #",
    "`reboot`|cat /etc/passwd",
    "${SHELL(touch /tmp/hotline-pwned)}$[1+1]",
    "a,b,c)|d(",
    '\\" EXEC System touch /tmp/pwned \\"',
    "张三丰\u202e١٢٣٤٥",
    "a\rEXEC System id",
]
MARKERS = ["$(", "`", "${X}", "${SHELL", "&PJSIP", ";rm", "passwd", "pwned", "EXEC System", "张三"]


# --- AGI: res_agi.c's argument parser, modelled --------------------------------------


def res_agi_parse(line: bytes) -> list[bytes]:
    """res_agi.c `parse_args` on one command line (Asterisk 22): blanks split, a double
    quote toggles grouping (and starts a word), a backslash makes the next byte literal."""
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one command, one line
    args: list[bytearray] = []
    quoted = escaped = False
    blank = True
    for byte in line[:-1]:
        c = bytes([byte])
        if c == b'"' and not escaped:
            quoted = not quoted
            if quoted and blank:
                args.append(bytearray())
                blank = False
            continue
        if c in (b" ", b"\t") and not quoted and not escaped:
            blank = True
            continue
        if c == b"\\" and not escaped:
            escaped = True
            continue
        if blank:
            args.append(bytearray())
            blank = False
        args[-1] += c
        escaped = False
    return [bytes(a) for a in args]


ARG = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"))


@settings(max_examples=500)
@given(args=st.lists(st.one_of(ARG, st.sampled_from(HOSTILE[:-1])), max_size=6))
def test_every_agi_argument_comes_back_whole_from_asterisks_parser(args: list[str]) -> None:
    line = format_command("EXEC", *args)
    assert res_agi_parse(line) == [b"EXEC", *(a.encode() for a in args)]


@given(arg=ARG, bad=st.sampled_from(["\r", "\n", "\0"]), at=st.integers(min_value=0))
def test_a_line_break_or_nul_anywhere_in_an_argument_is_refused(
    arg: str, bad: str, at: int
) -> None:
    at %= len(arg) + 1
    with pytest.raises(ValueError):
        quote(arg[:at] + bad + arg[at:])


# --- AGI: whole calls with hostile caller IDs ------------------------------------------


def agi_headers(caller: str, name: str) -> bytes:
    # the header block cannot carry a newline in a value (it ends the line): Asterisk's own
    # framing; everything else, CR included, is the caller's
    return (
        "agi_network: yes\nagi_network_script: 12333\nagi_request: agi://127.0.0.1/12333\n"
        "agi_channel: PJSIP/callers-00000001\nagi_uniqueid: 1795.1\n"
        f"agi_callerid: {caller}\nagi_calleridname: {name}\nagi_dnid: 12333\n"
        "agi_context: hotline-inbound\nagi_extension: 12333\n\n"
    ).encode()


def asterisk_reply(line: bytes, state: dict[str, int]) -> bytes:
    """What res_agi.c answers, enough to walk the 12333 flow: no key pressed anywhere but a
    0 (a person) at the first question; every agent answers."""
    verb = b" ".join(res_agi_parse(line)[:2])
    if verb == b"GET VARIABLE":
        name = res_agi_parse(line)[2]
        value = {b"CHANNEL(linkedid)": b"1795.1", b"DIALSTATUS": b"ANSWER"}.get(name)
        return b"200 result=1 (" + value + b")\n" if value else b"200 result=0\n"
    if verb == b"WAIT FOR":
        state["keys"] = state.get("keys", 0) + 1
        return b"200 result=48\n" if state["keys"] == 1 else b"200 result=0\n"
    if verb == b"STREAM FILE":
        return b"200 result=0 endpos=1000\n"
    if verb == b"RECORD FILE":
        return b"200 result=0 (timeout) endpos=8000\n"
    return b"200 result=0\n"


def assert_clean(commands: list[bytes], hostile: str) -> None:
    assert commands, "the call sent no AGI command"
    verbs = {b" ".join(res_agi_parse(c)[:2]) for c in commands}
    assert verbs <= {
        b"ANSWER",
        b"GET VARIABLE",
        b"SET VARIABLE",
        b"STREAM FILE",
        b"WAIT FOR",
        b"EXEC Dial",
        b"RECORD FILE",
    }, verbs
    for command in commands:
        text = command.decode("utf-8", "replace")
        assert hostile not in text
        assert not [m for m in MARKERS if m in text], text


@pytest.fixture
def handler(tmp_path: Path) -> CallHandler:
    return classic_call_handler(load_settings(write_config(tmp_path)))[0]


def fastagi_call(handler: CallHandler, caller: str, name: str) -> list[bytes]:
    """One whole call through the controller's handler; the commands it sent Asterisk."""
    commands: list[bytes] = []

    async def serve(session: AgiSession) -> None:
        await handler.handle(session, session.script)

    async def main() -> None:
        server = FastAgiServer(serve, "127.0.0.1", 0, 2.0, 5.0, 10)
        await server.start()
        assert server.server is not None
        port = server.server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(agi_headers(caller, name))
            state: dict[str, int] = {}
            while line := await asyncio.wait_for(reader.readline(), 10):
                commands.append(line)
                writer.write(asterisk_reply(line, state))
                assert len(commands) < 1000, "the call never ends"
            writer.close()
        finally:
            await server.close(grace=2)
            await asyncio.wait_for(handler.store.flush(), 10)

    asyncio.run(main())  # the call ended: the server closed the connection
    return commands


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_fastagi_call_from_a_hostile_caller_id_sends_none_of_it_to_asterisk(
    handler: CallHandler, hostile: str
) -> None:
    assert_clean(fastagi_call(handler, hostile, hostile), hostile)


def test_nothing_of_an_ended_call_stays_in_the_controller(tmp_path: Path) -> None:
    """Per-call state is dropped when the call ends: the routing plans of ended calls were
    kept whenever the dashboard (which also dropped them) was off."""
    config = write_config(tmp_path, hours='"mon-sun 00:00-24:00"')
    handler, _store = classic_call_handler(load_settings(config))
    commands = fastagi_call(handler, "13800000001", "Zhang")
    assert any(c.startswith(b'EXEC "Dial"') for c in commands)  # routed to an agent
    assert handler.runs == {}
    assert handler.routing.planned_calls() == 0


@pytest.mark.parametrize("hostile", [HOSTILE[1], HOSTILE[5]])
def test_a_classic_agi_call_from_a_hostile_caller_id_sends_none_of_it_to_asterisk(
    tmp_path: Path, hostile: str
) -> None:
    """`hotline agi 12333` as Asterisk runs it: a process, AGI on its stdin and stdout."""
    config = write_config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), "agi", "12333"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    timer = threading.Timer(60, process.kill)
    timer.start()
    assert process.stdin is not None and process.stdout is not None
    commands: list[bytes] = []
    try:
        process.stdin.write(agi_headers(hostile, hostile))
        process.stdin.flush()
        state: dict[str, int] = {}
        while line := process.stdout.readline():
            commands.append(line)
            process.stdin.write(asterisk_reply(line, state))
            process.stdin.flush()
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        timer.cancel()
        process.kill()
        assert process.stderr is not None
        err = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert_clean(commands, hostile)


# --- AMI: the numbers hotline dials, and ChanSpy -----------------------------------------


@pytest.mark.parametrize("hostile", [*HOSTILE, "13900000001\n", "١٣٩٠٠٠٠٠٠٠١", "139,X=1"])
def test_a_hostile_caller_number_is_never_dialled_back(hostile: str) -> None:
    """Callbacks (Originate Variable HOTLINE_NUMBER, then Dial in the dialplan) and survey
    calls (Originate Channel PJSIP/<number>@trunk) take ASCII digits only: a comma would add
    an Originate variable, `&` a Dial target."""
    policy = load_settings(REPO / "config" / "hotline.toml").surveys
    assert not CALLBACK_NUMBER.match(hostile)
    assert refusal(hostile, False, None, datetime.now(UTC), policy) == "no callable number"
    assert CALLBACK_NUMBER.match("13900000001")
    assert refusal("13900000001", False, None, datetime.now(UTC), policy) is None


@pytest.mark.parametrize("hostile", HOSTILE)
def test_chanspy_originate_takes_only_checked_values(hostile: str) -> None:
    from hotline.supervisor.monitor import MonitorError, chanspy_action

    good = chanspy_action("PJSIP/sup9001", "PJSIP/agent1001-00000001", "listen", "a-1", "12333")
    assert good["Application"] == "ChanSpy"
    for args in (
        (hostile, "PJSIP/agent1001-00000001", "listen", "a-1", "12333"),
        ("PJSIP/sup9001", hostile, "listen", "a-1", "12333"),
        ("PJSIP/sup9001", "PJSIP/agent1001-00000001", hostile, "a-1", "12333"),
        ("PJSIP/sup9001", "PJSIP/agent1001-00000001", "listen", hostile, "12333"),
        # the hotline's number (from the configuration) goes into the CallerID header too
        ("PJSIP/sup9001", "PJSIP/agent1001-00000001", "listen", "a-1", hostile),
    ):
        with pytest.raises(MonitorError):
            chanspy_action(*args)


# --- the dialplan ------------------------------------------------------------------------

# Every ${...} the rendered dialplan may expand, and who sets it: never the caller.
SAFE_EXPANSIONS = {
    "${CHANNEL(linkedid)}",  # Asterisk
    "${CHANNEL(endpoint)}",  # Asterisk: the seat's own endpoint name
    "${HOTLINE_HANDLED}",  # the controller: "1"
    "${AGISTATUS}",  # Asterisk
    "${DIALSTATUS}",  # Asterisk
    "${ANSWEREDTIME}",  # Asterisk: seconds a callback's Dial talked (a number)
    "${HOTLINE_NUMBER}",  # the controller: ASCII digits (CALLBACK_NUMBER)
    "${HOTLINE_CALLBACK}",  # the controller: a row id
    "${EXTEN:3}",  # one digit: the extension pattern _*13[1-4]
}


def test_the_rendered_dialplan_expands_nothing_a_caller_sets() -> None:
    settings = load_settings(REPO / "config" / "hotline.toml")
    text = render(dialplan_parts(settings))
    expansions = set(re.findall(r"\$\{[^}]*\}", text))
    assert expansions <= SAFE_EXPANSIONS, expansions - SAFE_EXPANSIONS
    for risky in ("CALLERID", "SIP_HEADER", "PJSIP_HEADER", "System(", "Exec(", "$(", "`"):
        assert risky not in text
    assert "_*13[1-4]" in text  # what keeps ${EXTEN:3} a single digit


def test_an_agents_transfer_reaches_only_the_directorys_agents_written_out() -> None:
    """The REFER's target is looked up, never expanded: one extension per agent id."""
    settings = load_settings(REPO / "config" / "hotline.toml")
    directory = settings.directory
    text = render_transfer(dialplan_parts(settings))
    # no pattern; no expansion but the recording's file names (the call's linkedid only)
    assert "_" not in text
    assert "$" not in text.replace(naming.LINKEDID_EXPRESSION, "")
    # the recording restarted onto the call's own files before the colleague is rung
    record = naming.mixmonitor_application(settings.recordings.asterisk_directory, append=True)
    targets = dict(
        re.findall(
            rf"^exten => (\d+),1,StopMixMonitor\(\)\n same => n,Wait\([0-9.]+\)\n"
            rf" same => n,{re.escape(record)}\n same => n,Dial\(PJSIP/([^,)]+),",
            text,
            re.M,
        )
    )
    assert targets == {a.id: directory.dial_target(a.seat) for a in directory.agents.values()}
    assert f"Set(TRANSFER_CONTEXT={TRANSFER_CONTEXT})" in render(dialplan_parts(settings))


# --- file names --------------------------------------------------------------------------


@settings(max_examples=300)
@given(linkedid=st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE)))
def test_recording_names_take_only_a_plain_linkedid(linkedid: str) -> None:
    plain = re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}", linkedid)
    try:
        names = [
            naming.file_name(linkedid),
            naming.party_file_name(linkedid, "caller"),
            naming.archive_name(linkedid, "mp3"),
            naming.playback_name(linkedid, "opus"),
            naming.message_name(linkedid, 1),
        ]
    except ValueError:
        assert not plain
        return
    assert plain
    for name in names:
        assert ".." not in name.split("/") and not name.startswith(("/", "-", "."))
        assert re.fullmatch(r"[0-9A-Za-z._/-]+", name)


@pytest.mark.parametrize(
    "name",
    [
        "$(id).wav",
        "a;b.wav",
        "../etc.wav",
        ".hidden.wav",
        "x y.wav",
        "1795.1\n.wav",
        "-rf.wav-caller.wav",
        "msg-1795.1-1.wav",
        "1795.1.wav\n",
        "1795.1.wav/x.wav",
    ],
)
def test_hostile_file_names_in_the_recordings_folder_are_not_recordings(name: str) -> None:
    assert naming.parse_file_name(name) is None
    assert naming.parse_file_name("1795.1-caller.wav") == ("1795.1", "caller")
    assert naming.parse_file_name("host-1795.1.wav") == ("host-1795.1", None)


# --- no shell ----------------------------------------------------------------------------

PACKAGES = ["ivr", "routing", "recordings", "store", "sandbox", "supervisor"]
PROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


def _python_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]


def test_no_shell_anywhere_and_every_process_gets_an_argument_list() -> None:
    starts: list[str] = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            assert not (owner == "os" and name in ("system", "popen", "execl", "execlp")), where
            assert name not in ("create_subprocess_shell", "getoutput", "getstatusoutput"), where
            for kw in node.keywords:
                if kw.arg == "shell":
                    assert isinstance(kw.value, ast.Constant) and kw.value.value is False, where
            if owner == "subprocess" and name in PROCESS_CALLS:
                starts.append(where)
                first = node.args[0] if node.args else None
                # a list, or a name bound to one (checked by reading the call sites below)
                assert not isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp), where
    assert starts, "the scan found no process starts: is it looking at the right files?"
    # every file that starts processes, and what its arguments come from
    files = {s.split(":")[0] for s in starts}
    assert files <= {
        "hotline/sandbox/rootfs.py",  # mmdebstrap: the configured mirror and folder
        "hotline/sandbox/postgres.py",  # runuser -u postgres -- PostgreSQL's tools, our arguments
        "hotline/sandbox/instance.py",  # chroot asterisk: the configured root
        "hotline/sandbox/sipp.py",  # SIPp: generated scenario files, test parties
        "recordings/processing.py",  # ffmpeg/ffprobe: paths from recordings.naming
        "ivr/prompts.py",  # espeak-ng: SSML (starts with '<', never an option)
        "ivr/graph.py",  # dot: -T<svg|png> and the output path; the graph on stdin
        "hotline/sandbox/demo.py",  # the controller: sys.executable -m hotline.cli.main
    }, files
