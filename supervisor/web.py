"""The supervisors' web app (aiohttp), run by the controller in its own event loop.

Only the log-in page (and its stylesheet) is reachable without a session; pages redirect to
it, API calls get 401. Every POST must carry the session's CSRF token (X-CSRF-Token header or
a `csrf` form field; the log-in form has its own pre-session token) and, when the browser
sends one, an Origin of this site. Every response carries security headers (CSP without
inline scripts, no framing, no sniffing, no referrer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import WebSettings
from recordings.access import AccessRefused, open_recording
from routing.directory import Directory
from store.db import write
from store.models import Call, Recording, Score

from . import periods, reports
from .auth import Accounts, User, csrf_ok
from .hub import Hub
from .live import Board
from .monitor import MonitorDesk, MonitorError
from .scoring import ScoreError, Sheet, score

log = logging.getLogger("hotline.supervisor.web")

SESSION_COOKIE = "hl_session"
LOGIN_COOKIE = "hl_login"
PUBLIC = {"/login", "/static/login.css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
USER_KEY = web.RequestKey("user", User)
CSRF_KEY = web.RequestKey("csrf", str)
MAX_FAILURES, LOCK_SECONDS = 5, 300


@dataclass
class Supervision:
    """Everything the web app works with, built by the controller (the composition root)."""

    settings: WebSettings
    accounts: Accounts
    sessions: sessionmaker[Session]
    directory: Callable[[], Directory]
    board: Board
    hub: Hub
    monitor: MonitorDesk
    sheet: Sheet
    recordings_root: Path | None = None  # where the controller reads recordings
    failures: dict[str, list[float]] = field(default_factory=dict)


def _static(name: str) -> bytes:
    return (resources.files("supervisor") / "static" / name).read_bytes()


CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def build_app(sup: Supervision) -> web.Application:
    app = web.Application(middlewares=[_headers, _auth(sup)], client_max_size=64 * 1024)
    h = _Handlers(sup)
    app.add_routes(
        [
            web.get("/login", h.login_page),
            web.post("/login", h.login),
            web.post("/logout", h.logout),
            web.get("/", h.index),
            web.get("/static/{name}", h.static),
            web.get("/api/me", h.me),
            web.get("/api/state", h.state),
            web.get("/api/events", h.events),
            web.get("/api/sheet", h.sheet),
            web.post("/api/monitor", h.monitor_start),
            web.post("/api/monitor/{id}/end", h.monitor_end),
            web.get("/api/monitor", h.monitor_list),
            web.post("/api/scores", h.score_save),
            web.get("/api/scores", h.score_list),
            web.get("/api/recent", h.recent_calls),
            web.get("/api/recording/{linkedid}", h.recording),
            web.get("/api/recording/{linkedid}/audio", h.recording_audio),
            web.get("/api/kpi", h.kpi),
            web.get("/api/kpi.csv", h.kpi_csv),
        ]
    )
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.path.startswith("/api/") or request.path in ("/", "/login"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _auth(sup: Supervision) -> Any:
    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and not _same_origin(request):
            raise web.HTTPForbidden(text="cross-site request refused")
        if request.path in PUBLIC:
            return await handler(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        found = await asyncio.to_thread(sup.accounts.resume, token) if token else None
        if found is None:
            if request.path != "/":  # only the page itself sends a browser to the log-in
                raise web.HTTPUnauthorized(
                    text='{"error":"log in first"}', content_type="application/json"
                )
            raise web.HTTPSeeOther("/login")
        user, csrf = found
        if request.method == "POST":
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type == "application/x-www-form-urlencoded":
                given = str((await request.post()).get("csrf", ""))
            if not csrf_ok(csrf, given):
                raise web.HTTPForbidden(
                    text='{"error":"missing or wrong CSRF token"}',
                    content_type="application/json",
                )
        request[USER_KEY] = user
        request[CSRF_KEY] = csrf
        return await handler(request)

    return auth


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or (origin == "null" and request.path == "/login"):
        return True
    return origin in (f"http://{request.host}", f"https://{request.host}")


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


def _error(message: str, status: int) -> web.Response:
    return _json({"error": message}, status)


class _Handlers:
    def __init__(self, sup: Supervision) -> None:
        self.sup = sup

    # --- log-in ----------------------------------------------------------------------------

    async def login_page(self, request: web.Request, message: str = "") -> web.Response:
        # one token per browser while its cookie lives (a second tab or a favicon request
        # must not invalidate the form already shown)
        token = request.cookies.get(LOGIN_COOKIE, "")
        if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
            token = secrets.token_urlsafe(24)
        page = _static("login.html").decode()
        page = page.replace("{{csrf}}", token).replace("{{message}}", escape(message))
        response = web.Response(text=page, content_type="text/html", status=401 if message else 200)
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self.sup.settings.secure_cookies,
            max_age=600,
        )
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf", ""))):
            return await self.login_page(
                request, "表单已过期，请重试 / The form expired, try again"
            )
        now = time.monotonic()
        if len(self.sup.failures) > 10_000:  # forget names nobody tried lately
            self.sup.failures = {
                k: v for k, v in self.sup.failures.items() if v and now - v[-1] < LOCK_SECONDS
            }
        recent = [t for t in self.sup.failures.get(username, []) if now - t < LOCK_SECONDS]
        self.sup.failures[username] = recent
        if len(recent) >= MAX_FAILURES:
            log.warning("event=web.login-locked user=%r", username)
            return await self.login_page(
                request, "尝试次数过多，请稍后再试 / Too many attempts, wait a few minutes"
            )
        user = await asyncio.to_thread(self.sup.accounts.authenticate, username, password)
        if user is None:
            recent.append(now)
            log.warning("event=web.login-failed user=%r", username[:40])
            return await self.login_page(request, "用户名或密码错误 / Wrong user name or password")
        self.sup.failures.pop(username, None)
        token, _csrf = await asyncio.to_thread(self.sup.accounts.open_session, user)
        log.info("event=web.login user=%s role=%s", user.username, user.role)
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self.sup.settings.secure_cookies,
            path="/",
        )
        response.del_cookie(LOGIN_COOKIE)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        await asyncio.to_thread(self.sup.accounts.close_session, token)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    # --- pages -----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        page = _static("index.html").decode().replace("{{csrf}}", request[CSRF_KEY])
        return web.Response(text=page, content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        suffix = name[name.rfind(".") :] if "." in name else ""
        if suffix not in CONTENT_TYPES or "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        try:
            body = _static(name)
        except (FileNotFoundError, IsADirectoryError):
            raise web.HTTPNotFound() from None
        return web.Response(body=body, content_type=CONTENT_TYPES[suffix])

    # --- live ------------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        user = request[USER_KEY]
        directory = self.sup.directory()
        return _json(
            {
                "username": user.username,
                "role": user.role,
                "district": user.district,
                "phone": bool(user.phone),
                "may_monitor": user.role in self.sup.settings.monitor_roles,
                "offices": [{"id": o.id, "name": o.name} for o in directory.offices.values()],
                "connection_target": self.sup.settings.connection_target_percent,
            }
        )

    async def state(self, request: web.Request) -> web.Response:
        data = self.sup.board.snapshot(datetime.now(UTC))
        data["monitor"] = self.sup.monitor.sessions_of(request[USER_KEY].username)
        return _json(data)

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        for key, value in SECURITY_HEADERS.items():
            response.headers[key] = value
        await response.prepare(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        queue = self.sup.hub.subscribe()
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    # a stream outlives no session: logged out or expired, it ends here
                    still = await asyncio.to_thread(self.sup.accounts.resume, token)
                    if still is None:
                        break
                    message = b": keep-alive\n\n"
                await response.write(message)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.sup.hub.unsubscribe(queue)
        return response

    # --- monitoring ------------------------------------------------------------------------

    async def monitor_start(self, request: web.Request) -> web.Response:
        user = request[USER_KEY]
        body = await _body(request)
        linkedid, mode = str(body.get("linkedid", "")), str(body.get("mode", ""))
        replaces = body.get("replaces")
        call = self.sup.board.calls.get(linkedid)
        talking = (
            next((leg for leg in call.legs.values() if leg.answered_at), None) if call else None
        )
        directory = self.sup.directory()
        agent = directory.agents.get(talking.agent_id or "") if talking else None
        office = (
            agent.office
            if agent
            else (
                directory.seats[talking.endpoint].office
                if talking and talking.endpoint in directory.seats
                else ""
            )
        )
        try:
            if isinstance(replaces, int) and replaces in self.sup.monitor.live:
                await self.sup.monitor.end(user, replaces)
            live = await self.sup.monitor.start(
                user,
                mode,
                linkedid,
                talking.agent_id if talking else None,
                office,
                talking.channel if talking else "",
            )
        except MonitorError as exc:
            return _error(str(exc), 403 if "may" in str(exc) or "role" in str(exc) else 409)
        return _json({"id": live.id, "mode": live.mode, "linkedid": live.linkedid})

    async def monitor_end(self, request: web.Request) -> web.Response:
        try:
            session_id = int(request.match_info["id"])
            await self.sup.monitor.end(request[USER_KEY], session_id)
        except (ValueError, MonitorError) as exc:
            return _error(str(exc), 409)
        return _json({"ended": session_id})

    async def monitor_list(self, request: web.Request) -> web.Response:
        return _json(self.sup.monitor.sessions_of(request[USER_KEY].username))

    # --- scoring ---------------------------------------------------------------------------

    async def sheet(self, request: web.Request) -> web.Response:
        return _json(self.sup.sheet.as_json())

    async def score_save(self, request: web.Request) -> web.Response:
        user = request[USER_KEY]
        if user.role not in ("supervisor", "qa", "admin"):
            return _error("this role may not score", 403)
        body = await _body(request)
        bands = body.get("bands")
        amends = body.get("amends")
        linkedid = str(body.get("linkedid", ""))[:64]
        agent_id = str(body.get("agent_id", ""))[:40]
        if not isinstance(bands, dict) or not linkedid or not agent_id:
            return _error("linkedid, agent_id and bands are needed", 400)
        if amends is not None and (
            isinstance(amends, bool) or not isinstance(amends, int) or not 0 < amends < 2**63
        ):  # (a bool is an int to Python; past 2**63 the database cannot hold it)
            return _error("amends: the id of the score this one corrects", 400)
        try:
            result = score(
                self.sup.sheet,
                {str(k): str(v) for k, v in bands.items()},
                str(body.get("veto_reason", "")),
            )
        except ScoreError as exc:
            return _error(str(exc), 400)
        row = Score(
            linkedid=linkedid,
            agent_id=agent_id,
            scorer=user.username,
            sheet=self.sup.sheet.label,
            items=json.dumps(
                {"bands": bands, "points": result.points, "veto_reason": result.veto_reason},
                ensure_ascii=False,
            ),
            vetoed=result.vetoed,
            total=result.total,
            comment=str(body.get("comment", ""))[:1000],
            created_at=datetime.now(UTC),
            amends=amends,
        )
        try:
            saved = await asyncio.to_thread(_save_score, self.sup.sessions, row, user)
        except ScoreError as exc:
            return _error(str(exc), 409)
        log.info(
            "event=score.saved id=%d call=%s agent=%s total=%s vetoed=%s amends=%s",
            saved,
            linkedid,
            agent_id,
            result.total,
            result.vetoed,
            amends,
        )
        return _json({"id": saved, "total": result.total, "vetoed": result.vetoed})

    async def score_list(self, request: web.Request) -> web.Response:
        agent = request.query.get("agent", "")
        linkedid = request.query.get("linkedid", "")
        rows = await asyncio.to_thread(_scores, self.sup.sessions, agent, linkedid)
        return _json(rows)

    async def recent_calls(self, request: web.Request) -> web.Response:
        rows = await asyncio.to_thread(_recent, self.sup.sessions)
        return _json(rows)

    # --- recordings (scoring afterwards) ---------------------------------------------------

    async def recording(self, request: web.Request) -> web.Response:
        """The call's catalogued recording and its QA measures (no file is opened here)."""
        found = await asyncio.to_thread(
            _recording_row, self.sup.sessions, request.match_info["linkedid"]
        )
        if found is None:
            return _error("no catalogued recording for this call", 404)
        return _json(found)

    async def recording_audio(self, request: web.Request) -> web.StreamResponse:
        """The audio, through recordings.access (inside the folder only, every attempt
        audited)."""
        found = await asyncio.to_thread(
            _recording_row, self.sup.sessions, request.match_info["linkedid"]
        )
        if found is None or self.sup.recordings_root is None:
            return _error("no catalogued recording for this call", 404)
        user = request[USER_KEY].username
        part = "playback" if found["playback"] else "best"
        try:
            path = await asyncio.to_thread(
                open_recording,
                self.sup.sessions,
                self.sup.recordings_root,
                int(str(found["id"])),
                user,
                "listen",
                part=part,
            )
        except AccessRefused as exc:
            return _error(str(exc), 404)
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    # --- KPIs ------------------------------------------------------------------------------

    def _period(self, request: web.Request) -> tuple[datetime, datetime]:
        """`from` and `to` (YYYY-MM-DD, inclusive), or `period` = day | week | month (the one
        holding `date`, default today), in the calendar's time zone, as `hotline report kpi`
        takes them; else the last `hours` hours (default 24, at most 31 days)."""
        zone = ZoneInfo(self.sup.directory().timezone)
        query = request.query
        try:
            if "from" in query or "to" in query:
                first = periods.parse_day(query.get("from", ""), "from")
                last = periods.parse_day(query.get("to", ""), "to")
                return periods.between(first, last).span(zone)
            if "period" in query:
                on = (
                    periods.parse_day(query["date"], "date")
                    if "date" in query
                    else datetime.now(zone).date()
                )
                return periods.named(query["period"], on).span(zone)
        except periods.PeriodError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": str(exc)}), content_type="application/json"
            ) from None
        try:
            hours = min(24 * 31, max(1, int(query.get("hours", "24"))))
        except ValueError:
            hours = 24
        until = datetime.now(UTC) + timedelta(seconds=1)
        return until - timedelta(hours=hours), until

    async def kpi(self, request: web.Request) -> web.Response:
        since, until = self._period(request)
        rep = await asyncio.to_thread(
            reports.kpi_report, self.sup.sessions, self.sup.directory(), since, until
        )
        data = rep.as_json()
        rate = rep.total.connection_rate
        target = self.sup.settings.connection_target_percent
        data["target"] = target
        data["alarm"] = rate is not None and 100 * rate < target
        return _json(data)

    async def kpi_csv(self, request: web.Request) -> web.Response:
        since, until = self._period(request)
        rep = await asyncio.to_thread(
            reports.kpi_report, self.sup.sessions, self.sup.directory(), since, until
        )
        return web.Response(
            text=reports.to_csv(rep),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="hotline-kpi.csv"'},
        )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text='{"error":"expected a JSON object"}', content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error":"expected a JSON object"}', content_type="application/json"
        )
    return data


