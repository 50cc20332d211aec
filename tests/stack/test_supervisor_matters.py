"""Matters on the supervisors' web, in real headless Chromium against the real controller (its
dashboard, its clock of overdue alerts) on the sandbox stack (issue 18 items 2 and 7): a
Chun'an district supervisor sees only Chun'an's matters, the matter KPIs of a scripted week
(worked out by hand below) and the overdue alerts of Chun'an only; a department account
answers the hand-over made to it through its reply form and the owner's open desk at once
reminds them to call the citizen back and lists the matter among the citizens to tell. The
matters are seeded through the matters service with a controlled clock (the phone is not the
point here: tests/stack/test_matters.py calls). The controller runs on a controlled clock too
(tests/stack/clock.py), moved across one matter's due time and then past the second limit: its
owner is alerted, then Chun'an's supervisor."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page

from hotline.matters.service import MatterService, NewMatter
from hotline.settings import load_settings
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call
from tests.stack.clock import ControlledClock
from tests.stack.conftest import Stack, running_controller, wait_for
from tests.stack.test_dashboard import PASSWORD, add_user, browser, log_in
from tests.unit.test_matter_service import Clock, local

__all__ = ["browser"]  # the module's Chromium, shared with the dashboard's tests

WEB_PORT = 18335
BASE = f"http://127.0.0.1:{WEB_PORT}"
CONFIG = f"""
[web]
enabled = true
bind = "127.0.0.1:{WEB_PORT}"
"""


def seed(service: MatterService, clock: Clock, database_url: str) -> dict[str, str]:
    """The week of 2026-11-02 (Mon) to 11-06 in Chun'an (淳安县), calendar open every day
    (the stack's hours, 2026's holidays: none in November), owner 1001 for all:
    M1 consultation (due Mon 24:00) raised in call sup18-m1, closed Mon 11:00 while that call
       lasted (it ended 12:00): on time, first contact, 2 h to close;
    M2 consultation (due Mon 24:00) closed Tue 09:00: late, 24 h to close;
    M3 complaint (due the end of the 5th day after: Sat 11-07 24:00), handed over to
       employment-city: open and, by now, overdue;
    M4 a Jiande consultation, open: overdue, but not Chun'an's."""
    clock.at = local("2026-11-02T09:00")
    engine = open_engine(database_url)
    with write(session_factory(engine)) as s:
        s.add(
            Call(
                linkedid="sup18-m1",
                started_at=local("2026-11-02T08:55"),
                ended_at=local("2026-11-02T12:00"),
                outcome="answered",
            )
        )
    engine.dispose()

    def new(category: str, district: str, linkedid: str | None = None) -> str:
        matter = NewMatter(
            "13600000618",
            "pension",
            district,
            category,
            "complaint" if category == "complaint" else "phone",
            summary=f"sup18 {category}",
            linkedid=linkedid,
            owner="1001",
        )
        return service.create(matter, "agent:1001").number

    m1 = new("consultation", "chunan", "sup18-m1")
    m2 = new("consultation", "chunan")
    m3 = new("complaint", "chunan")
    m4 = new("consultation", "jiande")
    service.hand_over(m3, "agent:1001", "employment-city", "失业登记是否已办理？")
    clock.at = local("2026-11-02T11:00")
    service.close(m1, "agent:1001", "reason", "answered in the call")
    clock.at = local("2026-11-03T09:00")
    service.close(m2, "agent:1001", "reason", "phoned back")
    return {"M1": m1, "M2": m2, "M3": m3, "M4": m4}


def log_in_to(browser: Browser, user: str, lands: str) -> Page:
    """Log in like a person; the page it lands on (/dept for a department's account)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(BASE + "/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(BASE + lands, timeout=10_000)
    return page


def kpi(page: Page, key: str) -> str:
    return page.inner_text(f'#matter-kpi-total dd[data-matter-kpi="{key}"]')


ZONE = ZoneInfo("Asia/Shanghai")  # config/seats.toml's calendar
TO_OWNER, TO_SUPERVISOR = "提醒承办人", "上报班长"  # the board's words for an alert's "to"


def days_ahead(holidays: frozenset[date]) -> date:
    """Tomorrow or later (Shanghai), such that it and the day after are not holidays."""
    day = datetime.now(ZONE).date() + timedelta(days=1)
    while day in holidays or day + timedelta(days=1) in holidays:
        day += timedelta(days=1)
    return day


def test_a_district_supervisor_sees_their_matters_kpis_and_alerts_and_a_department_replies(
    stack: Stack, browser: Browser
) -> None:
    config = stack.config_with(
        "sup-matters", matters="alert_every = 5\nescalate_after_hours = 2", extra=CONFIG
    ).resolve()
    settings = load_settings(config)
    clock = Clock(local("2026-11-02T09:00"))
    sessions = session_factory(open_engine(settings.database_url))
    service = MatterService(
        sessions, settings.directory, settings.matters.departments, settings.matters.due, clock
    )
    n = seed(service, clock, settings.database_url)
    # M5, for the overdue chain: a Chun'an consultation raised on day X at 10:00 (the stack's
    # calendar is open around the clock): due at the end of that working day, X+1 00:00; its
    # owner is alerted from then, Chun'an's supervisor 2 working hours later, X+1 02:00
    day_x = days_ahead(settings.directory.calendar.holidays)
    due = datetime.combine(day_x + timedelta(days=1), time(0), ZONE)
    escalate = due + timedelta(hours=2)
    clock.at = datetime.combine(day_x, time(10), ZONE)
    m5 = NewMatter("13600000618", "pension", "chunan", "consultation", "phone", owner="1001")
    n["M5"] = service.create(m5, "agent:1001").number
    assert service.get(n["M5"]).matter.due_at == due
    # the controller's clock: ten minutes before M5 is due (after the seeded week's dues)
    wall = ControlledClock(stack.folder / "sup-matters-clock", due - timedelta(minutes=10))
    add_user(config, "sup18-chunan", "--role", "supervisor", "--district", "chunan")
    add_user(config, "sup18-dept", "--role", "department", "--department", "employment-city")
    add_user(config, "sup18-owner", "--role", "agent", "--agent", "1001")
    with running_controller(stack, config, clock=wall) as controller:
        board = log_in(browser, "sup18-chunan", BASE)
        board.wait_for_selector(f'#matters tbody tr[data-number="{n["M3"]}"]', timeout=10_000)
        shown = board.eval_on_selector_all(
            "#matters tbody tr[data-number]", "rows => rows.map(r => r.dataset.number)"
        )
        assert sorted(shown) == sorted([n["M1"], n["M2"], n["M3"], n["M5"]])  # not Jiande's M4
        # the KPIs of the scripted week, in the supervisor's scope
        board.fill("#matter-kpi-from", "2026-11-02")
        board.fill("#matter-kpi-to", "2026-11-06")
        board.click("#matter-kpi-refresh")
        wait_for(lambda: kpi(board, "average_close_hours") == "13", 10, "the week's KPIs")
        # opened M1 M2 M3; closed M1 (on time, first contact) and M2 (late); (2 + 24) / 2 h;
        # overdue M3
        assert [
            kpi(board, k)
            for k in (
                "opened",
                "closed",
                "closed_on_time",
                "on_time_rate",
                "first_contact_rate",
                "overdue",
            )
        ] == ["3", "2", "1", "50%", "50%", "1"]
        # the overdue alerts the controller's clock raised, pushed to the board: Chun'an's only
        board.wait_for_selector(
            f'#alerts .alert[data-kind="matter-overdue"]:has-text("{n["M3"]}")', timeout=30_000
        )
        alerts = " ".join(board.locator("#alerts .alert").all_inner_texts())
        assert n["M4"] not in alerts
        assert n["M5"] not in alerts  # not due yet on the controller's clock
        # the owner's desk is open (its live stream connected) before M5 is due and before
        # the department replies
        owner = log_in(browser, "sup18-owner", BASE)
        assert owner.url == BASE + "/desk"
        owner.wait_for_selector("#conn.ok", timeout=10_000)
        assert owner.locator(f'#tell-list tbody tr[data-number="{n["M3"]}"]').count() == 0
        assert owner.locator("#owner-alert").is_hidden()
        # the overdue chain: at M5's due time its owner is alerted, and only its owner
        wall.move_to(due)
        m5_alert = f'#alerts .alert[data-kind="matter-overdue"]:has-text("{n["M5"]}")'
        board.wait_for_selector(f'{m5_alert}:has-text("{TO_OWNER}")', timeout=30_000)
        # on the owner's own desk too, without a reload
        owner.wait_for_selector(f'#owner-alert[data-number="{n["M5"]}"]', timeout=10_000)
        assert owner.inner_text("#owner-alert") == f"工单 {n['M5']} 已超过办结时限，请尽快办理"
        assert board.locator(f'{m5_alert}:has-text("{TO_SUPERVISOR}")').count() == 0
        # past the second limit, the district supervisor too
        wall.move_to(escalate)
        board.wait_for_selector(f'{m5_alert}:has-text("{TO_SUPERVISOR}")', timeout=30_000)
        # a matter's detail: its history, the caller masked
        board.click(f'#matters tbody tr[data-number="{n["M3"]}"] button')
        board.wait_for_selector('#matter-detail tr[data-kind="handed_over"]')
        assert "136****0618" in board.inner_text("#matter-detail")
        assert "13600000618" not in board.content()

        dept = log_in_to(browser, "sup18-dept", "/dept")
        dept.wait_for_selector("#matters tbody tr[data-number]", timeout=10_000)
        waiting = dept.eval_on_selector_all(
            "#matters tbody tr[data-number]", "rows => rows.map(r => r.dataset.number)"
        )
        assert waiting == [n["M3"]]
        dept.click(f'#matters tbody tr[data-number="{n["M3"]}"] button')
        dept.fill("#reply-text", "已于11月3日办理失业登记")
        dept.click("#reply-send")
        dept.wait_for_selector('#message:has-text("已提交答复")', timeout=10_000)

        # without a reload, the owner's desk reminds them to call the citizen back and lists
        # the matter among the citizens to tell
        reminder = f'#tell-reminder[data-number="{n["M3"]}"]:not([hidden])'
        owner.wait_for_selector(reminder, timeout=10_000)
        assert owner.inner_text("#tell-reminder") == f"部门已答复工单 {n['M3']}，请回电告知市民"
        owner.wait_for_selector(f'#tell-list tbody tr[data-number="{n["M3"]}"]', timeout=10_000)
        owner.click("#lang")
        assert owner.inner_text("#tell-reminder") == (
            f"A department answered matter {n['M3']}: call the citizen back"
        )
        assert owner.inner_text("#owner-alert") == (
            f"Matter {n['M5']} is past its due time: settle it now"
        )
        owner.click("#lang")  # back to Mandarin: the choice is kept in the browser
        board.click(f'#matters tbody tr[data-number="{n["M3"]}"] button')
        board.wait_for_selector('#matter-detail tr[data-kind="replied"]', timeout=10_000)
        assert "Traceback" not in controller.text()
    raised = [(e.kind, e.at) for e in service.get(n["M5"]).events if e.kind.startswith("alert")]
    assert [kind for kind, _at in raised] == ["alert_owner", "alert_supervisor"]
    assert due <= raised[0][1] < escalate <= raised[1][1]
    detail = service.get(n["M3"])
    assert detail.matter.status == "answered"
    assert (detail.handovers[0].reply, detail.handovers[0].replied_by) == (
        "已于11月3日办理失业登记",
        "sup18-dept",
    )
