"""The matters feature's settings: due times per category, the second alert limit, the
departments and notices files, and how notices reach citizens by SMS. The defaults live here
once; `load_matters` reads the `[matters]` table of hotline.toml over them.

    [matters]
    departments = "departments.toml"     # [[department]] id, name, contact, district
    notices = "notices.toml"             # the one-time notification catalogue
    escalate_after_hours = 8             # working hours past due before the supervisor's alert
    alert_every = 60                     # seconds between looks for overdue matters
    [matters.due]                        # per category: "N days" (working days) or "N hours"
    consultation = "0 days"              # the same working day
    complaint = "5 days"
    [matters.sms]
    sender = "outbox"                    # or "http": a typical SMS gateway
    outbox_file = "../var/sms-outbox.jsonl"
    url = "https://sms.example/send"     # http only; the body is JSON {to, text, key}
    attempts = 3
    timeout = 5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.matters.departments import Department, load_departments
from hotline.matters.lifecycle import CATEGORIES, DuePolicy, DueRule
from hotline.matters.notices import Catalogue, load_notices
from hotline.tomltables import Table

SENDERS = ("outbox", "http")
_DUE = re.compile(r"^(\d{1,3}) (days?|hours?)$")


def default_due() -> DuePolicy:
    return DuePolicy(
        rules={
            "consultation": DueRule(working_days=0),
            "message": DueRule(working_days=1),
            "complaint": DueRule(working_days=5),
            "report": DueRule(working_days=5),
            "petition": DueRule(working_days=10),
        },
        default=DueRule(working_days=5),
        escalate_after_hours=8,
    )


@dataclass(frozen=True)
class SmsSettings:
    sender: str = "outbox"  # one of SENDERS
    outbox_file: Path | None = None  # the file sink (JSON lines); None: the table only
    url: str = ""  # the HTTP gateway (sender "http")
    attempts: int = 3
    timeout: float = 5.0


@dataclass(frozen=True)
class MatterSettings:
    due: DuePolicy = field(default_factory=default_due)
    departments_file: Path | None = None
    notices_file: Path | None = None
    alert_every: int = 60
    sms: SmsSettings = field(default_factory=SmsSettings)
    # read from the two files (empty without them)
    departments: dict[str, Department] = field(default_factory=dict)
    notices: Catalogue = field(default_factory=Catalogue)


def parse_due(text: str) -> DueRule:
    """'0 days' (the same working day), '5 days', '4 hours' -> DueRule; ValueError otherwise."""
    match = _DUE.match(text.strip())
    if not match:
        raise ValueError(text)
    amount, unit = int(match.group(1)), match.group(2)
    if unit.startswith("hour"):
        if amount == 0:
            raise ValueError(text)
        return DueRule(working_hours=amount)
    return DueRule(working_days=amount)


def load_matters(root: Table) -> MatterSettings:
    """[matters] of hotline.toml over the defaults (relative paths from the file's folder)."""
    t = root.table("matters", required=False)
    base = MatterSettings()
    rules = dict(base.due.rules)
    due_t = t.table("due", required=False)
    for category in due_t.data:
        if category not in CATEGORIES:
            raise due_t.error(category, f"a category among {', '.join(CATEGORIES)}")
        text = due_t.text(category, expected="'N days' or 'N hours', e.g. '5 days'")
        try:
            rules[category] = parse_due(text)
        except ValueError:
            raise due_t.error(category, "'N days' or 'N hours', e.g. '5 days'", text) from None
    due = DuePolicy(
        rules=rules,
        default=base.due.default,
        escalate_after_hours=t.integer(
            "escalate_after_hours", base.due.escalate_after_hours, 1, 24 * 30
        ),
    )
    sms_t = t.table("sms", required=False)
    sender = sms_t.text("sender", SmsSettings.sender)
    if sender not in SENDERS:
        raise sms_t.error("sender", f"one of {', '.join(SENDERS)}", sender)
    url = sms_t.opt_text("url") or ""
    if sender == "http" and not url.startswith(("http://", "https://")):
        raise sms_t.error("url", "the gateway's http(s):// address (sender = 'http')", url)
    sms = SmsSettings(
        sender=sender,
        outbox_file=sms_t.path("outbox_file") if "outbox_file" in sms_t.data else None,
        url=url,
        attempts=sms_t.integer("attempts", SmsSettings.attempts, 1, 10),
        timeout=sms_t.number("timeout", SmsSettings.timeout, 0.1),
    )
    departments_file = t.path("departments") if "departments" in t.data else None
    notices_file = t.path("notices") if "notices" in t.data else None
    return MatterSettings(
        due=due,
        departments_file=departments_file,
        notices_file=notices_file,
        alert_every=t.integer("alert_every", base.alert_every, 5, 3600),
        sms=sms,
        departments=load_departments(departments_file) if departments_file else {},
        notices=load_notices(notices_file) if notices_file else Catalogue(),
    )


def due_text(rule: DueRule) -> str:
    """A due rule as `[matters.due]` writes it ('5 days', '0 days', '4 hours')."""
    if rule.working_hours:
        return f"{rule.working_hours} hour" + ("s" if rule.working_hours != 1 else "")
    return f"{rule.working_days} day" + ("s" if rule.working_days != 1 else "")


def dump_matters(settings: MatterSettings) -> dict[str, Any]:
    """`settings` as the `[matters]` table `load_matters` reads back into them."""
    sms = settings.sms
    table: dict[str, Any] = {
        "escalate_after_hours": settings.due.escalate_after_hours,
        "alert_every": settings.alert_every,
        "due": {category: due_text(rule) for category, rule in settings.due.rules.items()},
        "sms": {"sender": sms.sender, "attempts": sms.attempts, "timeout": sms.timeout},
    }
    if sms.url:
        table["sms"]["url"] = sms.url
    if sms.outbox_file is not None:
        table["sms"]["outbox_file"] = str(sms.outbox_file)
    if settings.departments_file is not None:
        table["departments"] = str(settings.departments_file)
    if settings.notices_file is not None:
        table["notices"] = str(settings.notices_file)
    return table
