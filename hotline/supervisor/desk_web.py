"""The agent's desk over HTTP: the page (/desk), the agent's event stream and their actions,
in the supervisors' aiohttp app (web.py's log-in, sessions, CSRF and security headers apply).
Only accounts of role `agent` reach these routes (web.py keeps them off everything else), and
each sees the calls of the agent their account names (desk_card.may_see_call)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from hotline.pbx.dialplan import PAUSE_REASONS, WRAPPED_CHANGE
from hotline.supervisor import desk_store
from hotline.supervisor.auth import Accounts, User
from hotline.supervisor.desk import AgentChange, Desk
from hotline.supervisor.desk_card import may_see_call
from hotline.supervisor.desk_matters import MatterRefused
from hotline.supervisor.errors import WebError
from hotline.supervisor.web import (
    CSRF_KEY,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    STREAM_CHECK_SECONDS,
    USER_KEY,
    _body,
    _error,
    _json,
    _static,
)

log = logging.getLogger("hotline.supervisor.desk")

STATE_CHANGES = ("available", "pause", "logout")
MATTER_ACTIONS = ("create", "note", "take", "summary", "close", "handover", "callback", "notice")


@dataclass
class DeskWeb:
    desk: Desk
    accounts: Accounts
    agent_change: AgentChange  # the same AMI UserEvent a seat's feature code raises

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/desk", self.page),
            web.get("/api/desk/me", self.me),
            web.get("/api/desk/events", self.events),
            web.get("/api/desk/call/{linkedid}", self.call),
            web.post("/api/desk/wrapup", self.wrap_up),
            web.post("/api/desk/state", self.state),
            web.post("/api/desk/matter", self.matter),
            web.get("/api/desk/tell", self.tell),
            web.get("/api/desk/answers", self.answers),
        ]

    def _agent(self, request: web.Request) -> str:
        user: User = request[USER_KEY]
        if not user.is_agent or not user.agent_id:
            raise web.HTTPForbidden(
                text='{"error":"the desk is for agent accounts"}', content_type="application/json"
            )
        return user.agent_id

    async def page(self, request: web.Request) -> web.Response:
        self._agent(request)
        text = _static("desk.html").decode().replace("{{csrf}}", request[CSRF_KEY])
        return web.Response(text=text, content_type="text/html")

    async def me(self, request: web.Request) -> web.Response:
        agent_id = self._agent(request)
        agent = self.desk.directory().agents.get(agent_id)
        policy = self.desk.policy
        return _json(
            {
                "username": request[USER_KEY].username,
                "agent_id": agent_id,
                "name": agent.name if agent else "",
                "office": agent.office if agent else "",
                "wrap_up_required": policy.required,
                "codes": dict(policy.codes),
                "pause_reasons": sorted(set(PAUSE_REASONS.values())),
                "state": self.desk.state(agent_id),
                "matters": self.desk.matters.choices() if self.desk.matters else None,
            }
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        agent_id = self._agent(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        for key, value in SECURITY_HEADERS.items():
            response.headers[key] = value
        await response.prepare(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        user = request[USER_KEY]
        queue = await self.desk.subscribe(agent_id)
        loop = asyncio.get_running_loop()
        checked, quiet = loop.time(), 0.0
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), STREAM_CHECK_SECONDS)
                    quiet = 0.0
                except TimeoutError:
                    quiet += STREAM_CHECK_SECONDS
                    message = b": keep-alive\n\n" if quiet >= 15 else b""
                    if message:
                        quiet = 0.0
                if loop.time() - checked >= STREAM_CHECK_SECONDS:
                    # a stream outlives no session (logout, expiry, disabled, a new role)
                    still = await asyncio.to_thread(self.accounts.resume, token, None, False)
                    if still is None or still[0] != user:
                        break
                    checked = loop.time()
                if message:
                    await response.write(message)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.desk.unsubscribe(agent_id, queue)
        return response

    async def _caller_of_call(self, agent_id: str, linkedid: str) -> str | None:
        """The caller of a call the agent answered (None: not theirs)."""
        caller = self.desk.answered_live(agent_id, linkedid)
        if caller is None:
            found = await asyncio.to_thread(desk_store.call_of, self.desk.sessions, linkedid)
            if found is None or not may_see_call(agent_id, found[1]):
                return None
            caller = found[0]
        return caller

    async def tell(self, request: web.Request) -> web.Response:
        """The agent's own matters answered by a department: call the citizen back."""
        agent_id = self._agent(request)
        matters = self.desk.matters
        rows = await asyncio.to_thread(matters.to_tell, agent_id) if matters else []
        return _json(rows)

    async def answers(self, request: web.Request) -> web.Response:
        """The catalogue's standard answers (统一答复口径) and notices, by keyword and business."""
        self._agent(request)
        matters = self.desk.matters
        if matters is None:
            return _error("matters are not kept here", 404)
        words = request.query.get("q", "")[:200]
        business = request.query.get("business", "")[:40]
        return _json(await asyncio.to_thread(matters.answers, words, business))

    async def matter(self, request: web.Request) -> web.Response:
        """An action on a matter (MATTER_ACTIONS). `create` raises one for the caller of a call
        the agent answered (named by `linkedid`); the others name a matter of that caller, or
        one the agent owns (e.g. to close it after calling the citizen back): the matters
        service decides the rest."""
        agent_id = self._agent(request)
        matters = self.desk.matters
        if matters is None:
            return _error("matters are not kept here", 404)
        body = await _body(request)
        action = str(body.get("action", ""))
        if action not in MATTER_ACTIONS:
            return _error(f"action: {', '.join(MATTER_ACTIONS)}", 400)
        linkedid = str(body.get("linkedid", ""))[:64]
        text = str(body.get("text", "")).strip()[:2000]
        caller = await self._caller_of_call(agent_id, linkedid) if linkedid else None
        actor = f"agent:{agent_id}"
        number = str(body.get("number", ""))[:40]
        try:
            if action == "create":
                if not caller:
                    return _error("not a call you answered", 403)
                category = str(body.get("category", "consultation"))
                number = await asyncio.to_thread(
                    matters.create, caller, category, text, linkedid, agent_id, actor
                )
                return _json({"number": number})
            # a matter of this call's caller, or the agent's own, and no one else's
            owner = await asyncio.to_thread(matters.owner_of, number)
            ours = bool(caller) and await asyncio.to_thread(matters.caller_of, number) == caller
            if not ours and owner != agent_id:
                return _error("not a matter of this caller, nor yours", 403)
            if action == "note":
                await asyncio.to_thread(matters.note, number, actor, text)
            elif action == "take":
                await asyncio.to_thread(matters.take_over, number, actor, agent_id, text)
            elif action == "summary":
                await asyncio.to_thread(matters.update_summary, number, actor, text)
            elif action == "close":
                if owner != agent_id:  # first inquiry: its owner answers for it to the end
                    return _error("only its owner closes a matter: take it over first", 403)
                await asyncio.to_thread(matters.close, number, actor, text)
            elif action == "handover":
                department = str(body.get("department", ""))
                await asyncio.to_thread(matters.hand_over, number, actor, department, text)
            elif action == "callback":
                at = _when(str(body.get("at", "")))
                if at is None:
                    return _error("at: a time with its zone, e.g. 2026-12-08T10:00+08:00", 400)
                await asyncio.to_thread(matters.book_callback, number, actor, at)
            else:  # notice
                notice, language = str(body.get("notice", "")), str(body.get("language", "zh-CN"))
                await asyncio.to_thread(matters.send_notice, number, actor, notice, language)
        except MatterRefused as exc:
            return _error(str(exc), 409)
        log.info("event=desk.matter agent=%s action=%s matter=%s", agent_id, action, number)
        return _json({"number": number, "action": action})

    async def call(self, request: web.Request) -> web.Response:
        """A call the agent answered, as its pop showed it (the page reloaded, an earlier
        call); another agent's call is refused."""
        agent_id = self._agent(request)
        linkedid = request.match_info["linkedid"][:64]
        caller = await self._caller_of_call(agent_id, linkedid)
        if caller is None:
            return _error("not a call you answered", 403)
        return _json(await self.desk.card_of(agent_id, linkedid, caller, None))

    async def wrap_up(self, request: web.Request) -> web.Response:
        agent_id = self._agent(request)
        body = await _body(request)
        linkedid = str(body.get("linkedid", ""))[:64]
        code = str(body.get("code", ""))
        note = str(body.get("note", ""))
        if not linkedid or not code:
            return _error("linkedid and code are needed", 400)
        try:
            row = await asyncio.to_thread(
                desk_store.save_wrap_up,
                self.desk.sessions,
                self.desk.policy,
                agent_id,
                linkedid,
                code,
                note,
            )
        except desk_store.WrapUpRefused as exc:
            return _error(str(exc), 409)
        log.info("event=desk.wrap-up agent=%s linkedid=%s code=%s", agent_id, linkedid, code)
        self.desk.wrapped(agent_id, linkedid)
        await self.agent_change(agent_id, WRAPPED_CHANGE, "")
        return _json({"linkedid": row.linkedid, "code": row.code, "at": row.at.isoformat()})

    async def state(self, request: web.Request) -> web.Response:
        """available / pause (with a reason) / logout: the change a seat's feature code makes."""
        agent_id = self._agent(request)
        body = await _body(request)
        change, reason = str(body.get("change", "")), str(body.get("reason", ""))
        if change not in STATE_CHANGES:
            return _error(f"change: expected one of {', '.join(STATE_CHANGES)}", 400)
        if change == "pause" and reason not in set(PAUSE_REASONS.values()):
            reasons = ", ".join(sorted(set(PAUSE_REASONS.values())))
            return _error(f"pause reason: expected one of {reasons}", 400)
        now = self.desk.state(agent_id)["state"]
        if change == "available":
            steps = ["login"] if now == "logged-out" else ["resume"]
        else:
            steps = [change]
        try:
            for step in steps:
                await self.agent_change(agent_id, step, reason if step == "pause" else "")
        except WebError as exc:
            return _error(str(exc), 503)
        log.info("event=desk.state agent=%s change=%s", agent_id, change)
        return _json({"sent": steps})


def _when(text: str) -> datetime | None:
    """An ISO time with its zone (the page sends the browser's offset)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None
