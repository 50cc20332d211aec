"""The matters feature's settings: due times per category, the second alert limit, the
departments and notices files, and how notices reach citizens by SMS. The defaults live here
once, in the settings types; `load_matters` reads the `[matters]` table of hotline.toml into
them and loads the two files it names.

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
from dataclasses import replace
from pathlib import Path
from typing import Any

from hotline.matters.departments import Department, load_departments
from hotline.matters.lifecycle import CATEGORIES, DuePolicy, DueRule
from hotline.matters.notices import Catalogue, load_notices
from hotline.tomltables import Table, read_table, setting, settings_type

SENDERS = ("outbox", "http")
_DUE = re.compile(r"^(\d{1,3}) (days?|hours?)$")
_DUE_FORM = "'N days' or 'N hours', e.g. '5 days'"


def default_due() -> DuePolicy:
    """Each category's due time; the fallback rule and the escalation are DuePolicy's own."""
    return DuePolicy(
        rules={
            "consultation": DueRule(working_days=0),
            "message": DueRule(working_days=1),
            "complaint": DueRule(working_days=5),
            "report": DueRule(working_days=5),
            "petition": DueRule(working_days=10),
        },
    )


def read_sender(t: Table, key: str) -> str:
    """[matters.sms] sender; "http" needs the gateway's address in `url`."""
    sender = t.text(key)
    if sender not in SENDERS:
        raise t.error(key, f"one of {', '.join(SENDERS)}", sender)
    url = t.data.get("url", "")
    if sender == "http" and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise t.error("url", "the gateway's http(s):// address (sender = 'http')", url)
    return sender


@settings_type
class SmsSettings:
    """[matters.sms]: how notices reach citizens."""

    sender: str = setting(default="outbox", read=read_sender)  # one of SENDERS
    # the file sink (JSON lines); None: the outbox table only
    outbox_file: Path | None = setting(default=None)
    # the HTTP gateway (sender "http"); the body is JSON {to, text, key}
    url: str = setting(default="", dump=lambda s: {"url": s.url} if s.url else {})
    attempts: int = setting(default=3, lo=1, hi=10)
    timeout: float = setting(default=5.0, lo=0.1)


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


def read_due(t: Table, _key: str) -> DuePolicy:
    """[matters.due] (category -> 'N days' / 'N hours', over the defaults) and [matters]
    escalate_after_hours."""
    base = default_due()
    rules = dict(base.rules)
    due_t = t.table("due", required=False)
    for category in due_t.data:
        if category not in CATEGORIES:
            raise due_t.error(category, f"a category among {', '.join(CATEGORIES)}")
        text = due_t.text(category, expected=_DUE_FORM)
        try:
            rules[category] = parse_due(text)
        except ValueError:
            raise due_t.error(category, _DUE_FORM, text) from None
    escalate = base.escalate_after_hours
    if "escalate_after_hours" in t.data:
        escalate = t.integer("escalate_after_hours", lo=1, hi=24 * 30)
    return replace(base, rules=rules, escalate_after_hours=escalate)


def due_text(rule: DueRule) -> str:
    """A due rule as `[matters.due]` writes it ('5 days', '0 days', '4 hours')."""
    if rule.working_hours:
        return f"{rule.working_hours} hour" + ("s" if rule.working_hours != 1 else "")
    return f"{rule.working_days} day" + ("s" if rule.working_days != 1 else "")


def dump_due(settings: MatterSettings) -> dict[str, Any]:
    due = settings.due
    return {
        "escalate_after_hours": due.escalate_after_hours,
        "due": {category: due_text(rule) for category, rule in due.rules.items()},
    }


@settings_type
class MatterSettings:
    """[matters]: due times, the overdue alerts, the departments and notices files, SMS."""

    due: DuePolicy = setting(
        factory=default_due, also=("escalate_after_hours",), read=read_due, dump=dump_due
    )
    departments_file: Path | None = setting(default=None, key="departments")
    notices_file: Path | None = setting(default=None, key="notices")
    # seconds between looks for overdue matters
    alert_every: int = setting(default=60, lo=5, hi=3600)
    sms: SmsSettings = setting(factory=SmsSettings)
    # read from the two files (empty without them)
    departments: dict[str, Department] = setting(factory=dict, toml=False)
    notices: Catalogue = setting(factory=Catalogue, toml=False)


def load_matters(t: Table) -> MatterSettings:
    """[matters] of hotline.toml into its type (relative paths from the file's folder), with
    the departments and notices its files hold."""
    settings = read_table(MatterSettings, t)
    return replace(
        settings,
        departments=load_departments(settings.departments_file)
        if settings.departments_file
        else {},
        notices=load_notices(settings.notices_file) if settings.notices_file else Catalogue(),
    )
