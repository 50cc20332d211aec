"""The admins' matter commands and the matters report, through `hotline` as a user types it
(its main(), in this process: the commands are the point, not the process):
a matter raised by the service, listed (number masked), shown, assigned, refused a close
without a reason, closed; the departments and the notice check; report matters in JSON with
figures worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.cli.matters import service_of
from hotline.matters.service import NewMatter
from hotline.settings import load_settings
from hotline.store.db import write
from hotline.store.models import Call, Matter
from tests.conftest import hotline_in_process, write_config

CALLER = "13900005555"


def test_matters_list_show_assign_and_close_from_the_shell(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    service = service_of(load_settings(config))
    number = service.create(
        NewMatter(CALLER, "pension", "xihu", "complaint", "complaint", "欠费问题"), "ivr"
    ).number
    listed = hotline_in_process(config, "matters", "list")
    assert listed.returncode == 0, listed.stderr
    assert number in listed.stdout and "139****5555" in listed.stdout
    assert CALLER not in listed.stdout
    assert "owner=2001" in listed.stdout  # pension-xihu's post A
    shown = hotline_in_process(config, "matters", "show", number)
    assert "complaint" in shown.stdout and CALLER not in shown.stdout
    moved = hotline_in_process(config, "matters", "assign", number, "1001", "--reason", "city desk")
    assert moved.stdout.strip() == f"matter {number}: owner 1001"
    missing = hotline_in_process(config, "matters", "show", "999")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "hotline: error: no matter numbered '999'"
    closed = hotline_in_process(config, "matters", "close", number, "--reason", "phoned back")
    assert closed.stdout.strip() == f"matter {number}: closed"
    history = hotline_in_process(config, "matters", "show", number).stdout
    assert "assigned" in history and "2001 -> 1001: city desk" in history
    assert "told by reason: phoned back" in history


def test_departments_list_and_the_notice_check(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    departments = hotline_in_process(config, "departments", "list")
    assert departments.stdout.splitlines()[1].startswith("si-xihu")
    check = hotline_in_process(config, "notices", "check")
    assert check.returncode == 0 and check.stdout.startswith("ok  ")


def test_report_matters_counts_by_the_written_definitions(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config)
    service = service_of(settings)
    day = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou, a Monday
    with write(service.sessions) as session:
        session.add(
            Call(
                linkedid="c1",
                caller_number=CALLER,
                started_at=day,
                ended_at=day + timedelta(minutes=5),
            )
        )

    def add(
        n: str,
        business: str,
        district: str,
        closed: timedelta | None,
        due: timedelta,
        linkedid: str | None = None,
    ) -> None:
        with write(service.sessions) as session:
            session.add(
                Matter(
                    number=n,
                    caller_number=CALLER,
                    business=business,
                    district=district,
                    status="closed" if closed is not None else "open",
                    created_at=day,
                    due_at=day + due,
                    updated_at=day,
                    closed_at=day + closed if closed is not None else None,
                    first_linkedid=linkedid,
                )
            )

    # m1: closed in its own call (2 min, the call ended at 5 min), on time
    add("m1", "pension", "xihu", timedelta(minutes=2), timedelta(hours=7), "c1")
    # m2: closed after 10 hours, past its 7-hour due time
    add("m2", "pension", "city", timedelta(hours=10), timedelta(hours=7))
    # m3: still open, due in the past (overdue now)
    add("m3", "medical", "xihu", None, timedelta(hours=1))
    out = hotline_in_process(
        config, "report", "matters", "--from", "2026-12-07", "--to", "2026-12-07", "--json"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total"] == {
        "opened": 3,
        "closed": 2,
        "closed_on_time": 1,
        "on_time_rate": 50.0,
        "first_contact": 1,
        "first_contact_rate": 50.0,
        # (2 min + 10 h) / 2 = 5 h 1 min = 5.0 h
        "average_close_hours": 5.0,
        "overdue": 1,
    }
    assert data["businesses"]["medical"]["overdue"] == 1
    scoped = hotline_in_process(
        config,
        "report",
        "matters",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-07",
        "--json",
        "--district",
        "xihu",
    )
    xihu = json.loads(scoped.stdout)
    assert (xihu["total"]["opened"], xihu["total"]["closed"], xihu["district"]) == (2, 1, "xihu")
    csv_out = hotline_in_process(
        config, "report", "matters", "--from", "2026-12-07", "--to", "2026-12-07", "--csv"
    )
    assert csv_out.stdout.splitlines()[1] == "total,all,3,2,50.0,50.0,5.0,1"
