"""The Asterisk contexts rendered for the hotline's number.

The dialplan is the safety net: it answers, starts the full-call recording, enters the
controller over FastAGI, and if the controller did not finish the call (unreachable, crashed:
`HOTLINE_HANDLED` unset) it delivers the caller to the static fallback queue, a person.
"""

from __future__ import annotations

from recordings.naming import DIALPLAN_FILE_EXPRESSION

from .config import Settings
from .runtime import HANDLED_VARIABLE

INBOUND_CONTEXT = "hotline-inbound"
FALLBACK_QUEUE = "hotline-fallback"


def render_inbound(settings: Settings) -> str:
    dp = settings.dialplan
    record = f"{settings.recordings.asterisk_directory.rstrip('/')}/{DIALPLAN_FILE_EXPRESSION}"
    entry = settings.flows.entry
    if dp.agi == "classic":  # a process per call; its arguments are ours, never the caller's
        agi = f"{dp.classic_command},{entry}"
    else:
        agi = f"agi://{dp.agi_host}:{dp.agi_port}/{entry}"
    return f"""[{INBOUND_CONTEXT}]
exten => {dp.number},1,Answer()
 same => n,MixMonitor({record})
 same => n,AGI({agi})
 same => n,GotoIf($["${{{HANDLED_VARIABLE}}}" = "1"]?handled)
 same => n,Verbose(1,hotline: controller did not handle the call \
(AGISTATUS=${{AGISTATUS}}): fallback queue)
 same => n,Queue({FALLBACK_QUEUE},,,,600)
 same => n(handled),Hangup()
"""


INCLUDE_FILE = "extensions_hotline.conf"
INCLUDE_LINE = f"#include {INCLUDE_FILE}"


def install(settings: Settings) -> list[str]:
    """Write our contexts to their own file and include it from extensions.conf.

    The admin's own files are never rewritten: extensions.conf only gains the include line
    (appended once). Returns what was done, for the user."""
    folder = settings.dialplan.asterisk_config
    main = folder / "extensions.conf"
    if not main.is_file():
        raise DialplanError(f"{main}: no extensions.conf here: check [dialplan] asterisk_config")
    ours = folder / INCLUDE_FILE
    done = []
    text = render_inbound(settings)
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


async def reload(settings: Settings) -> str:
    """Ask Asterisk to reload its dialplan over AMI, as the admin user; its answer."""
    from .ami import AmiClient

    ami = settings.ami
    if not ami.admin_username or not ami.admin_secret:
        raise DialplanError(
            f"{settings.file}: [ami] admin_username and admin_secret are needed "
            "to reload the dialplan"
        )
    client = AmiClient(
        ami.host,
        ami.port,
        ami.admin_username,
        ami.admin_secret,
        connect_timeout=ami.connect_timeout,
        action_timeout=15,
    )
    await client.connect()
    try:
        reply = await client.action("Reload", Module="pbx_config.so")
    finally:
        client.close()
    answer = f"{reply.get('Response', '?')}: {reply.get('Message', '')}".strip()
    if reply.get("Response") != "Success":
        raise DialplanError(f"Asterisk refused the reload: {answer}")
    return answer
