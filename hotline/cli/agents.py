"""`hotline agent login|logout|pause|resume`: the same change a seat's feature code makes,
sent as the same AMI UserEvent, so the controller has one way in for both."""

from __future__ import annotations

import argparse
import asyncio

from hotline.cli.common import Subparsers, settings_of
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


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "agent",
        help="log an agent in or out, pause or resume (as the seat's *11-*14 do)",
        description="Tells the running controller, through Asterisk (an AMI UserEvent), that an "
        "agent logged in, logged out, paused (with a reason) or resumed.",
    )
    parser.add_argument("change", choices=["login", "logout", "pause", "resume"])
    parser.add_argument("agent", help="the agent's id in the seat directory, e.g. 1001")
    parser.add_argument(
        "--reason", default="other", help="pause: lunch, training, meeting or other (default other)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    print(asyncio.run(change_agent(settings, args.agent, args.change, args.reason)))
    return 0
