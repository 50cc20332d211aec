"""The supervisors' dashboard in real headless Chromium (Debian's chromium, driven by
Playwright) while real calls run on the sandbox Asterisk: live calls and their state changes,
listen / whisper / barge ringing the supervisor's SIPp phone (confirmed by AMI's ChanSpy
events), scoring with the veto, refusals (no session, another district), KPIs against an
independent count from the stored calls."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, selectinload

from hotline.pbx.ami import AmiClient, Event
from hotline.sandbox import sipp
from hotline.store.models import Call, MonitorSession, Score
from tests.conftest import REPO
from tests.stack.conftest import (
    AMI_PORT,
    SIP_PORT,
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)

WEB_PORT = 18333
BASE = f"http://127.0.0.1:{WEB_PORT}"
SUPERVISOR_PORT = SIP_PORT + 21  # the supervisor's own phone (a SIPp UAS on loopback)
# the supervisor's desk phone: its own endpoint, not a seat of the directory (no agent there)
SUPERVISOR_PHONE = "PJSIP/supervisor9001"
SUPERVISOR_ENDPOINT = f"""
; added by tests/stack/test_dashboard.py: a supervisor's desk phone
[supervisor9001](endpoint-common)
context = hotline-supervisors
aors = supervisor9001

[supervisor9001]
type = aor
contact = sip:supervisor9001@127.0.0.1:{SUPERVISOR_PORT}
"""
PASSWORD = "dashboard-test-password"
WEB = f"""
[web]
enabled = true
bind = "127.0.0.1:{WEB_PORT}"
wait_alert_seconds = 5
"""
# The screenshots in docs/ are refreshed only when asked (HOTLINE_SCREENSHOTS=docs): a test run
# must not leave the tree modified.
SHOTS = REPO / "docs" if os.environ.get("HOTLINE_SCREENSHOTS") == "docs" else None

# answers, then waits for Asterisk to hang up (each monitoring session is one call to it)
SUPERVISOR_SCENARIO = """<?xml version="1.0" encoding="UTF-8"?>
<scenario name="supervisor phone">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]sup[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

  ]]></send>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]sup[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sup 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv

  ]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE" timeout="120000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

  ]]></send>
</scenario>
"""


class AmiWatch:
    """Our own AMI connection, apart from the controller's, collecting ChanSpy events."""

    def __init__(self, stack: Stack) -> None:
        self.events: list[Event] = []
        self.loop = asyncio.new_event_loop()
        ami = stack.settings.ami
        self.client = AmiClient(
            ami.host, AMI_PORT, ami.username, ami.secret, on_event=self._on_event
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.client.connect(), self.loop).result(10)

    def _on_event(self, event: Event) -> None:
        if event.get("Event", "").startswith("ChanSpy"):
            self.events.append(event)

    def spying(self, kind: str, spyee: str) -> list[Event]:
        return [e for e in list(self.events) if e["Event"] == kind and e["SpyeeChannel"] == spyee]

    def close(self) -> None:
        async def shut() -> None:
            self.client.close()
            await asyncio.sleep(0.2)  # the transport closes on the loop's next turns

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def supervisor_endpoint(stack: Stack) -> None:
    """The sandbox gets the supervisor's phone as an endpoint (once; PJSIP reloaded)."""
    pjsip = stack.instance.home / "etc" / "pjsip.conf"
    text = pjsip.read_text(encoding="utf-8")
    if "[supervisor9001]" not in text:
        pjsip.write_text(text + SUPERVISOR_ENDPOINT, encoding="utf-8")
        stack.instance.cli("module reload res_pjsip.so")
    wait_for(
        lambda: "supervisor9001" in stack.instance.cli("pjsip show endpoints"),
        10,
        "the supervisor's endpoint in Asterisk",
    )


