"""`hotline report ...`: figures from the stored calls, for a calendar period.

Each report here is a `ReportCommand` in `REPORTS` (its name, help, arguments and what it runs);
`add_parser` makes the `report` group from them, so adding one is one entry here. Periods are
calendar days in the seat directory's time zone (hotline/supervisor/periods.py): --from/--to
(inclusive), or --day, --week (the Monday-to-Sunday week holding the day) or --month.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.cli.common import Subparsers, settings_of
from hotline.cli.matters import service_of as matter_service
from hotline.controller.assembly import open_database
from hotline.matters.figures import matter_report
from hotline.matters.service import Scope
from hotline.settings import Settings
from hotline.supervisor import periods, score_report
from hotline.supervisor.kpi import GROUPINGS, Figures, Report, rows
from hotline.supervisor.reports import kpi_report, to_csv
from hotline.supervisor.scoring import load_sheet
from routing.directory import Directory


class ReportError(Exception):
    """A report that cannot be made as asked (one line for the user)."""


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to, --day, --week, --month: what every report's period is read from."""
    parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (with --to)")
    parser.add_argument("--to", dest="last", help="last day, YYYY-MM-DD, inclusive")
    parser.add_argument("--day", help="one calendar day, YYYY-MM-DD")
    parser.add_argument("--week", help="the week (Monday to Sunday) holding this day")
    parser.add_argument("--month", help="a calendar month, YYYY-MM")


def period_of(args: argparse.Namespace, zone: ZoneInfo) -> periods.Period:
    given = [n for n in ("first", "day", "week", "month") if getattr(args, n)]
    if len(given) != 1 or (args.first is None) != (args.last is None):
        raise ReportError(
            "give one period: --from YYYY-MM-DD --to YYYY-MM-DD, --day, --week or --month "
            "(days are the calendar's, " + str(zone) + ")"
        )
    if args.first:
        return periods.between(
            periods.parse_day(args.first, "--from"), periods.parse_day(args.last, "--to")
        )
    if args.day:
        return periods.day(periods.parse_day(args.day, "--day"))
    if args.week:
        return periods.week(periods.parse_day(args.week, "--week"))
    return periods.parse_month(args.month)


@dataclass(frozen=True)
class ReportCommand:
    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], str]  # the text to print or write


# --- report kpi ------------------------------------------------------------------------------


def _kpi_arguments(parser: argparse.ArgumentParser) -> None:
    add_period_arguments(parser)
    parser.add_argument("--by", choices=GROUPINGS, help="one line per district, agent or day")
    parser.add_argument("--district", help="only this district's calls (default: the city)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON (field names in the README)")
    form.add_argument("--csv", action="store_true", help="CSV, one line per scope")


def district_and_period(
    args: argparse.Namespace, directory: Directory
) -> tuple[periods.Period, datetime, datetime]:
    """`--district` checked against the seat directory, and the period asked for with its
    [since, until) in the directory's time zone."""
    if args.district is not None and args.district not in directory.offices:
        known = ", ".join(sorted(directory.offices))
        raise ReportError(
            f"--district {args.district!r}: not an office of the seat directory ({known})"
        )
    zone = ZoneInfo(directory.timezone)
    period = period_of(args, zone)
    since, until = period.span(zone)
    return period, since, until


def _kpi(args: argparse.Namespace, settings: Settings) -> str:
    directory = settings.directory
    period, since, until = district_and_period(args, directory)
    sessions = open_database(settings)
    rep = kpi_report(sessions, directory, since, until, args.district)
    if args.json:
        return json.dumps(kpi_json(rep, period, args.by), ensure_ascii=False, indent=2) + "\n"
    if args.csv:
        return to_csv(rep, args.by)
    return kpi_text(rep, period, args.by)


def kpi_json(rep: Report, period: periods.Period, by: str | None) -> dict[str, object]:
    """The dashboard's /api/kpi document for the same period (the groups of `by` only)."""
    data = rep.as_json()
    data["from"], data["to"] = str(period.first), str(period.last)
    if by is not None:
        for group in GROUPINGS:
            if group != by:
                del data[group + "s"]
    return data


TEXT_COLUMNS: tuple[tuple[str, str, Callable[[Figures], object]], ...] = (
    ("来电 calls", "{}", lambda f: f.calls),
    ("转人工 asked", "{}", lambda f: f.asked),
    ("接通 answered", "{}", lambda f: f.answered),
    ("接通率 conn.", "{}%", lambda f: f.as_json()["connection_rate"]),
    ("15秒 15 s", "{}%", lambda f: f.as_json()["answer_rate_15s"]),
    ("放弃率 aband.", "{}%", lambda f: f.as_json()["abandonment"]),
    ("均等待 wait", "{} s", lambda f: f.as_json()["average_wait"]),
    ("自助率 self-svc", "{}%", lambda f: f.as_json()["self_service_rate"]),
    ("AB补位 AB fb.", "{}%", lambda f: f.as_json()["ab_fallback_rate"]),
    ("回复率 resp.", "{}%", lambda f: f.as_json()["response_rate"]),
    ("满意率 satisf.", "{}%", lambda f: f.as_json()["satisfaction_rate"]),
    (
        "回拨 callbacks",
        "{}",
        lambda f: f"{f.callbacks_booked}/{f.callbacks_placed}/{f.callbacks_answered}",
    ),
)


