"""`hotline asterisk render`: the snippets an admin adds are the pieces hotline's own sandbox
is configured with (the same AMI classes, the same dialplan), each saying where it goes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hotline.pbx.dialplan import INCLUDE_LINE, render, render_features
from hotline.pbx.install import Finding, fallback_queue_findings
from hotline.sandbox.asterisk_conf import render_all
from hotline.sandbox.commands import sandbox_spec
from hotline.settings import dialplan_parts, load_settings
from tests.conftest import REPO, run_hotline

CONFIG = REPO / "config/hotline.toml"


def classes(conf: str, user: str) -> dict[str, str]:
    section = conf.split(f"[{user}]", 1)[1].split("\n[", 1)[0]
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in section.splitlines())
        if key.strip() in ("read", "write")
    }


def test_render_writes_each_piece_saying_where_it_goes(tmp_path: Path) -> None:
    done = run_hotline(CONFIG, "asterisk", "render", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "README.txt",
        "extensions.conf",
        "extensions_hotline.conf",
        "features.conf",
        "manager.conf",
        "pjsip.conf",
        "queues.conf",
    ]
    settings = load_settings(CONFIG)
    assert render(dialplan_parts(settings)) in (tmp_path / "extensions_hotline.conf").read_text()
    assert INCLUDE_LINE in (tmp_path / "extensions.conf").read_text()
    assert render_features() in (tmp_path / "features.conf").read_text()
    pjsip = (tmp_path / "pjsip.conf").read_text()
    assert all(f"[{endpoint}]" in pjsip for endpoint in settings.directory.seats)
    for name in names:
        first = (tmp_path / name).read_text().splitlines()[0]
        assert first.startswith(("; ", "hotline on your Asterisk")), name


def test_the_manager_snippet_grants_what_the_sandbox_grants(tmp_path: Path) -> None:
    run_hotline(CONFIG, "asterisk", "render", "--out", str(tmp_path))
    settings = load_settings(CONFIG)
    sandbox = render_all(sandbox_spec(settings))["manager.conf"]
    snippet = (tmp_path / "manager.conf").read_text()
    user = settings.ami.username
    assert (
        classes(snippet, user)
        == classes(sandbox, user)
        == {
            "read": "system,call,user",
            "write": "call,originate,reporting,user",
        }
    )


def section(conf: str, name: str) -> list[str]:
    """The non-comment lines of one [section] of an Asterisk .conf text."""
    body = conf.split(f"[{name}]\n", 1)[1].split("\n[", 1)[0]
    return [line for line in body.splitlines() if line and not line.startswith(";")]


def test_the_queues_snippet_defines_the_queue_the_dialplan_falls_back_to(tmp_path: Path) -> None:
    run_hotline(CONFIG, "asterisk", "render", "--out", str(tmp_path))
    snippet = (tmp_path / "queues.conf").read_text()
    assert snippet.splitlines()[0].startswith("; queues.conf (append")
    assert "Queue(hotline-fallback,,,,600)" in render(dialplan_parts(load_settings(CONFIG)))
    # config/hotline.toml: fallback_seats = ["agent1001", "agent1002"]
    assert section(snippet, "hotline-fallback") == [
        "strategy = ringall",
        "timeout = 15",
        "retry = 1",
        "joinempty = yes",
        "leavewhenempty = no",
        "member => PJSIP/agent1001",
        "member => PJSIP/agent1002",
    ]
    sandbox = render_all(sandbox_spec(load_settings(CONFIG)))["queues.conf"]
    assert section(sandbox, "hotline-fallback") == section(snippet, "hotline-fallback")
    assert "\n[general]" not in snippet  # appended to the admin's queues.conf, which has one


def queue_status(*members: str, queue: str = "hotline-fallback") -> list[dict[str, str]]:
    """QueueStatus's reply as the AMI client gives it: the response, a QueueParams and one
    QueueMember per member of the queue asked for (none if it is not configured), Complete."""
    reply = [{"Response": "Success", "EventList": "start", "Message": "Queue status will follow"}]
    if queue:
        reply.append({"Event": "QueueParams", "Queue": queue, "Strategy": "ringall"})
        reply += [
            {"Event": "QueueMember", "Queue": queue, "Name": m, "Location": m, "StateInterface": m}
            for m in members
        ]
    reply.append({"Event": "QueueStatusComplete", "EventList": "Complete", "ListItems": "0"})
    return reply


def findings(seats: tuple[str, ...], reply: list[dict[str, str]]) -> list[str]:
    asked: list[tuple[str, dict[str, Any]]] = []

    async def action(name: str, **headers: Any) -> Any:
        asked.append((name, headers))
        return reply

    found: list[Finding] = asyncio.run(fallback_queue_findings(seats, action))
    assert asked == [("QueueStatus", {"Queue": "hotline-fallback"})]
    return [str(f) for f in found]


QUEUE = "queue hotline-fallback (the dialplan's fallback when the controller is away)"
FIX = "append the queues.conf snippet and run 'module reload app_queue.so'"


def test_check_finds_the_fallback_queue_with_every_fallback_seat_a_member() -> None:
    reply = queue_status("PJSIP/agent1001", "PJSIP/agent1002")
    assert findings(("agent1001", "agent1002"), reply) == [
        f"ok       {QUEUE}",
        "ok       queue hotline-fallback rings PJSIP/agent1001, PJSIP/agent1002 "
        "([dialplan] fallback_seats)",
    ]


def test_check_names_the_missing_fallback_queue() -> None:
    assert findings(("agent1001",), queue_status(queue="")) == [f"MISSING  {QUEUE}: {FIX}"]


def test_check_names_a_fallback_seat_that_is_not_a_member() -> None:
    reply = queue_status("PJSIP/agent1001", "PJSIP/agent2001")
    assert findings(("agent1001", "agent1002"), reply)[1] == (
        "MISSING  queue hotline-fallback rings PJSIP/agent1001, PJSIP/agent1002 "
        f"([dialplan] fallback_seats): PJSIP/agent1002 not a member: {FIX}"
    )


def test_check_refuses_a_fallback_queue_nobody_is_listed_for() -> None:
    assert findings((), queue_status())[1] == (
        "MISSING  queue hotline-fallback rings a seat: list seats in [dialplan] fallback_seats, "
        "then render and append queues.conf again"
    )


def test_an_error_reply_means_no_queue() -> None:  # app_queue not loaded: no such action
    reply = [{"Response": "Error", "Message": "Invalid/unknown command: QueueStatus."}]
    assert findings(("agent1001",), reply) == [f"MISSING  {QUEUE}: {FIX}"]