def add_user(config: Path, name: str, *options: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline.cli.main",
            "-c",
            str(config),
            "users",
            "add",
            name,
            *options,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: scripts/setup installs Debian's chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def log_in(browser: Browser, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(BASE + "/")
    assert page.url.endswith("/login")  # no session: the log-in page
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#conn.ok", timeout=10_000)  # the event stream is live
    return page


def logged(controller: ControllerProcess, line: str, timeout: float = 30) -> None:
    wait_for(lambda: line in controller.text(), timeout, f"the controller to log {line!r}")


def linkedid_of(controller: ControllerProcess, caller: str) -> str:
    masked = caller[:3] + "*" * (len(caller) - 7) + caller[-4:]
    for line in controller.text().splitlines():
        if "event=call.started" in line and f"caller={masked}" in line:
            return line.split("linkedid=", 1)[1].split()[0]
    raise AssertionError(f"no call from {caller} in the controller's log")


def stored_kpis(stack: Stack) -> dict[str, str]:
    """The 24-hour figures counted here, apart from hotline/supervisor/kpi.py, from the stored rows:
    asked = answered + abandoned + callback booked + overflow; waits from the stored asked_at."""
    engine = create_engine(stack.settings.database_url)
    since = datetime.now(UTC) - timedelta(hours=24)
    with Session(engine) as s:
        calls = s.scalars(select(Call).options(selectinload(Call.legs))).all()
    engine.dispose()
    asked = answered = quick = abandoned = 0
    for c in calls:
        if c.ended_at is None or c.started_at.replace(tzinfo=UTC) < since or c.kind != "inbound":
            continue
        if c.outcome not in ("answered", "abandoned", "callback_booked", "overflow"):
            continue
        asked += 1
        abandoned += c.outcome == "abandoned"
        answers = [leg.answered_at for leg in c.legs if leg.answered_at is not None]
        if c.outcome == "answered" and answers:
            answered += 1
            assert c.asked_at is not None, c.linkedid  # stamped when the caller asked
            quick += (min(answers) - c.asked_at).total_seconds() <= 15

    def pct(n: int) -> str:  # as the page prints it (JavaScript drops a trailing .0)
        if not asked:
            return "—"
        value = round(100 * n / asked, 1)
        return f"{int(value) if value == int(value) else value}%"

    return {
        "asked": str(asked),
        "answered": str(answered),
        "connection_rate": pct(answered),
        "answer_rate_15s": pct(quick),
        "abandonment": pct(abandoned),
    }


def test_supervisor_watches_listens_whispers_barges_and_scores_a_live_call(
    stack: Stack, browser: Browser
) -> None:
    config = stack.config_with("dashboard", extra=WEB)
    supervisor_endpoint(stack)
    add_user(config, "city-sup", "--role", "supervisor", "--phone", SUPERVISOR_PHONE)
    add_user(
        config,
        "xihu-sup",
        "--role",
        "supervisor",
        "--district",
        "xihu",
        "--phone",
        SUPERVISOR_PHONE,
    )
    work = stack.folder / "supervisor-phone"
    work.mkdir(parents=True, exist_ok=True)
    phone = sipp.start_agent(work, "supervisor", SUPERVISOR_PORT, SUPERVISOR_SCENARIO)
    watch = AmiWatch(stack)
    caller = "13900000951"
    try:
        with (
            running_controller(stack, config) as controller,
            agent_phone(stack, "dash-a", "agent1001", talk_ms=60_000),
            agent_phone(stack, "dash-b", "agent1002", talk_ms=60_000),
        ):
            page = log_in(browser, "city-sup")
            xihu = log_in(browser, "xihu-sup")
            call = threading.Thread(
                target=place_call,
                args=(stack, "dash-call", caller),
                kwargs={"script": [(3000, "0")], "timeout": 120},
            )
            call.start()
            try:
                # the new call shows within 2 s of the controller seeing it, then its changes
                wait_for(lambda: f"caller={caller[:3]}" in controller.text(), 20, "the call")
                linkedid = linkedid_of(controller, caller)
                row = f'#calls tr[data-linkedid="{linkedid}"]'
                page.wait_for_selector(row, timeout=2000)
                logged(controller, f"event=leg.answered linkedid={linkedid}")
                page.wait_for_selector(f'{row}[data-state="talking"]', timeout=2000)
                assert page.locator("#calls tbody tr").count() == 1
                agent = page.inner_text(f"{row} td.where")
                assert page.inner_text(f"{row} td.caller") == "139****0951"
                # the agent shown is the one whose phone Asterisk has in the call
                channels = stack.instance.cli("core show channels concise")
                talking = [a for a in ("1001", "1002") if f"PJSIP/agent{a}-" in channels]
                assert len(talking) == 1, channels
                assert talking[0] in agent and ({"1001", "1002"} - set(talking)).pop() not in agent
                # the terminal view shows the same call, from the same controller
                top = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "hotline.cli.main",
                        "-c",
                        str(config),
                        "top",
                        "--once",
                        "--user",
                        "city-sup",
                        "--password-stdin",
                    ],
                    input=PASSWORD + "\n",
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                    check=False,
                    timeout=30,
                )
                assert top.returncode == 0, top.stderr
                assert "139****0951" in top.stdout and "talking" in top.stdout
                # another district's supervisor does not see the city's call (server-side:
                # neither its board nor its stream carries it), and monitoring it is refused
                # with nothing originated
                xihu.select_option("#district", "")  # the whole city, as far as it may see
                seen = xihu.evaluate(
                    "async () => (await (await fetch('/api/state')).json()).calls"
                    ".map((c) => c.linkedid)"
                )
                assert linkedid not in seen
                assert xihu.locator(row).count() == 0
                refused = xihu.evaluate(
                    """async (linkedid) => {
                      const csrf = document.querySelector('meta[name="csrf-token"]').content;
                      const r = await fetch('/api/monitor', {method: 'POST',
                        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                        body: JSON.stringify({linkedid, mode: 'listen'})});
                      return [r.status, (await r.json()).error];
                    }""",
                    linkedid,
                )
                assert refused[0] == 403 and "xihu" in refused[1]

                spied: list[str] = []
                for mode in ("listen", "whisper", "barge"):
                    starts = len(watch.events)
                    if mode == "listen":
                        page.click(f"{row} button.listen")
                    else:
                        page.click(f'#monitor-bar button:has-text("{switch_label(mode)}")')
                    wait_for(
                        lambda n=starts: any(
                            e["Event"] == "ChanSpyStart" for e in watch.events[n:]
                        ),
                        20,
                        f"ChanSpyStart for {mode}",
                    )
                    start = next(e for e in watch.events[starts:] if e["Event"] == "ChanSpyStart")
                    assert start["SpyerChannel"].startswith("PJSIP/supervisor9001-")
                    assert start["SpyeeChannel"].startswith(
                        ("PJSIP/agent1001-", "PJSIP/agent1002-")
                    )
                    spied.append(start["SpyeeChannel"])
                    page.wait_for_selector(
                        f'#monitor-bar [data-mode="{mode}"][data-active="yes"]', timeout=5000
                    )
                    # the supervisor's own channel is not a call on the board
                    assert page.locator("#calls tbody tr").count() == 1
                    if mode == "whisper" and SHOTS:
                        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
                # end the session from the page: ChanSpy stops
                page.click("#monitor-bar button.end")
                wait_for(
                    lambda: len(watch.spying("ChanSpyStop", spied[-1])) >= 3,
                    20,
                    "the three ChanSpy sessions to stop",
                )
                # score the live call with the veto: it saves as zero
                page.click(f"{row} button.score")
                page.select_option("#veto", index=1)
                page.click("#score-save")
                page.wait_for_selector("#score-result[data-total]", timeout=5000)
                assert page.get_attribute("#score-result", "data-total") == "0"
            finally:
                call.join(120)
            page.wait_for_selector(row, state="detached", timeout=5000)  # the call ended
            page.click("#kpi-refresh")
            page.wait_for_timeout(500)
            expected = stored_kpis(stack)
            for key, value in expected.items():
                assert page.inner_text(f'#kpi-total dd[data-kpi="{key}"]') == value, key
            if SHOTS:
                page.locator("#kpi-panel").screenshot(path=str(SHOTS / "dashboard-kpi.png"))
            # the dashboard's clock and handlers ran clean in the controller
            assert "Traceback" not in controller.text()
    finally:
        watch.close()
        phone.stop()
    # the audit holds every session: the refusal and the three granted ones, with their modes
    engine = create_engine(stack.settings.database_url)
    with Session(engine) as s:
        audit = s.scalars(select(MonitorSession).order_by(MonitorSession.id)).all()
        scores = s.scalars(select(Score)).all()
    engine.dispose()
    assert [(a.username, a.mode) for a in audit] == [
        ("xihu-sup", "listen"),
        ("city-sup", "listen"),
        ("city-sup", "whisper"),
        ("city-sup", "barge"),
    ]
    assert audit[0].result.startswith("refused") and audit[0].started_at is None
    assert all(a.started_at is not None and a.ended_at is not None for a in audit[1:])
    assert [(s.linkedid, s.total, s.vetoed) for s in scores] == [(linkedid, 0.0, True)]


