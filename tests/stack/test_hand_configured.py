"""hotline on an Asterisk an admin configured by hand (issue 19, item 2): Debian's stock
/etc/asterisk from the sandbox tree, then the pieces `hotline asterisk render` writes, each
added where its first lines say. `hotline asterisk check` finds every piece, a call goes through
hotline's IVR to its end, and with the include line and the fallback queue taken out `check`
names what went missing.

A second Asterisk on the stack's cached tree, not a second tree: everything of its own lives in
its own folder (as the sandbox's instances do), so the only edit that is not an admin's is
asterisk.conf's [directories] pointing there. Its SIP is on 127.0.0.5 (the stack's Asterisk
is on 127.0.0.1, a site's on 127.0.0.4); its AMI on a port of its own."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.sandbox import commands as sandbox_cmd
from hotline.sandbox.asterisk_conf import SandboxSpec
from hotline.sandbox.instance import SUBDIRS, Instance
from hotline.sandbox.settings import load_sandbox_settings
from hotline.settings import load_settings
from tests.conftest import run_hotline, write_config
from tests.stack.conftest import (
    AGENT_PORTS,
    ALWAYS_OPEN,
    SIP_PORT,
    Stack,
    place_call,
    running_controller,
    wait_for,
)

NAME = "handmade"
ADDRESS = "127.0.0.5"
AMI_PORT, AGI_PORT = 15039, 14575
HOME = f"/var/lib/hotline-sandbox/{NAME}"  # as Asterisk sees it, in the tree
CALLER = "13600007701"  # its own database: no other test's rows


class HandConfigured(Instance):
    """Started, asked and stopped as a sandbox instance is, but its configuration is the one
    the test wrote by hand: starting it writes nothing."""

    def write_config(self) -> None:
        pass


def spec() -> SandboxSpec:  # only the name (its folder) matters to a hand-configured instance
    return SandboxSpec(NAME, AMI_PORT, "", "", None, SIP_PORT, (), None, (), (), "", "")


def configure_by_hand(rootfs: Path, snippets: Path, secret: str) -> Path:
    """The admin's steps on a fresh Debian Asterisk; returns its configuration folder."""
    home = rootfs / HOME.lstrip("/")
    shutil.rmtree(home, ignore_errors=True)
    for sub in SUBDIRS:
        (home / sub).mkdir(parents=True)
    etc = home / "etc"
    shutil.rmtree(etc)
    shutil.copytree(rootfs / "etc/asterisk", etc, symlinks=True)  # the package's stock files

    # not an admin's edit: this Asterisk keeps its files in its own folder of the shared tree
    # (Debian's stock [directories] is a template, "(!)", so the compiled-in /etc/asterisk,
    # /var/run/asterisk... apply)
    conf = (etc / "asterisk.conf").read_text()
    assert "\n[directories](!)\n" in conf
    folders = {"etc": "etc", "db": "lib", "key": "lib", "spool": "spool", "run": "run"}
    folders |= {"log": "log", "cache": "cache"}
    ours = "".join(f"ast{d}dir => {HOME}/{sub}\n" for d, sub in folders.items())
    conf = re.sub(r"^(ast\w+dir\s*=>)", r";\1", conf, flags=re.M)  # the stock ones, unused
    # the stanza itself, not the stock comment above it that names it
    conf = re.sub(r"^\[directories\]\(!\)$", f"[directories]\n{ours}", conf, count=1, flags=re.M)
    (etc / "asterisk.conf").write_text(conf)

    def append(name: str, text: str) -> None:
        with (etc / name).open("a", encoding="utf-8") as out:
            out.write("\n" + text)

    # the admin's own: AMI on a port free on this machine, a SIP transport, the callers' trunk
    manager = (etc / "manager.conf").read_text()
    assert "port = 5038" in manager and "enabled = yes" in manager  # Debian's stock AMI
    (etc / "manager.conf").write_text(manager.replace("port = 5038", f"port = {AMI_PORT}"))
    append(
        "pjsip.conf",
        f"[transport-udp]\ntype = transport\nprotocol = udp\nbind = {ADDRESS}:{SIP_PORT}\n\n"
        "[callers]\ntype = endpoint\ncontext = hotline-inbound\ndisallow = all\n"
        "allow = ulaw,alaw\ndtmf_mode = rfc4733\n\n"
        "[callers-identify]\ntype = identify\nendpoint = callers\nmatch = 127.0.0.2\n",
    )
    # then hotline's pieces, where each one's first lines say
    append("manager.conf", (snippets / "manager.conf").read_text().replace("CHANGE-ME", secret))
    shutil.copy(snippets / "extensions_hotline.conf", etc / "extensions_hotline.conf")
    append("extensions.conf", (snippets / "extensions.conf").read_text())
    append("features.conf", (snippets / "features.conf").read_text())
    append("pjsip.conf", (snippets / "pjsip.conf").read_text())
    append("queues.conf", (snippets / "queues.conf").read_text())  # after the stock [general]
    (rootfs / HOME.lstrip("/") / "recordings").mkdir()  # README.txt: Asterisk writes it
    return etc


