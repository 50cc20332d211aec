"""The Asterisk contexts rendered for the hotline's number.

The dialplan is the safety net: it answers, starts the full-call recording, enters the
controller over FastAGI, and if the controller did not finish the call (unreachable, crashed:
`HOTLINE_HANDLED` unset) it delivers the caller to the static fallback queue, a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.pbx.agi_channel import AGENT_LEG_CONTEXT
from hotline.pbx.ami import one_action
from hotline.pbx.settings import AmiSettings, DialplanSettings
from ivr.runtime import HANDLED_VARIABLE
from recordings.naming import mixmonitor_application
from routing.directory import Directory

INBOUND_CONTEXT = "hotline-inbound"
FALLBACK_QUEUE = "hotline-fallback"


SEATS_CONTEXT = "hotline-seats"
SITE_TRUNK_CONTEXT = "hotline-from-site"  # where a trunk from another site's box enters
RELAY_RING = 120  # seconds a relayed seat rings (the call's own Dial times out first)
CALLBACK_CONTEXT = "hotline-callback"
SURVEY_CONTEXT = "hotline-survey"  # where a survey call is placed (hotline.surveys)
CALLBACK_EVENT = "HotlineCallback"
CALLERS_TRUNK = "callers"
AGENT_EVENT = "HotlineAgent"  # the UserEvent a seat's feature code raises
PAUSE_REASONS = {"1": "lunch", "2": "training", "3": "meeting", "4": "other"}
# the agent entered a call's wrap-up code on their desk (sent by the controller that stored it,
# heard by every controller: each one's presence releases the agent)
WRAPPED_CHANGE = "wrapped"


SURVEY_FEATURE = "hotline-survey"  # features.conf applicationmap entry
SURVEY_FEATURE_CODE = "*5"  # an agent sends the caller to the survey (and leaves the call)
TRANSFER_CONTEXT = "hotline-transfer"  # where an agent's blind transfer takes the caller
TRANSFER_RING_SECONDS = 30
# seconds between stopping and restarting the recording on a transfer (render_transfer)
TRANSFER_RECORDING_GAP = 0.1


@dataclass(frozen=True)
class DialplanParts:
    """What the contexts are rendered from: the parts of the configuration they need, given
    by the caller above (hotline.settings.dialplan_parts), so the wire reads no whole
    configuration."""

    dialplan: DialplanSettings
    directory: Directory
    recordings: str  # the recordings folder as Asterisk sees it ([recordings] asterisk_directory)
    entry_flow: str  # [flows] entry: the flow a call to the number starts in
    survey_flow: str  # [surveys] flow
    source: Path  # the configuration file, named in errors


def render(parts: DialplanParts, site: str = "main") -> str:
    """Everything hotline puts in `site`'s Asterisk dialplan (extensions_hotline.conf): the
    main box's ([ami]), or a `[[site]]` box's, whose calls enter the same controllers."""
    return "\n".join(
        [
            render_inbound(parts, site),
            render_seats(),
            render_callback(parts),
            render_agent_leg(),
            render_transfer(parts, site),
            render_survey(parts, site),
            render_from_site(parts, site),
        ]
    )


def render_from_site(parts: DialplanParts, site: str) -> str:
    """Calls for a seat coming over a trunk from another box: a box's own seats, and on the
    main box every seat (relayed on to its box: `Directory.dial_target`). One extension per
    seat: the dialled name never reaches Dial() unchecked."""
    directory = parts.directory
    lines = [f"[{SITE_TRUNK_CONTEXT}]"]
    for endpoint, seat in directory.seats.items():
        if site == "main" or seat.site == site:
            target = directory.dial_target(endpoint, site)
            lines += [
                f"exten => {endpoint},1,Dial(PJSIP/{target},{RELAY_RING})",
                " same => n,Hangup()",
            ]
    return "\n".join(lines) + "\n"


def render_features() -> str:
    """features.conf: the agent's *5 hangs up the agent's own leg; the caller stays on the
    line (Dial's g option) and the controller takes them to the survey."""
    return f"[applicationmap]\n{SURVEY_FEATURE} => {SURVEY_FEATURE_CODE},self,Hangup\n"


def render_agent_leg() -> str:
    """Run on each agent leg before it rings (Dial's b option): the survey feature code, and
    where the phone's transfer key (a SIP REFER) sends the caller."""
    return f"""[{AGENT_LEG_CONTEXT}]
exten => s,1,Set(DYNAMIC_FEATURES={SURVEY_FEATURE})
 same => n,Set(TRANSFER_CONTEXT={TRANSFER_CONTEXT})
 same => n,Return()
"""


def render_transfer(parts: DialplanParts, site: str = "main") -> str:
    """An agent's blind transfer to a colleague's agent number (the phone's transfer key, a
    SIP REFER): Asterisk takes the caller's channel out of the bridge and runs it here, and
    rings the colleague's usual seat; unanswered, the fallback queue (a person, never
    silence). One written-out extension per numeric agent id: nothing from the REFER is
    expanded.

    The recording is restarted here, on the call's own files (MixMonitor's a option: still
    one file per call). MixMonitor's audiohook converts what the caller is sent (u-law) to
    linear with a converter kept for as long as the channel has an audiohook; Debian's
    Asterisk drops, as "late", every frame whose RTP sequence number is behind the last one
    that converter saw, so the colleague's stream (a new sequence) would be missing from the
    agent and mixed files until it caught up with the first agent's (the whole colleague's
    talk, or minutes; the caller hears it all). Stopping the recording and letting a frame
    pass (Wait: the caller's audio, and the silence transmit_silence sends) removes the
    channel's last audiohook, and with it that converter; the new MixMonitor starts afresh."""
    directory = parts.directory
    record = mixmonitor_application(parts.recordings, append=True)
    lines = [f"[{TRANSFER_CONTEXT}]"]
    for agent in directory.agents.values():
        if not (agent.id.isascii() and agent.id.isdigit()):
            continue  # a phone's keypad dials digits only
        seat = directory.dial_target(agent.seat, site)
        lines += [
            f"exten => {agent.id},1,StopMixMonitor()",
            f" same => n,Wait({TRANSFER_RECORDING_GAP})",
            f" same => n,{record}",
            f" same => n,Dial(PJSIP/{seat},{TRANSFER_RING_SECONDS})",
            f" same => n,Queue({FALLBACK_QUEUE},,,,600)",
            " same => n,Hangup()",
        ]
    return "\n".join(lines) + "\n"


def render_survey(parts: DialplanParts, site: str = "main") -> str:
    """A survey call the controller originated to a caller: recorded like any call, then the
    survey flow (the job's id rides in HOTLINE_SURVEY, set by the controller)."""
    record = mixmonitor_application(parts.recordings)
    return f"""[{SURVEY_CONTEXT}]
exten => s,1,{record}
{_same(_agi_steps(parts, parts.survey_flow, site))}
 same => n,Hangup()
"""


def _agi_steps(parts: DialplanParts, flow: str, site: str = "main") -> list[str]:
    """The dialplan steps that enter the controller: one AGI() with one controller; with
    several ([dialplan] agi_addresses) each call starts at the next one in turn (a global
    counter: round-robin) and goes on to the others while AGISTATUS is FAILURE (that
    controller could not be reached, or died before handling the call). DNS SRV (`hagi://`)
    would need a DNS server; this needs nothing but the dialplan. A site box names itself in
    the AGI's first argument: the controller dials seats from where the call is."""
    dp = parts.dialplan
    if dp.agi == "classic" or not dp.agi_more:
        return [f"AGI({_agi(parts, flow, site)})"]
    addresses = [(dp.agi_host, dp.agi_port), *dp.agi_more]
    urls = [f"agi://{host}:{port}/{flow}" for host, port in addresses]
    arg = "" if site == "main" else f",{site}"
    n = len(urls)
    turn = "HOTLINE_AGI_TURN"
    steps = [
        f"Set(GLOBAL({turn})=$[(0${{GLOBAL({turn})}} + 1) % {n}])",
        f"Goto(agi_turn_${{GLOBAL({turn})}})",
    ]
    for first in range(n):
        order = urls[first:] + urls[:first]
        steps.append(f"(agi_turn_{first}),AGI({order[0]}{arg})")
        for url in order[1:]:
            steps += [
                f'GotoIf($["${{AGISTATUS}}" != "FAILURE" | "${{{HANDLED_VARIABLE}}}" = "1"]'
                "?agi_done)",
                # names the address tried next (the one that failed is the one before it)
                "Verbose(1,hotline: controller unreachable (AGISTATUS=${AGISTATUS})"
                f" -> trying {url})",
                f"AGI({url}{arg})",
            ]
        steps.append("Goto(agi_done)")
    steps.append("(agi_done),NoOp()")
    return steps


def _same(steps: list[str]) -> str:
    """Steps as ` same => n,...` lines (`(label),App()` becomes `n(label),App()`)."""
    return "\n".join(
        f" same => n{step}" if step.startswith("(") else f" same => n,{step}" for step in steps
    )


def _agi(parts: DialplanParts, flow: str, site: str) -> str:
    dp = parts.dialplan
    if dp.agi == "classic":  # a process per call; its arguments are ours, never the caller's
        if site != "main":
            raise DialplanError(
                f"{parts.source}: [dialplan] agi = 'classic' serves the main box only; "
                f"site {site!r} needs agi = 'fastagi'"
            )
        return f"{dp.classic_command},{flow}"
    return f"agi://{dp.agi_host}:{dp.agi_port}/{flow}" + ("" if site == "main" else f",{site}")


def render_callback(parts: DialplanParts) -> str:
    """A booked callback: Asterisk rang the agent (AMI Originate); now dial the caller, who
    is recorded like any call, and report how it went. The number was checked (digits only)
    before it was stored; the dialled trunk is the callers' one."""
    # this channel is the agent's (originated first): its received audio is the agent's
    record = mixmonitor_application(parts.recordings, caller_side=False)
    talk = "Talk: ${ANSWEREDTIME}"  # seconds the citizen talked (Dial sets it)
    return f"""[{CALLBACK_CONTEXT}]
exten => s,1,{record}
 same => n,Dial(PJSIP/${{HOTLINE_NUMBER}}@{CALLERS_TRUNK},30)
 same => n,Hangup()
exten => h,1,UserEvent({CALLBACK_EVENT},Id: ${{HOTLINE_CALLBACK}},Status: ${{DIALSTATUS}},{talk})
"""


def render_seats() -> str:
    """Feature codes an agent dials from the seat: *11 log in, *12 log out, *13N pause with
    reason N (1 lunch, 2 training, 3 meeting, 4 other), *14 resume. Each raises a UserEvent
    the controller folds into presence; the endpoint comes from Asterisk, not the caller."""
    codes = [
        ("*11", "login", "agent-loginok"),
        ("*12", "logout", "agent-loggedoff"),
        ("*14", "resume", "de-activated"),
    ]
    lines = [f"[{SEATS_CONTEXT}]"]
    for code, change, sound in codes:
        lines += [
            f"exten => {code},1,Answer()",
            f" same => n,UserEvent({AGENT_EVENT},Change: {change},"
            "Endpoint: ${CHANNEL(endpoint)})",
            f" same => n,Playback({sound})",
            " same => n,Hangup()",
        ]
    lines += [
        "exten => _*13[1-4],1,Answer()",
        f" same => n,UserEvent({AGENT_EVENT},Change: pause,Reason: ${{EXTEN:3}},"
        "Endpoint: ${CHANNEL(endpoint)})",
        " same => n,Playback(activated)",
        " same => n,Hangup()",
    ]
    return "\n".join(lines) + "\n"


def render_inbound(parts: DialplanParts, site: str = "main") -> str:
    dp = parts.dialplan
    record = mixmonitor_application(parts.recordings)
    agi = _same(_agi_steps(parts, parts.entry_flow, site))
    return f"""[{INBOUND_CONTEXT}]
exten => {dp.number},1,Answer()
 same => n,{record}
{agi}
 same => n,GotoIf($["${{{HANDLED_VARIABLE}}}" = "1"]?handled)
 same => n,Verbose(1,hotline: controller did not handle the call \
(AGISTATUS=${{AGISTATUS}}): fallback queue)
 same => n,Queue({FALLBACK_QUEUE},,,,600)
 same => n(handled),Hangup()
"""


INCLUDE_FILE = "extensions_hotline.conf"
INCLUDE_LINE = f"#include {INCLUDE_FILE}"


def install(parts: DialplanParts) -> list[str]:
    """Write our contexts to their own file and include it from extensions.conf.

    The admin's own files are never rewritten: extensions.conf only gains the include line
    (appended once). Returns what was done, for the user."""
    folder = parts.dialplan.asterisk_config
    main = folder / "extensions.conf"
    if not main.is_file():
        raise DialplanError(f"{main}: no extensions.conf here: check [dialplan] asterisk_config")
    ours = folder / INCLUDE_FILE
    done = []
    text = render(parts)
    if not ours.exists() or ours.read_text(encoding="utf-8") != text:
        ours.write_text(text, encoding="utf-8")
        done.append(f"wrote {ours}")
    current = main.read_text(encoding="utf-8")
    if not any(line.strip() == INCLUDE_LINE for line in current.splitlines()):
        with main.open("a", encoding="utf-8") as fh:
            fh.write(("" if current.endswith("\n") else "\n") + INCLUDE_LINE + "\n")
        done.append(f"added '{INCLUDE_LINE}' to {main}")
    return done


class DialplanError(Exception):
    """The dialplan cannot be installed or reloaded (one line)."""


async def reload(ami: AmiSettings, source: Path) -> str:
    """Ask Asterisk to reload its dialplan over AMI, as the admin user; its answer (`source`:
    the configuration file, named in the error)."""
    if not ami.admin_username or not ami.admin_secret:
        raise DialplanError(
            f"{source}: [ami] admin_username and admin_secret are needed to reload the dialplan"
        )
    reply = await one_action(ami, "Reload", admin=True, timeout=15, Module="pbx_config.so")
    answer = f"{reply.get('Response', '?')}: {reply.get('Message', '')}".strip()
    if reply.get("Response") != "Success":
        raise DialplanError(f"Asterisk refused the reload: {answer}")
    return answer