# Draws each Han character of a text in the page's own font and compares it with a private-use
# code point, which no font has: a character drawn exactly like it is a box, not a glyph.
MISSING_GLYPHS_JS = """(text) => {
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 64;
  const g = canvas.getContext('2d');
  g.font = '32px ' + getComputedStyle(document.body).fontFamily;
  const draw = (ch) => {
    g.clearRect(0, 0, 64, 64);
    g.fillText(ch, 8, 40);
    return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
  };
  const box = draw('\\uE000');
  return [...new Set(text)].filter((ch) => /[\\u4e00-\\u9fff]/.test(ch) && draw(ch) === box);
}"""


def missing_glyphs(page: Page) -> list[str]:
    """The page's Chinese characters that render as empty boxes (no CJK font installed)."""
    text = page.inner_text("body")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), "the page shows no Chinese at all"
    found: list[str] = page.evaluate(MISSING_GLYPHS_JS, text)
    return found


def switch_label(mode: str) -> str:
    return {"whisper": "切换为 耳语", "barge": "切换为 强插"}[mode]


def test_without_a_session_the_dashboard_refuses_everything_but_the_log_in(
    stack: Stack, browser: Browser
) -> None:
    config = stack.config_with("dashboard-anon", extra=WEB)
    with running_controller(stack, config):
        page = browser.new_context().new_page()
        for path in ("/api/state", "/api/kpi", "/api/kpi.csv", "/static/app.js"):
            reply = page.request.get(BASE + path, max_redirects=0)
            assert reply.status == 401, path
        reply = page.request.post(BASE + "/api/monitor", data={"linkedid": "x", "mode": "barge"})
        assert reply.status == 401
        page.goto(BASE + "/")
        assert page.url == BASE + "/login"
        assert missing_glyphs(page) == [], "zh-CN labels drawn as boxes: is fonts-noto-cjk in?"
        page.fill("#username", "nobody")
        page.fill("#password", "wrong-password-here")
        page.click("#login")
        assert "密码错误" in page.inner_text("#message")