def _save_score(sessions: sessionmaker[Session], row: Score, user: User) -> int:
    """Insert only: an amendment must name the newest score of the same call."""
    with write(sessions) as s:
        if row.amends is not None:
            old = s.get(Score, row.amends)
            if old is None or old.linkedid != row.linkedid:
                raise ScoreError("the amended score does not exist for this call")
            newer = s.scalars(select(Score.id).where(Score.amends == old.id)).first()
            if newer is not None:
                raise ScoreError(f"score {old.id} was already amended by {newer}")
        s.add(row)
        s.flush()
        return row.id


def _scores(sessions: sessionmaker[Session], agent: str, linkedid: str) -> list[dict[str, Any]]:
    with sessions() as s:
        query = select(Score).order_by(Score.created_at.desc(), Score.id.desc()).limit(200)
        if agent:
            query = query.where(Score.agent_id == agent)
        if linkedid:
            query = query.where(Score.linkedid == linkedid)
        rows = s.scalars(query).all()
        amended = {r.amends for r in rows if r.amends is not None}
        return [
            {
                "id": r.id,
                "linkedid": r.linkedid,
                "agent_id": r.agent_id,
                "scorer": r.scorer,
                "sheet": r.sheet,
                "total": r.total,
                "vetoed": r.vetoed,
                "items": json.loads(r.items),
                "comment": r.comment,
                "created_at": r.created_at.isoformat(),
                "amends": r.amends,
                "superseded": r.id in amended,
            }
            for r in rows
        ]


