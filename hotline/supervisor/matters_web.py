"""The matters on the web: the supervisors' views (by status, overdue, district, department; a
matter's detail with its history) and their KPIs, and a department account's page (/dept)
with the matters handed over to it and the reply form. In the supervisors' aiohttp app
(web.py's log-in, sessions, CSRF and security headers apply; web.py keeps department accounts
on /dept and agents on /desk). Who sees which matter: hotline/supervisor/matter_board.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.supervisor.desk_matters import MatterRefused
from hotline.supervisor.matter_board import MatterBoard, sees_matter
from hotline.supervisor.scope import scope_of
from hotline.supervisor.web import (
    CSRF_KEY,
    USER_KEY,
    _body,
    _error,
    _json,
    _static,
    request_period,
)
from routing.directory import Directory

log = logging.getLogger("hotline.supervisor.matters")

STATUSES = ("open", "in_progress", "handed_over", "answered", "closed", "reopened")
MAX_REPLY = 4000  # the hand-over's reply column


# (owner, matter number, department): a department replied, the owner is to call back
Replied = Callable[[str, str, str], None]


@dataclass
class MattersWeb:
    board: MatterBoard
    directory: Callable[[], Directory]
    replied: Replied | None = None  # the owner's desk reminds them (attach.py: Desk.remind)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/matters", self.listing),
            web.get("/api/matters/kpi", self.kpi),
            web.get("/api/matters/{number}", self.detail),
            web.get("/dept", self.dept_page),
            web.get("/api/dept/me", self.dept_me),
            web.get("/api/dept/matters", self.dept_listing),
            web.get("/api/dept/matters/{number}", self.dept_detail),
            web.post("/api/dept/reply", self.dept_reply),
        ]

    # --- the supervisors' views -----------------------------------------------------------

    def _district(self, request: web.Request) -> str | None:
        """The district the list is for: the account's own (a district supervisor cannot ask
        for another), else the one chosen (`district`), else the whole city."""
        scope = scope_of(request[USER_KEY])
        if not scope.city:
            return scope.district
        chosen = request.query.get("district", "").strip()
        return chosen[:40] or None

    async def listing(self, request: web.Request) -> web.Response:
        query = request.query
        status = query.get("status") or None
        if status is not None and status not in STATUSES:
            return _error(f"status: one of {', '.join(STATUSES)}", 400)
        district = self._district(request)
        department = query.get("department", "").strip()[:40] or None
        overdue = query.get("overdue", "") in ("1", "true")
        try:
            rows = await asyncio.to_thread(
                self.board.listing, district, status, overdue, department
            )
        except MatterRefused as exc:
            return _error(str(exc), 400)
        counts = await asyncio.to_thread(self.board.counts, district)
        departments = await asyncio.to_thread(self.board.departments)
        return _json(
            {
                "district": district,
                "rows": rows,
                "counts": counts,
                "departments": departments,
                "statuses": list(STATUSES),
            }
        )

    async def detail(self, request: web.Request) -> web.Response:
        found = await asyncio.to_thread(self.board.detail, request.match_info["number"][:40])
        if found is None or not sees_matter(
            scope_of(request[USER_KEY]), None, _text(found, "district"), _list(found)
        ):
            # out of scope looks the same as missing: a number says nothing of other districts
            return _error("no such matter in your scope", 404)
        return _json(found)

    async def kpi(self, request: web.Request) -> web.Response:
        """The matter KPIs of the period (the parameters of /api/kpi), in the account's scope:
        `hotline report matters`' figures and definitions."""
        since, until = request_period(request, ZoneInfo(self.directory().timezone))
        district = self._district(request)
        data = await asyncio.to_thread(self.board.figures, since, until, district)
        return _json(
            data
            | {"from": since.isoformat(), "to": until.isoformat(), "district": district or "city"}
        )

    # --- a department's page ----------------------------------------------------------------

    def _department(self, request: web.Request) -> str:
        user = request[USER_KEY]
        if not user.is_department or not user.department:
            raise web.HTTPForbidden(
                text='{"error":"the page is for department accounts"}',
                content_type="application/json",
            )
        return str(user.department)

    async def dept_page(self, request: web.Request) -> web.Response:
        self._department(request)
        text = _static("dept.html").decode().replace("{{csrf}}", request[CSRF_KEY])
        return web.Response(text=text, content_type="text/html")

    async def dept_me(self, request: web.Request) -> web.Response:
        department = self._department(request)
        known = {str(d["id"]): d for d in await asyncio.to_thread(self.board.departments)}
        return _json(
            {"username": request[USER_KEY].username, "department": known.get(department, {})}
        )

    async def dept_listing(self, request: web.Request) -> web.Response:
        department = self._department(request)
        waiting = request.query.get("waiting", "") in ("1", "true")
        rows = await asyncio.to_thread(
            self.board.listing, None, "handed_over" if waiting else None, False, department
        )
        return _json({"rows": rows})

    async def dept_detail(self, request: web.Request) -> web.Response:
        department = self._department(request)
        found = await asyncio.to_thread(self.board.detail, request.match_info["number"][:40])
        if found is None or not sees_matter(
            scope_of(request[USER_KEY]), department, "", _list(found)
        ):
            return _error("no such matter handed over to your department", 404)
        # the department sees the matter and its own hand-overs, not the hotline's history
        handovers = found.get("handovers")
        mine = [
            h
            for h in (handovers if isinstance(handovers, list) else [])
            if isinstance(h, dict) and h.get("department") == department
        ]
        shown = {k: v for k, v in found.items() if k not in ("history", "calls", "notices")}
        return _json(shown | {"handovers": mine})

    async def dept_reply(self, request: web.Request) -> web.Response:
        department = self._department(request)
        body = await _body(request)
        number = str(body.get("number", ""))[:40]
        text = str(body.get("text", "")).strip()
        if not text:
            return _error("the reply needs its text", 400)
        if len(text) > MAX_REPLY:
            return _error(f"the reply is longer than {MAX_REPLY} characters", 400)
        actor = request[USER_KEY].username
        try:
            owner = await asyncio.to_thread(self.board.reply, number, actor, text, department)
        except MatterRefused as exc:
            return _error(str(exc), 409)
        log.info("event=dept.reply department=%s matter=%s user=%s", department, number, actor)
        if owner and self.replied is not None:
            self.replied(owner, number, department)
        return _json({"number": number, "status": "answered"})


def _text(row: dict[str, object], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def _list(row: dict[str, object]) -> list[str]:
    value = row.get("departments")
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
