"""`hotline top`: the live board in a terminal, for admins on the server without a browser.

It logs in to the controller's dashboard like a browser (same accounts, same session rules)
and follows its event stream, redrawing on each frame and once a second for the clocks."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any

import aiohttp

from hotline.cli.common import Subparsers, settings_of
from hotline.cli.users import read_password
from hotline.settings import Settings
from hotline.supervisor.errors import TopError
from hotline.supervisor.live import AWAY


async def login(session: aiohttp.ClientSession, base: str, username: str, password: str) -> None:
    try:
        async with session.get(f"{base}/login") as page:
            text = await page.text()
    except aiohttp.ClientError as exc:
        raise TopError(f"cannot reach the dashboard at {base}: {exc}") from None
    match = re.search(r'name="csrf" value="([^"]+)"', text)
    if match is None:
        raise TopError(f"{base}/login does not look like hotline's log-in page")
    form = {"csrf": match.group(1), "username": username, "password": password}
    async with session.post(f"{base}/login", data=form, allow_redirects=False) as reply:
        if reply.status != 303:
            raise TopError(f"log-in refused for {username!r} (HTTP {reply.status})")


def printable(value: object) -> str:
    """A board field as the terminal may show it: control characters (ESC, CR, BEL, C1...),
    which a caller's number or name can carry in, written out as \\xNN instead of obeyed."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def render(board: dict[str, Any], width: int = 100) -> str:
    return "\n".join(printable(line)[:width] for line in _lines(board))


def _lines(board: dict[str, Any]) -> list[str]:
    now = time.time() - (float(board.get("sent_at", time.time())) - float(board["now"]))

    def clock(since: float | None) -> str:
        if since is None:
            return "-"
        n = max(0, int(now - since))
        return f"{n // 60}:{n % 60:02d}"

    lines = [
        f"hotline top  {time.strftime('%H:%M:%S')}  calls {len(board['calls'])}  "
        f"queue {len(board['queue'])}  alerts {len(board['alerts'])}",
        "",
        f"{'CALLER':<14}{'DISTRICT':<12}{'STATE':<9}{'AGENT / NODE':<18}{'AB STEP':<26}"
        f"{'WAIT':>7}{'TALK':>7}",
    ]
    for c in board["calls"]:
        who = c["agent_id"] or c["node"] or "ivr"
        wait_end = c["talk_since"] if c["talk_since"] else None
        wait = clock(c["asked_at"]) if wait_end is None else _span(c["asked_at"], wait_end)
        lines.append(
            f"{c['caller']:<14}{c['district']:<12}{c['state']:<9}{who:<18}"
            f"{c['ab_step'][:25]:<26}{wait:>7}{clock(c['talk_since']):>7}"
        )
    lines += ["", f"{'AGENT':<16}{'OFFICE':<12}{'STATE':<14}{'FOR':>7}"]
    for a in board["agents"]:
        state = a["state"] + (f" ({a['reason']})" if a["reason"] else "")
        lines.append(
            f"{a['id'] + ' ' + a['name']:<16}{a['office']:<12}{state:<14}{clock(a['since']):>7}"
        )
    away = sum(1 for a in board["agents"] if a["state"] in AWAY)
    queue = board["queue"]
    lines += [
        "",
        f"queue: {len(queue)} waiting, longest {clock(queue[0]['joined_at']) if queue else '-'}"
        f"   agents away: {away}",
    ]
    for alert in board["alerts"]:
        lines.append(f"ALERT {alert['kind']} {json.dumps(alert, ensure_ascii=False)}")
    return lines


def _span(start: float | None, end: float) -> str:
    if start is None:
        return "-"
    n = max(0, int(end - start))
    return f"{n // 60}:{n % 60:02d}"


async def run_top(
    settings: Settings, username: str, password: str, once: bool = False, url: str | None = None
) -> int:
    base = url or f"http://{settings.web.host}:{settings.web.port}"
    try:
        return await _follow(base, username, password, once)
    except aiohttp.ClientError as exc:
        raise TopError(f"the dashboard at {base} went away: {exc}") from None


async def _follow(base: str, username: str, password: str, once: bool) -> int:
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # the dashboard is often on 127.0.0.1
    ) as session:
        await login(session, base, username, password)
        if once:
            async with session.get(f"{base}/api/state") as reply:
                print(render(await reply.json()))
            return 0
        board: dict[str, Any] | None = None
        async with session.get(f"{base}/api/events") as stream:
            if stream.status != 200:
                raise TopError(f"the event stream answered HTTP {stream.status}")
            redraw = asyncio.create_task(_redraw_every_second(lambda: board))
            try:
                async for raw in stream.content:
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    if line.startswith("data: "):
                        board = json.loads(line[6:])
                        _draw(board)
            finally:
                redraw.cancel()
    return 0


def _draw(board: dict[str, Any]) -> None:
    sys.stdout.write("\x1b[H\x1b[2J" + render(board) + "\n")
    sys.stdout.flush()


async def _redraw_every_second(current: Any) -> None:
    while True:
        await asyncio.sleep(1)
        board = current()
        if board is not None:
            _draw(board)


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "top",
        help="the live board in the terminal (calls, agents, queue)",
        description="Follow the running controller's dashboard in the terminal: live calls, "
        "agents by state, the queue and alerts. Logs in with a dashboard account.",
    )
    parser.add_argument("--user", required=True, help="a dashboard account")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    parser.add_argument("--once", action="store_true", help="print the board once and exit")
    parser.add_argument("--url", help="the dashboard's address (default: from [web] bind)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    password = read_password(args.password_stdin, confirm=False)
    try:
        return asyncio.run(run_top(settings, args.user, password, once=args.once, url=args.url))
    except KeyboardInterrupt:
        return 0
