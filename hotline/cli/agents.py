"""`hotline agent login|logout|pause|resume`: the same change a seat's feature code makes,
sent as the same AMI UserEvent, so the controller has one way in for both."""

from __future__ import annotations

from hotline.pbx.ami import one_action
from hotline.pbx.dialplan import AGENT_EVENT, PAUSE_REASONS
from hotline.settings import Settings
from hotline.tomltables import ConfigError


async def change_agent(settings: Settings, agent_id: str, change: str, reason: str) -> str:
    if agent_id not in settings.directory.agents:
        raise ConfigError(
            f"agent {agent_id!r} is not in the seat directory ({settings.seats_file})"
        )
    reasons = set(PAUSE_REASONS.values())
    if change == "pause" and reason not in reasons:
        raise ConfigError(f"--reason: expected one of {', '.join(sorted(reasons))}, got {reason!r}")
    await one_action(
        settings.ami,
        "UserEvent",
        UserEvent=AGENT_EVENT,
        Change=change,
        Agent=agent_id,
        Reason=reason if change == "pause" else "",
    )
    return f"agent {agent_id}: {change}" + (f" ({reason})" if change == "pause" else "")