@pytest.fixture
def hand(stack: Stack) -> Iterator[Stack]:
    """The hand-configured Asterisk, running, with a controller configuration for it."""
    folder = stack.folder / NAME
    config = write_config(
        folder,
        ami_port=AMI_PORT,
        agi_port=AGI_PORT,
        sip_port=SIP_PORT,
        name=NAME,
        agent_ports=AGENT_PORTS,
        hours=ALWAYS_OPEN,
    )
    settings = load_settings(config)
    rendered = run_hotline(config, "asterisk", "render", "--out", str(folder / "snippets"))
    assert rendered.returncode == 0, rendered.stderr
    rootfs = load_sandbox_settings(config).rootfs
    configure_by_hand(rootfs, folder / "snippets", settings.ami.secret)
    instance = HandConfigured(rootfs, spec())
    instance.stop()  # a leftover from an interrupted run
    sandbox_cmd.install_prompts(settings, instance)  # the built audio, where the dialplan plays it
    instance.start()
    try:
        control = instance.home / "run/asterisk.ctl"  # the CLI's socket, there once it listens
        wait_for(control.exists, 60, "the hand-configured Asterisk's control socket")
        instance.cli("core waitfullybooted", timeout=60)
        yield Stack(settings, config, folder, instance)
    finally:
        instance.stop()


def test_a_hand_configured_asterisk_passes_check_takes_a_call_and_names_a_missing_piece(
    hand: Stack,
) -> None:
    with running_controller(hand):
        done = run_hotline(hand.config, "asterisk", "check")
        lines = done.stdout.splitlines()
        assert done.returncode == 0, done.stdout + done.stderr
        assert lines[-1] == f"{len(lines) - 1} present, 0 missing"

        # a caller on the admin's trunk: hotline's IVR answers; the caller hangs up in it
        place_call(hand, "hand-call", CALLER, hangup_after_ms=5000, asterisk=ADDRESS)
        call = hand.ended_call(CALLER)
        assert call.channel.startswith("PJSIP/callers-")
        steps = hand.ivr_path(call.linkedid)
        assert steps[0][0] == "no_topic_yet"  # dialplans/12333.yaml: start

        # tests/conftest.py's [dialplan] fallback_seats, as Asterisk lists the queue's members
        queue = "queue hotline-fallback (the dialplan's fallback when the controller is away)"
        assert f"ok       {queue}" in lines
        members = "PJSIP/agent1001, PJSIP/agent1002 ([dialplan] fallback_seats)"
        assert f"ok       queue hotline-fallback rings {members}" in lines

        # the admin's extensions.conf without hotline's include line
        etc = hand.settings.dialplan.asterisk_config
        kept = (etc / "extensions.conf").read_text()
        assert kept.count("#include extensions_hotline.conf") == 1
        (etc / "extensions.conf").write_text(kept.replace("#include extensions_hotline.conf", ""))
        hand.instance.cli("dialplan reload")
        # and queues.conf as the package shipped it, without the fallback queue
        snippet = (hand.folder / "snippets/queues.conf").read_text()
        kept = (etc / "queues.conf").read_text()
        assert kept.count(snippet) == 1
        (etc / "queues.conf").write_text(kept.replace(snippet, ""))
        hand.instance.cli("module reload app_queue.so")
        done = run_hotline(hand.config, "asterisk", "check")
    fix = "add '#include extensions_hotline.conf' to extensions.conf and reload the dialplan"
    queue_fix = "append the queues.conf snippet and run 'module reload app_queue.so'"
    assert done.returncode == 1
    assert [line for line in done.stdout.splitlines() if not line.startswith("ok ")] == [
        f"MISSING  dialplan context [hotline-inbound]: {fix}",
        f"MISSING  dialplan context [hotline-seats]: {fix}",
        f"MISSING  dialplan context [hotline-callback]: {fix}",
        f"MISSING  {queue}: {queue_fix}",
        # the number's and AGI's lines go with the context, the members' with the queue
        f"{len(lines) - 1 - 2 - 3 - 2} present, 4 missing",
    ]
