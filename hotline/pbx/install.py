"""hotline on an Asterisk the admin already runs (Debian's package, a FreePBX- or Wazo-style
box): the configuration pieces to add by hand (`hotline asterisk render --out DIR`), and a
check over AMI, with hotline's own least-privilege user, of what is present or missing
(`hotline asterisk check`), one line each with the fix.

What the check can see over AMI: modules (the IFMODULE() dialplan function, func_module),
which actions the user may send (ListCommands: its write classes), hotline's contexts and the
AGI address in them (ShowDialPlan). What it reads on this machine: features.conf in
`[dialplan] asterisk_config` and the recordings folder. That Asterisk can reach the FastAGI
address is checked from here (a TCP connection to it) and by a real call, not over AMI.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.pbx.dialplan import (
    CALLBACK_CONTEXT,
    INBOUND_CONTEXT,
    INCLUDE_FILE,
    INCLUDE_LINE,
    SEATS_CONTEXT,
    SURVEY_FEATURE,
    DialplanParts,
    render,
    render_features,
)
from hotline.pbx.settings import AgiSettings, AmiSettings

# The AMI user's classes (least privilege; the sandbox's manager.conf grants the same, and a
# test holds the two together). read: FullyBooted (system); channels, dials, hang-ups, device
# states and ChanSpy (call); the seats' feature codes and callback results (user).
AMI_READ = ("system", "call", "user")
AMI_WRITE = ("call", "originate", "reporting", "user")
# The actions hotline sends: the write class that allows each, and the module providing it
ACTIONS = {
    "Getvar": ("call", ""),
    "Hangup": ("call", ""),
    "MixMonitorMute": ("call", "app_mixmonitor.so"),
    "Originate": ("originate", ""),
    "CoreShowChannels": ("reporting", ""),
    "DeviceStateList": ("reporting", ""),
    "UserEvent": ("user", ""),
}
MODULES = {
    "res_agi.so": "the controller is reached by FastAGI",
    "app_mixmonitor.so": "every call is recorded",
    "app_chanspy.so": "supervisors listen, whisper and barge",
    "res_pjsip.so": "seats and callers are PJSIP endpoints",
    "app_queue.so": "the fallback queue when the controller is away",
    "func_module.so": "this check reads modules with IFMODULE()",
}


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""

    def __str__(self) -> str:
        return f"ok       {self.what}" if self.ok else f"MISSING  {self.what}: {self.fix}"


@dataclass(frozen=True)
class InstallParts:
    """What the snippets and the check are made of, given by the caller above
    (hotline.settings.install_parts)."""

    dialplan: DialplanParts
    ami: AmiSettings
    agi: AgiSettings
    recordings: Path  # the recordings folder as hotline sees it ([recordings] directory)


def snippets(parts: InstallParts) -> dict[str, str]:
    """File name -> contents an admin adds to their Asterisk; each says where it goes."""
    ami = parts.ami
    seats = parts.dialplan.directory.seats
    pjsip = [
        "; pjsip.conf (append, or adapt to your own endpoints): one endpoint per seat, in the",
        f"; [{SEATS_CONTEXT}] context so their feature codes (*11-*14, *5) reach hotline",
    ]
    for endpoint in sorted(seats):
        pjsip += [
            "",
            f"[{endpoint}]",
            "type = endpoint",
            f"context = {SEATS_CONTEXT}",
            "disallow = all",
            "allow = ulaw,alaw",
            "dtmf_mode = rfc4733",
            f"aors = {endpoint}",
            "",
            f"[{endpoint}]",
            "type = aor",
            "max_contacts = 1",
        ]
    return {
        "manager.conf": (
            "; manager.conf (append): hotline's AMI user, least privilege. The secret is the\n"
            "; one in hotline.toml [ami] secret (or $HOTLINE_AMI_SECRET); permit only the\n"
            "; controllers' addresses.\n"
            f"[{ami.username}]\n"
            "secret = CHANGE-ME\n"
            "deny = 0.0.0.0/0.0.0.0\n"
            "permit = 127.0.0.1/255.255.255.255\n"
            f"read = {','.join(AMI_READ)}\n"
            f"write = {','.join(AMI_WRITE)}\n"
        ),
        INCLUDE_FILE: (
            f"; {INCLUDE_FILE}: put next to extensions.conf (hotline dialplan load writes it)\n"
            + render(parts.dialplan)
        ),
        "extensions.conf": (
            "; extensions.conf (add once, anywhere at top level): hotline's contexts\n"
            f"{INCLUDE_LINE}\n"
            f"; and route the 12333 number's incoming calls to [{INBOUND_CONTEXT}],\n"
            f"; e.g. the trunk endpoint's context = {INBOUND_CONTEXT}\n"
        ),
        "features.conf": (
            "; features.conf (append to [applicationmap], or add the section)\n" + render_features()
        ),
        "pjsip.conf": "\n".join(pjsip) + "\n",
        "README.txt": (
            "hotline on your Asterisk: add each file's content where its first lines say,\n"
            "reload Asterisk (core reload), then run `hotline asterisk check`.\n"
            f"Recordings: Asterisk writes {parts.dialplan.recordings} (as it sees\n"
            f"it); hotline reads and archives {parts.recordings}: the same folder,\n"
            "writable by the asterisk user and readable by hotline's (e.g. a shared group).\n"
        ),
    }


Action = Callable[..., Awaitable[Any]]


async def check(parts: InstallParts, action: Action) -> list[Finding]:
    """Every piece, present or missing, asked over AMI with `action` (hotline's user)."""
    found: list[Finding] = []
    loaded: set[str] = set()
    for module, why in MODULES.items():
        reply = await action("Getvar", Variable=f"IFMODULE({module})")
        if _value(reply) == "1":
            loaded.add(module)
        found.append(Finding(module in loaded, f"module {module} ({why})", f"module load {module}"))
    commands = await action("ListCommands")
    allowed = {name for name, _description in _fields(commands)}
    for name, (klass, module) in ACTIONS.items():
        fix = (
            f"load {module} first"
            if module and module not in loaded
            else f"add {klass} to its write classes in manager.conf"
        )
        found.append(
            Finding(
                name in allowed,
                f"AMI user {parts.ami.username} may send {name} (write = {klass})",
                fix,
            )
        )
    found += await _dialplan(parts, action)
    found.append(_features(parts))
    found.append(_recordings(parts))
    found.append(_fastagi(parts))
    return found


async def _dialplan(parts: InstallParts, action: Action) -> list[Finding]:
    findings = []
    agi_target = f"agi://{parts.agi.host}:{parts.agi.port}/"
    for context in (INBOUND_CONTEXT, SEATS_CONTEXT, CALLBACK_CONTEXT):
        reply = await action("ShowDialPlan", Context=context)
        rows = [dict(_fields(m)) for m in (reply if isinstance(reply, list) else [reply])]
        steps = [r for r in rows if r.get("Event") == "ListDialplan"]
        fix = f"add '{INCLUDE_LINE}' to extensions.conf and reload the dialplan"
        findings.append(Finding(bool(steps), f"dialplan context [{context}]", fix))
        if context == INBOUND_CONTEXT and steps:
            number = parts.dialplan.dialplan.number
            agi = [r.get("AppData", "") for r in steps if r.get("Application") == "AGI"]
            findings.append(
                Finding(
                    any(r.get("Extension") == number for r in steps),
                    f"the number {number} enters [{context}]",
                    f"render the dialplan again for [dialplan] number = {number}",
                )
            )
            findings.append(
                Finding(
                    any(a.startswith(agi_target) for a in agi),
                    f"[{context}] calls the controller at {agi_target}",
                    "the rendered AGI address differs from [fastagi] in hotline.toml: "
                    f"render and install {INCLUDE_FILE} again",
                )
            )
    return findings


def _features(parts: InstallParts) -> Finding:
    path = parts.dialplan.dialplan.asterisk_config / "features.conf"
    what = f"features.conf has {SURVEY_FEATURE} (an agent's *5 sends the caller to the survey)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return Finding(False, what, f"{path} is not readable here: add the features.conf snippet")
    has = any(line.split("=>")[0].strip() == SURVEY_FEATURE for line in text.splitlines())
    return Finding(has, what, f"append the features.conf snippet to {path}")


def _recordings(parts: InstallParts) -> Finding:
    folder = parts.recordings
    ok = folder.is_dir() and os.access(folder, os.R_OK | os.W_OK | os.X_OK)
    return Finding(
        ok,
        f"recordings folder {folder} readable and writable by hotline",
        "create it, owned by the asterisk user, with a group hotline's user is in (g+rwx)",
    )


def _fastagi(parts: InstallParts) -> Finding:
    where = f"{parts.agi.host}:{parts.agi.port}"
    try:
        with socket.create_connection((parts.agi.host, parts.agi.port), timeout=3):
            reachable = True
    except OSError:
        reachable = False
    return Finding(
        reachable,
        f"the controller listens for FastAGI on {where}",
        "start it (hotline serve); Asterisk must reach this address too",
    )


def write_snippets(parts: InstallParts, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in snippets(parts).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _value(reply: Any) -> str:
    return str(dict(_fields(reply)).get("Value", ""))


def _fields(message: Any) -> list[tuple[str, str]]:
    items = message.items() if hasattr(message, "items") else []  # panoramisk's Message
    return [(str(k), str(v)) for k, v in items]