def kpi_text(rep: Report, period: periods.Period, by: str | None) -> str:
    head = ["范围 scope", *(name for name, _fmt, _get in TEXT_COLUMNS)]
    lines = [head]
    for scope, key, figures in rows(rep, by):
        cells = [f"{scope} {key}"]
        for _name, fmt, get in TEXT_COLUMNS:
            value = get(figures)
            cells.append("—" if value is None else fmt.format(value))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        f"考核指标 KPIs {period.label} ({rep.district or '全市 city'}); "
        "回拨 callbacks: booked/placed/answered"
    ]
    out += [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    return "\n".join(out) + "\n"


# --- report matters ---------------------------------------------------------------------------


def _matters_arguments(parser: argparse.ArgumentParser) -> None:
    add_period_arguments(parser)
    parser.add_argument("--district", help="only this district's matters (default: the city)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON (field names in the README)")
    form.add_argument("--csv", action="store_true", help="CSV, one line per group")


MATTER_COLUMNS = (
    ("opened", "新建 opened"),
    ("closed", "办结 closed"),
    ("on_time_rate", "按时率 on time %"),
    ("first_contact_rate", "一次办结 FCR %"),
    ("average_close_hours", "平均办结 avg h"),
    ("overdue", "超期 overdue"),
)


def _matters(args: argparse.Namespace, settings: Settings) -> str:
    directory = settings.directory
    period, since, until = district_and_period(args, directory)
    service = matter_service(settings)
    facts = service.facts(since, until, Scope(args.district))
    rep = matter_report(facts, since, until, service.now())
    data = rep.as_json()
    if args.json:
        data["from"], data["to"] = str(period.first), str(period.last)
        data["district"] = args.district or "city"
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    groups = [("total", "all", rep.total)]
    groups += [("business", k, v) for k, v in sorted(rep.businesses.items())]
    groups += [("district", k, v) for k, v in sorted(rep.districts.items())]
    if args.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["group", "key", *(key for key, _ in MATTER_COLUMNS)])
        for group, key, figures in groups:
            values = figures.as_json()
            writer.writerow(
                [group, key, *("" if values[c] is None else values[c] for c, _ in MATTER_COLUMNS)]
            )
        return out.getvalue()
    head = ["范围 scope", *(label for _, label in MATTER_COLUMNS)]
    lines = [head]
    for group, key, figures in groups:
        values = figures.as_json()
        lines.append(
            [
                f"{group} {key}",
                *("—" if values[c] is None else str(values[c]) for c, _ in MATTER_COLUMNS),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"工单 matters {period.label} ({args.district or '全市 city'})"]
    text += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    return "\n".join(text) + "\n"


# --- report scores ---------------------------------------------------------------------------


def _scores_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-12")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON with stable field names")
    form.add_argument("--csv", action="store_true", help="CSV with a header row")


def _scores(args: argparse.Namespace, settings: Settings) -> str:
    try:
        month = score_report.parse_month(args.month)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    found = score_report.monthly(
        open_database(settings),
        load_sheet(settings.web.score_sheet),
        settings.directory,
        month,
    )
    if args.json:
        data = {"month": score_report.month_label(month), "agents": [r.as_json() for r in found]}
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.csv:
        return score_report.to_csv(found)
    return "".join(line + "\n" for line in score_report.to_text(month, found))


REPORTS: list[ReportCommand] = [
    ReportCommand(
        "scores",
        "scores per agent for one calendar month",
        "Per agent, for the calls that started in the month (the seat directory's "
        "timezone): calls scored, scores, average total, vetoes and the sheet item with the "
        "lowest average share of its weight. Amended scores count by their amendment.",
        _scores_arguments,
        _scores,
    ),
    ReportCommand(
        "kpi",
        "connection, 15-s answer, abandonment, self-service, AB-fallback, survey rates",
        "The hotline's KPIs for calendar days in the seat directory's time zone, from the "
        "stored calls; the same figures as the dashboard's KPI panel. Definitions and the JSON "
        "field names: README, section KPIs.",
        _kpi_arguments,
        _kpi,
    ),
    ReportCommand(
        "matters",
        "matters opened and closed, closed on time, first-contact resolution, time to close",
        "Matters (工单) opened or closed in calendar days of the seat directory's time zone, "
        "in total, by business and by district; --district limits it to one district (a "
        "district supervisor's scope). Definitions: README, section Matters.",
        _matters_arguments,
        _matters,
    ),
]


def add_parser(sub: Subparsers) -> None:
    """The `hotline report` group, one subcommand per report of `REPORTS`."""
    group = sub.add_parser(
        "report",
        help="reports from the stored calls (scores, kpi, matters)",
        description="Reports for the monthly assessment, from the database.",
    )
    reports = group.add_subparsers(dest="report", metavar="REPORT", required=True)
    for report in REPORTS:
        parser = reports.add_parser(report.name, help=report.help, description=report.description)
        report.arguments(parser)
        parser.add_argument("-o", "--output", help="write to this file instead of the screen")
        parser.set_defaults(func=run, report_command=report)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    report: ReportCommand = args.report_command
    try:
        text = report.run(args, settings)
    except periods.PeriodError as exc:
        raise ReportError(str(exc)) from None
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