def _recording_row(sessions: sessionmaker[Session], linkedid: str) -> dict[str, Any] | None:
    with sessions() as s:
        row = s.scalars(select(Recording).where(Recording.linkedid == linkedid[:64])).first()
        if row is None or row.purged_at is not None:
            return None
        return {
            "id": row.id,
            "seconds": row.seconds,
            "state": row.state,
            "playback": row.playback_path is not None,
            "caller_talk": row.caller_talk,
            "agent_talk": row.agent_talk,
            "talk_ratio": row.talk_ratio,
            "overlap": row.overlap,
            "long_silences": row.long_silences,
            "longest_silence": row.longest_silence,
        }


def _recent(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    from .live import mask_number

    with sessions() as s:
        query = (
            select(Call)
            .where(Call.ended_at.is_not(None))
            .order_by(Call.started_at.desc())
            .limit(50)
        )
        out = []
        for c in s.scalars(query):
            agents = [leg.agent_id for leg in c.legs if leg.answered_at and leg.agent_id]
            out.append(
                {
                    "linkedid": c.linkedid,
                    "caller": mask_number(c.caller_number),
                    "started_at": c.started_at.isoformat(),
                    "outcome": c.outcome,
                    "agent_id": agents[-1] if agents else None,
                }
            )
        return out


class WebServer:
    """Starts and stops the app inside the controller's loop."""

    def __init__(self, sup: Supervision) -> None:
        self.sup = sup
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        self.runner = web.AppRunner(build_app(self.sup), access_log=None, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.sup.settings.host, self.sup.settings.port)
        await site.start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
