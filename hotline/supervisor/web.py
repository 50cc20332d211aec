"""The supervisors' web app (aiohttp), run by the controller in its own event loop.

Only the log-in page (and its stylesheet) is reachable without a session; pages redirect to
it, API calls get 401. Every POST must carry the session's CSRF token (X-CSRF-Token header or
a `csrf` form field; the log-in form has its own pre-session token) and, when the browser
sends one, an Origin of this site. Every response carries security headers (CSP without
inline scripts, no framing, no sniffing, no referrer).

What a signed-in account sees is decided by hotline/supervisor/scope.py, asked by every endpoint
and by
the live stream: a district account gets its district, refused (403) or filtered otherwise;
refused recordings are audited like granted ones. Log-ins are throttled per (address, name) and
per address in the database (hotline/supervisor/throttle.py). An open live stream re-checks its
session
every second and ends when it is gone (logout, expiry, password or role change, disabled).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from hotline.store.db import write
from hotline.store.models import Call, Recording, RouteDecision, Score
from hotline.supervisor import periods, reports, score_report
from hotline.supervisor.auth import MAX_USERNAME, Accounts, User, csrf_ok
from hotline.supervisor.hub import Hub
from hotline.supervisor.kpi import Report
from hotline.supervisor.live import Board, mask_number
from hotline.supervisor.monitor import MonitorDesk, MonitorError
from hotline.supervisor.scope import Scope, board_view, covers_call, scope_of
from hotline.supervisor.scoring import ScoreError, Sheet, score
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.throttle import Throttle
from recordings.access import AccessRefused, open_recording
from recordings.access import audit as audit_recording
from recordings.catalogue import muted_spans
from routing.directory import Directory

log = logging.getLogger("hotline.supervisor.web")

SESSION_COOKIE = "hl_session"
LOGIN_COOKIE = "hl_login"
PUBLIC = {"/login", "/static/login.css"}
AGENT_PATHS = {"/desk", "/logout"}  # all an agent's account may open (with the prefixes)
AGENT_PREFIXES = ("/api/desk/", "/static/desk.")
# all a department's account may open: its hand-overs and their reply form
DEPARTMENT_PATHS = {"/dept", "/logout"}
DEPARTMENT_PREFIXES = ("/api/dept/", "/static/dept.")
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
STREAM_CHECK_SECONDS = 1.0  # an open stream ends at most this long (+ one query) after its session
SCORING_ROLES = ("supervisor", "qa", "admin")


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
    throttle: Throttle | None = field(default=None)
    extra_routes: list[web.RouteDef] = field(default_factory=list)  # the agents' desk

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = Throttle(self.sessions)


def _static(name: str) -> bytes:
    return (resources.files("hotline.supervisor") / "static" / name).read_bytes()


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
            web.get("/api/scores/monthly", h.score_monthly),
            web.get("/api/recent", h.recent_calls),
            web.get("/api/recording/{linkedid}", h.recording),
            web.get("/api/recording/{linkedid}/audio", h.recording_audio),
            web.get("/api/kpi", h.kpi),
            web.get("/api/kpi.csv", h.kpi_csv),
            *sup.extra_routes,
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
        if user.is_agent and not _agent_may_open(request.path):
            # an agent's account opens their desk, never the supervisors' board or data
            if request.path == "/":
                raise web.HTTPSeeOther("/desk")
            raise web.HTTPForbidden(
                text='{"error":"agent accounts use their desk: /desk"}',
                content_type="application/json",
            )
        if request.method == "POST":
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type == "application/x-www-form-urlencoded":
                given = str((await request.post()).get("csrf", ""))
            if not csrf_ok(csrf, given):
                raise web.HTTPForbidden(
                    text='{"error":"missing or wrong CSRF token"}',
                    content_type="application/json",
                )
        if user.is_department and not (
            request.path in DEPARTMENT_PATHS or request.path.startswith(DEPARTMENT_PREFIXES)
        ):
            # a department's account answers its hand-overs, and sees nothing else
            if request.path == "/":
                raise web.HTTPSeeOther("/dept")
            raise web.HTTPForbidden(
                text='{"error":"department accounts use their page: /dept"}',
                content_type="application/json",
            )
        request[USER_KEY] = user
        request[CSRF_KEY] = csrf
        return await handler(request)

    return auth


def _agent_may_open(path: str) -> bool:
    return path in AGENT_PATHS or path.startswith(AGENT_PREFIXES)


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
        if len(username) > MAX_USERNAME:  # refused before any hashing, lookup or counting
            return await self.login_page(request, "用户名或密码错误 / Wrong user name or password")
        throttle, address = self.sup.throttle, request.remote or "?"
        assert throttle is not None  # (built in __post_init__)
        wait = await asyncio.to_thread(throttle.wait_until, address, username)
        if wait is not None:
            log.warning("event=web.login-throttled until=%s", wait.isoformat(timespec="seconds"))
            return await self.login_page(
                request,
                "尝试次数过多，请稍后再试 / Too many attempts, wait "
                f"{max(1, round((wait - datetime.now(UTC)).total_seconds()))} s",
            )
        user = await asyncio.to_thread(self.sup.accounts.authenticate, username, password)
        if user is None:
            await asyncio.to_thread(throttle.failed, address, username)
            log.warning("event=web.login-failed user=%r", username[:40])
            return await self.login_page(request, "用户名或密码错误 / Wrong user name or password")
        await asyncio.to_thread(throttle.succeeded, address, username)
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
                "purpose_required": self.sup.settings.recording_purpose_required,
                "offices": [{"id": o.id, "name": o.name} for o in directory.offices.values()],
                "connection_target": self.sup.settings.connection_target_percent,
            }
        )

    async def state(self, request: web.Request) -> web.Response:
        data = board_view(self.sup.board.snapshot(datetime.now(UTC)), _scope(request))
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
        user = request[USER_KEY]
        queue = self.sup.hub.subscribe(_scope(request))
        loop = asyncio.get_running_loop()
        checked, quiet = loop.time(), 0.0
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), STREAM_CHECK_SECONDS)
                except TimeoutError:
                    quiet += STREAM_CHECK_SECONDS
                    message = b": keep-alive\n\n" if quiet >= 15 else b""
                else:
                    quiet = 0.0
                if loop.time() - checked >= STREAM_CHECK_SECONDS:
                    # a stream outlives no session: logged out, expired, disabled, a new
                    # password or a new role or district (the frames' scope would be stale)
                    still = await asyncio.to_thread(self.sup.accounts.resume, token, None, False)
                    if still is None or still[0] != user:
                        break
                    checked = loop.time()
                if message:
                    if message.startswith(b": keep"):
                        quiet = 0.0
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
        if user.role not in SCORING_ROLES:
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
            saved = await asyncio.to_thread(
                _save_score, self.sup.sessions, self.sup.directory(), row, _scope(request)
            )
        except OutOfScope as exc:
            return _error(str(exc), 403)
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
        agent = request.query.get("agent", "")[:40]
        linkedid = request.query.get("linkedid", "")[:64]
        directory, scope = self.sup.directory(), _scope(request)
        if agent and not scope.covers(_office_of(directory, agent)):
            return _error("this agent is not in your district", 403)
        rows = await asyncio.to_thread(_scores, self.sup.sessions, agent, linkedid)
        return _json([r for r in rows if scope.covers(_office_of(directory, str(r["agent_id"])))])

    async def score_monthly(self, request: web.Request) -> web.Response:
        """The month's roll-up per agent (calendar month in the directory's timezone)."""
        try:
            month = score_report.parse_month(request.query.get("month", ""))
        except ValueError as exc:
            return _error(str(exc), 400)
        directory, scope = self.sup.directory(), _scope(request)
        rows = await asyncio.to_thread(
            score_report.monthly, self.sup.sessions, self.sup.sheet, directory, month
        )
        return _json(
            {
                "month": score_report.month_label(month),
                "agents": [
                    r.as_json() for r in rows if scope.covers(_office_of(directory, r.agent_id))
                ],
            }
        )

    async def recent_calls(self, request: web.Request) -> web.Response:
        rows = await asyncio.to_thread(
            _recent, self.sup.sessions, self.sup.directory(), _scope(request)
        )
        return _json(rows)

    # --- recordings (scoring afterwards) ---------------------------------------------------

    async def _recording_in_scope(
        self, request: web.Request, action: str
    ) -> tuple[dict[str, Any], str] | web.Response:
        """The catalogued row and the purpose given, or the refusal to send (a refusal of a
        recording that exists is audited: out of scope, no purpose)."""
        user = request[USER_KEY]
        found = await asyncio.to_thread(
            _recording_row, self.sup.sessions, request.match_info["linkedid"]
        )
        if found is None:
            return _error("no catalogued recording for this call", 404)
        purpose = " ".join(request.query.get("purpose", "").split())[:200]
        refusal = ""
        places = await asyncio.to_thread(
            _call_places, self.sup.sessions, self.sup.directory(), str(found["linkedid"])
        )
        if not covers_call(_scope(request), *places):
            refusal, status = "refused: the call is not in the user's district", 403
        elif self.sup.settings.recording_purpose_required and len(purpose) < 3:
            refusal, status = "refused: a purpose is required (?purpose=...)", 400
        if refusal:
            await asyncio.to_thread(
                audit_recording,
                self.sup.sessions,
                int(str(found["id"])),
                user.username,
                action,
                False,
                refusal,
                purpose,
            )
            log.warning("event=recording.refused id=%s user=%s", found["id"], user.username)
            return _error(refusal.removeprefix("refused: "), status)
        return found, purpose

    async def recording(self, request: web.Request) -> web.Response:
        """The call's catalogued recording and its QA measures (no file is opened here); the
        view is audited (action `show`) with its purpose."""
        checked = await self._recording_in_scope(request, "show")
        if isinstance(checked, web.Response):
            return checked
        found, purpose = checked
        await asyncio.to_thread(
            audit_recording,
            self.sup.sessions,
            int(str(found["id"])),
            request[USER_KEY].username,
            "show",
            True,
            "metadata",
            purpose,
        )
        return _json(found)

    async def recording_audio(self, request: web.Request) -> web.StreamResponse:
        """The audio, through recordings.access (inside the folder only, every attempt
        audited with its purpose)."""
        checked = await self._recording_in_scope(request, "listen")
        if isinstance(checked, web.Response):
            return checked
        found, purpose = checked
        if self.sup.recordings_root is None:
            return _error("no catalogued recording for this call", 404)
        part = "playback" if found["playback"] else "best"
        try:
            path = await asyncio.to_thread(
                open_recording,
                self.sup.sessions,
                self.sup.recordings_root,
                int(str(found["id"])),
                request[USER_KEY].username,
                "listen",
                part=part,
                purpose=purpose,
            )
        except AccessRefused as exc:
            return _error(str(exc), 404)
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    # --- KPIs ------------------------------------------------------------------------------

    def _period(self, request: web.Request) -> tuple[datetime, datetime]:
        return request_period(request, ZoneInfo(self.sup.directory().timezone))

    async def kpi(self, request: web.Request) -> web.Response:
        since, until = self._period(request)
        directory = self.sup.directory()
        scope = _scope(request)
        district = None if scope.city else scope.district
        rep = await asyncio.to_thread(
            reports.kpi_report, self.sup.sessions, directory, since, until, district
        )
        rep = _scoped_report(rep, scope, directory)
        data = rep.as_json()
        rate = rep.total.connection_rate
        target = self.sup.settings.connection_target_percent
        data["target"] = target
        data["alarm"] = rate is not None and 100 * rate < target
        return _json(data)

    async def kpi_csv(self, request: web.Request) -> web.Response:
        since, until = self._period(request)
        directory = self.sup.directory()
        scope = _scope(request)
        district = None if scope.city else scope.district
        rep = await asyncio.to_thread(
            reports.kpi_report, self.sup.sessions, directory, since, until, district
        )
        rep = _scoped_report(rep, scope, directory)
        return web.Response(
            text=reports.to_csv(rep),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="hotline-kpi.csv"'},
        )


def request_period(request: web.Request, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """`from` and `to` (YYYY-MM-DD, inclusive), or `period` = day | week | month (the one
    holding `date`, default today), in `zone` (the calendar's), as `hotline report kpi`
    takes them; else the last `hours` hours (default 24, at most 31 days)."""
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


class OutOfScope(ScoreError):
    """The score names a call or agent outside the user's district (a 403)."""


def _scope(request: web.Request) -> Scope:
    return scope_of(request[USER_KEY])


def _office_of(directory: Directory, agent_id: str) -> str:
    agent = directory.agents.get(agent_id)
    return agent.office if agent else ""


def _scoped_report(rep: Report, scope: Scope, directory: Directory) -> Report:
    """The KPIs `scope` may see: `kpi_report` counted only its district's calls; of the agents
    who answered them, those of offices the scope covers."""
    if scope.city or scope.district is None:
        return rep
    agents = {k: v for k, v in rep.agents.items() if scope.covers(_office_of(directory, k))}
    return replace(rep, agents=agents)


def _call_district(s: Session, directory: Directory, call: Call) -> str:
    """As the KPIs count it: the post's district when routed to a post, else the caller
    number's district, else the city."""
    posts = s.scalars(
        select(RouteDecision.post)
        .where(RouteDecision.linkedid == call.linkedid, RouteDecision.post != "")
        .order_by(RouteDecision.decided_at)
    ).all()
    for post in posts:
        if post in directory.posts:
            return directory.posts[post].district
    return directory.district_of_number(call.caller_number) or "city"


def _answered_offices(directory: Directory, call: Call) -> list[str]:
    return [
        _office_of(directory, leg.agent_id)
        for leg in call.legs
        if leg.answered_at is not None and leg.agent_id
    ]


def _call_places(
    sessions: sessionmaker[Session], directory: Directory, linkedid: str
) -> tuple[str, list[str]]:
    """A stored call's district and the offices of the agents who answered it (for the
    scope). A recording without a call row belongs to the city only."""
    with sessions() as s:
        call = s.get(Call, linkedid, options=[selectinload(Call.legs)])
        if call is None:
            return "city", []
        return _call_district(s, directory, call), _answered_offices(directory, call)


def _save_score(
    sessions: sessionmaker[Session], directory: Directory, row: Score, scope: Scope
) -> int:
    """Insert only. The call must exist and the agent must have answered it, both in the
    scorer's scope; an amendment names a score of the same call and agent, in scope. "Once"
    is kept by the database: `score.amends` is unique, and a scorer's first score of a call
    is unique, so of two racing inserts one fails here."""
    with write(sessions) as s:
        call = s.get(Call, row.linkedid, options=[selectinload(Call.legs)])
        if call is None:
            raise ScoreError(f"no call {row.linkedid!r} was recorded")
        if not any(
            leg.agent_id == row.agent_id and leg.answered_at is not None for leg in call.legs
        ):
            raise ScoreError(f"agent {row.agent_id} did not answer call {row.linkedid}")
        if not scope.covers(_office_of(directory, row.agent_id)):
            raise OutOfScope(f"agent {row.agent_id} is not in your district")
        if row.amends is not None:
            old = s.get(Score, row.amends)
            if old is None or old.linkedid != row.linkedid or old.agent_id != row.agent_id:
                raise ScoreError("the amended score does not exist for this call and agent")
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            if row.amends is not None:
                raise ScoreError(f"score {row.amends} was already amended") from None
            raise ScoreError(
                f"{row.scorer} has scored call {row.linkedid} already: amend that score"
            ) from None
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
            "linkedid": row.linkedid,
            "seconds": row.seconds,
            "state": row.state,
            "playback": row.playback_path is not None,
            "caller_talk": row.caller_talk,
            "agent_talk": row.agent_talk,
            "talk_ratio": row.talk_ratio,
            "overlap": row.overlap,
            "long_silences": row.long_silences,
            "longest_silence": row.longest_silence,
            # secure pause: [[from, to, kind], ...] in seconds from the start (a PIN keyed)
            "muted": [list(span) for span in muted_spans(s, row)],
        }


def _recent(
    sessions: sessionmaker[Session], directory: Directory, scope: Scope
) -> list[dict[str, Any]]:
    """The last 50 ended calls in scope (a district's calls are read past the city's, up to
    2,000 back)."""
    with sessions() as s:
        query = (
            select(Call)
            .where(Call.ended_at.is_not(None))
            .order_by(Call.started_at.desc())
            .limit(50 if scope.city else 2000)
            .options(selectinload(Call.legs))
        )
        out: list[dict[str, Any]] = []
        for c in s.scalars(query):
            if len(out) >= 50:
                break
            if not scope.city and not covers_call(
                scope, _call_district(s, directory, c), _answered_offices(directory, c)
            ):
                continue
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
