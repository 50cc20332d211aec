"""Asterisk's words for presence, translated into the router's: a pure mapping from AMI events
(device state, the seats' feature-code UserEvents) onto `routing.presence.Presence`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from hotline.pbx.dialplan import AGENT_EVENT, PAUSE_REASONS, WRAPPED_CHANGE
from routing.directory import Directory
from routing.presence import Presence


def site_lost(presence: Presence, directory: Directory, site: str, at: datetime) -> int:
    """`site`'s Asterisk cannot be followed (its AMI is gone, or has not answered yet): its
    seats are unreachable, so no caller waits out a ring timeout on a seat of a box that is
    down. The resync on its next login reads their states afresh. Returns how many seats."""
    seats = [seat.endpoint for seat in directory.seats.values() if seat.site == site]
    for endpoint in seats:
        presence.contact(endpoint, False, at)
    return len(seats)


def apply_event(
    presence: Presence,
    directory: Directory,
    event: Mapping[str, str],
    at: datetime,
    site: str = "main",
) -> str | None:
    """Apply one event from `site`'s Asterisk; returns a log description when it changed
    something we follow."""
    kind = event.get("Event")
    if kind == "DeviceStateChange":
        tech, _, endpoint = event.get("Device", "").partition("/")
        # that Asterisk's own seats only: another site's seat is not an endpoint there (its
        # device reads INVALID); its state comes from its own box's AMI, if followed
        if (
            tech != "PJSIP"
            or endpoint not in directory.seats
            or directory.seats[endpoint].site != site
        ):
            return None
        presence.device(endpoint, event.get("State", ""), at)
        return f"event=seat.state endpoint={endpoint} state={event.get('State', '')}"
    if kind == "UserEvent" and event.get("UserEvent") == AGENT_EVENT:
        agent_id = event.get("Agent", "")
        if not agent_id:
            agent = directory.agent_at_seat(event.get("Endpoint", ""))
            agent_id = agent.id if agent else ""
        if agent_id not in directory.agents:
            return f"event=agent.unknown endpoint={event.get('Endpoint', '-')}"
        change = event.get("Change", "")
        if change == "login":
            presence.login(agent_id, at)
        elif change == "logout":
            presence.logout(agent_id, at)
        elif change == "pause":
            reason = event.get("Reason", "")
            presence.pause(agent_id, PAUSE_REASONS.get(reason, reason or "other"), at)
        elif change == "resume":
            presence.resume(agent_id, at)
        elif change == WRAPPED_CHANGE:
            presence.wrapped_up(agent_id, at)
        else:
            return f"event=agent.unknown-change agent={agent_id} change={change!r}"
        return f"event=agent.{change} agent={agent_id}"
    return None


class PresenceFeed:
    """Presence fed from the AMI of every followed box: the controller's reader of device
    states and the seats' feature codes."""

    events: ClassVar[frozenset[str]] = frozenset({"DeviceStateChange", "UserEvent"})

    def __init__(self, presence: Presence, directory: Directory) -> None:
        self.presence = presence
        self.directory = directory

    def use_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.presence.reload(directory)

    def apply(self, event: Mapping[str, str], at: datetime, site: str = "main") -> str | None:
        return apply_event(self.presence, self.directory, event, at, site)

    def site_lost(self, site: str, at: datetime) -> int:
        return site_lost(self.presence, self.directory, site, at)
