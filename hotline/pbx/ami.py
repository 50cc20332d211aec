"""A thin, safe wrapper over panoramisk's AMI `Manager`.

What it adds (see LIBRARY-FACTS.md):
- login is awaited with a timeout and checked: a wrong secret is an `AmiError`, not silence;
- every action has a timeout, and header values lose CR/LF (no injected actions);
- actions are refused while disconnected, and actions that had no reply when the link dropped
  are failed, never replayed after the reconnect (a stale Originate must not dial later);
- bytes are decoded incrementally, so a UTF-8 character split across reads survives;
- events reach `on_event` as plain `dict[str, str]` (straight from the protocol, without
  panoramisk's per-pattern dispatch) and the callback must not block.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

from panoramisk import Manager
from panoramisk.actions import Action, Command
from panoramisk.ami_protocol import AMIProtocol

from hotline.pbx.settings import AmiSettings

log = logging.getLogger("hotline.ami")

Event = dict[str, str]


class AmiError(Exception):
    """Asterisk's manager interface cannot be used (one line for the user)."""


class AmiNotSent(AmiError):
    """The action never left (no AMI connection): Asterisk did nothing, it may be sent again."""


class _Utf8Protocol(AMIProtocol):  # type: ignore[misc]
    """Hands panoramisk only complete UTF-8 characters."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def data_received(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            super().data_received(text.encode("utf-8"))


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager handing every event to one callback. Its own `dispatch` matches
    each event against every registered pattern (fnmatch regexes) and, on FullyBooted, runs
    the hook that re-sends actions that had no reply before a reconnect; we register no
    patterns and never replay (`AmiClient._on_disconnect` fails those actions)."""

    def __init__(self, on_message: Callable[[Mapping[str, Any]], None], **config: Any) -> None:
        super().__init__(**config)
        self.callbacks.clear()
        self.patterns.clear()
        self.on_message = on_message

    def dispatch(self, event: Mapping[str, Any]) -> list[str]:
        self.on_message(event)
        return []


# Asterisk sends caller names C-escaped over AMI (ast_escape_c: a name's \ and " arrive as
# \\ and \"): undone for the printable ones, so a name is kept as the caller sent it; escaped
# control characters (\n, \r, ...) stay escaped, two plain characters.
_C_ESCAPED_NAMES = (
    "CallerIDName",
    "ConnectedLineName",
    "DestCallerIDName",
    "DestConnectedLineName",
)
_C_ESCAPE = re.compile(r"\\([\\\"'?])")


def unescape_names(event: Event) -> Event:
    for key in _C_ESCAPED_NAMES:
        value = event.get(key)
        if value is not None and "\\" in value:
            event[key] = _C_ESCAPE.sub(r"\1", value)
    return event


def clean(value: object) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")


def plain_event(message: Mapping[str, Any]) -> Event:
    """panoramisk's case-insensitive Message as a plain dict of str, line breaks in values
    made spaces and a repeated header's values joined with ", ".

    The hot path of every event: its stored (key, value) pairs become a dict in one step, and
    one join tells whether any value needs more (a list, a non-str, a CR or LF); only then is
    the event converted header by header."""
    store = getattr(message, "_store", None)
    if type(store) is dict:
        out: Event = dict(store.values())
        try:
            joined = "".join(out.values())
        except TypeError:  # a repeated header (a list) or a value that is not a str
            pass
        else:
            if "\r" not in joined and "\n" not in joined:
                return out
    items = store.values() if isinstance(store, dict) else message.items()
    out = {}
    for key, value in items:
        text = ", ".join(value) if isinstance(value, list) else str(value)
        out[str(key)] = clean(text) if "\r" in text or "\n" in text else text
    return out


def event_name(message: Mapping[str, Any]) -> object:
    """A panoramisk Message's Event header, read without converting the message."""
    store = getattr(message, "_store", None)
    if type(store) is dict:
        pair = store.get("event")
        return pair[1] if pair else None
    return message.get("Event")


class AmiClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        on_event: Callable[[Event], None] | None = None,
        on_login: Callable[[], None] | None = None,
        on_lost: Callable[[], None] | None = None,
        connect_timeout: float = 5.0,
        action_timeout: float = 5.0,
        events: Collection[str] | None = None,
    ) -> None:
        """`events`: the event names `on_event` follows (None: every event); the others are
        dropped before they are converted, which is most of a busy Asterisk's stream.
        `on_login`: after every (re)login; `on_lost`: when the connection drops (panoramisk
        then reconnects by itself)."""
        self.host, self.port, self.username = host, port, username
        self._secret = secret
        self.on_event = on_event
        self.events: frozenset[str] | None = None
        if events is not None:
            self.follow(events)
        self.on_login_cb = on_login
        self.on_lost_cb = on_lost
        self.connect_timeout = connect_timeout
        self.action_timeout = action_timeout
        self.manager: Manager | None = None
        self.logged_in = False
        self.fully_booted = asyncio.Event()

    def follow(self, events: Collection[str]) -> None:
        """From now on `on_event` gets these events only (the composition root sets the union
        of what its parts read once they are all built)."""
        self.events = frozenset(events) | {"FullyBooted"}

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    async def connect(self) -> None:
        """Connect and log in; raise AmiError with the reason on failure."""
        try:  # probe first: panoramisk would swallow a refused connection and retry forever
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
            writer.close()
        except (OSError, TimeoutError) as exc:
            reason = (
                os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else "timed out"
            )
            raise AmiError(f"cannot reach Asterisk AMI at {self.where}: {reason}") from None
        manager = _Manager(
            self._dispatch,
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self._secret,
            protocol_factory=_Utf8Protocol,
            ping_delay=10,
            ping_interval=10,
            reconnect_timeout=2,
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
        )
        self.manager = manager
        try:
            await asyncio.wait_for(manager.connect(), self.connect_timeout)
            future = manager.authenticated_future
            response = (
                await asyncio.wait_for(asyncio.shield(future), self.connect_timeout)
                if future is not None
                else None
            )
        except (OSError, TimeoutError):
            self.close()
            raise AmiError(
                f"Asterisk AMI at {self.where} did not answer the login in time"
            ) from None
        if response is None or not response.success:
            self.close()
            raise AmiError(
                f"AMI login refused for user {self.username!r} at {self.where}: "
                "check [ami] username and secret against Asterisk's manager.conf"
            )
        self.logged_in = True

    def _on_login(self, _manager: Manager) -> None:
        self.logged_in = True
        log.info("event=ami.login where=%s", self.where)
        if self.on_login_cb is not None:
            self.on_login_cb()

    def _on_disconnect(self, manager: Manager, _exc: object) -> None:
        self.logged_in = False
        self.fully_booted.clear()
        stale = list(manager.awaiting_actions)
        manager.awaiting_actions.clear()  # never replay call control after a reconnect
        for action in stale:
            if not action.future.done():
                action.future.set_exception(AmiError("AMI connection lost before a reply"))
        log.warning("event=ami.disconnected where=%s dropped_actions=%d", self.where, len(stale))
        if self.on_lost_cb is not None:
            self.on_lost_cb()

    def _dispatch(self, message: Mapping[str, Any]) -> None:
        if self.events is not None and event_name(message) not in self.events:
            return
        event = unescape_names(plain_event(message))
        if event.get("Event") == "FullyBooted":
            self.fully_booted.set()
        if self.on_event is not None:
            self.on_event(event)

    async def action(self, name: str, timeout: float | None = None, **headers: object) -> Any:
        if self.manager is None or not self.logged_in:
            raise AmiNotSent(f"AMI not connected: {name} not sent")
        # a list value becomes one header line per item (e.g. several Variable: lines)
        payload = {
            "Action": name,
            **{
                k: [clean(x) for x in v] if isinstance(v, list) else clean(v)
                for k, v in headers.items()
            },
        }
        action = (Command if "Command" in payload else Action)(payload)  # as panoramisk does
        future = self.manager.send_action(action)
        try:
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError:
            # panoramisk keeps an action until its reply completes it, and a reply that comes
            # after we stopped waiting never does: each timed-out action was kept for good
            self.manager.protocol.responses.pop(action.id, None)
            raise AmiError(
                f"AMI {name}: no reply within {timeout or self.action_timeout:g} s"
            ) from None

    async def wait_fully_booted(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.fully_booted.wait(), timeout)
        except TimeoutError:
            raise AmiError(
                f"Asterisk at {self.where} did not report FullyBooted in {timeout:g} s"
            ) from None

    def close(self) -> None:
        if self.manager is not None:
            self.manager.on_disconnect = lambda *_: None
            self.manager.connection_lost = lambda *_: None  # no reconnect after we close
            self.manager.close()
            self.manager = None
        self.logged_in = False


async def one_action(
    ami: AmiSettings,
    name: str,
    *,
    admin: bool = False,
    timeout: float | None = None,
    **headers: object,
) -> Any:
    """Log in, send one action, log out: the way in for admin commands. `admin`: as the
    admin user (configuration reloads), else as the controller's user."""
    username, secret = (
        (ami.admin_username, ami.admin_secret) if admin else (ami.username, ami.secret)
    )
    if not username or not secret:
        raise AmiError("[ami] admin_username and admin_secret are needed for this command")
    client = AmiClient(
        ami.host,
        ami.port,
        username,
        secret,
        connect_timeout=ami.connect_timeout,
        action_timeout=timeout or ami.action_timeout,
    )
    await client.connect()
    try:
        return await client.action(name, **cast(dict[str, Any], headers))
    finally:
        client.close()


async def originate(
    ami: AmiClient,
    channel: str,
    context: str,
    ring_seconds: int,
    caller_id: str,
    variables: list[str],
    reply_within: float,
) -> Mapping[str, Any] | None:
    """Ring `channel`; once it answers, it runs `context`'s `s` extension (an asynchronous
    AMI Originate). Returns the OriginateResponse event, whose Response is Success once the
    far end answered (None: none came). Raises AmiError as `AmiClient.action` does
    (AmiNotSent: Asterisk did nothing)."""
    reply = await ami.action(
        "Originate",
        timeout=reply_within,
        Channel=channel,
        Context=context,
        Exten="s",
        Priority="1",
        Timeout=str(ring_seconds * 1000),
        CallerID=caller_id,
        Async="true",
        Variable=variables,
    )
    messages = reply if isinstance(reply, list) else [reply]
    return next((m for m in messages if m.get("Event") == "OriginateResponse"), None)
