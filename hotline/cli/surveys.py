"""`hotline survey ...`: satisfaction report, the survey-call queue, do-not-call list, reviews."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.cli.common import Subparsers, settings_of
from hotline.controller.assembly import open_database
from hotline.settings import Settings
from hotline.store.db import write
from hotline.store.models import Call, DoNotCall, Leg, ReviewItem, RouteDecision, Survey, SurveyJob
from hotline.surveys.report import GROUPINGS, AnsweredCall, as_csv, as_text, summarize
from hotline.tomltables import ConfigError


def add_parser(sub: Subparsers) -> None:
    sv = sub.add_parser(
        "survey",
        help="satisfaction report, survey-call queue, do-not-call list, review items",
        description="Post-call satisfaction surveys: figures, the queue of survey calls, the "
        "numbers that must never get one, and the dissatisfied calls awaiting review.",
    )
    sv_sub = sv.add_subparsers(dest="action", metavar="ACTION", required=True)
    rep = sv_sub.add_parser(
        "report",
        help="satisfaction and response rates by agent, post, district or day",
        description="Satisfaction rate = (very satisfied + satisfied) / rated, shown with the "
        "response rate = rated / calls an agent answered. Days are local (the seat "
        "directory's time zone); --from and --to are inclusive.",
    )
    rep.add_argument("--by", choices=GROUPINGS, default="agent", help="grouping (default agent)")
    rep.add_argument("--from", dest="start", type=_day, help="first day, YYYY-MM-DD")
    rep.add_argument("--to", dest="end", type=_day, help="last day, YYYY-MM-DD")
    rep.add_argument("--csv", action="store_true", help="CSV instead of a table")
    rep.add_argument("-o", "--output", help="write to this file instead of the screen")
    jobs = sv_sub.add_parser(
        "jobs",
        help="the survey-call queue",
        description="Survey calls: pending, dialing, answered, failed, skipped (with why).",
    )
    jobs.add_argument("--status", help="only jobs in this status")
    dnc = sv_sub.add_parser(
        "dnc",
        help="the do-not-call list",
        description="Numbers that never receive a survey call: add, remove, list.",
    )
    dnc.add_argument("change", choices=["add", "remove", "list"])
    dnc.add_argument("number", nargs="?", help="digits only, e.g. 13900000001")
    dnc.add_argument("--note", default="", help="add: why (e.g. 'asked on 2026-11-27')")
    sv_sub.add_parser(
        "reviews",
        help="dissatisfied calls awaiting the agent's supervisor",
        description="Open review items: the call, agent, office, reason and recording.",
    )
    sv.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    sessions = open_database(settings)
    with sessions() as session:
        if args.action == "report":
            return _report(args, settings, session)
        if args.action == "jobs":
            return _jobs(args, session)
        if args.action == "reviews":
            return _reviews(session)
    return _dnc(args, sessions)


def _report(args: argparse.Namespace, settings: Settings, session: Session) -> int:
    zone = ZoneInfo(settings.directory.timezone)
    query = select(Call).where(Call.outcome == "answered", Call.kind == "inbound")
    if args.start:
        query = query.where(Call.started_at >= _utc_midnight(args.start, zone))
    if args.end:
        query = query.where(Call.started_at < _utc_midnight(args.end + timedelta(days=1), zone))
    calls = session.scalars(query).all()
    ids = [c.linkedid for c in calls]
    ratings = {
        s.linkedid: s for s in session.scalars(select(Survey).where(Survey.linkedid.in_(ids)))
    }
    agents: dict[str, str] = {}
    for leg in session.scalars(
        select(Leg)
        .where(Leg.linkedid.in_(ids), Leg.answered_at.is_not(None))
        .order_by(Leg.answered_at)
    ):
        agents[leg.linkedid] = leg.agent_id or ""  # the last to answer
    posts: dict[str, str] = {}
    for decision in session.scalars(
        select(RouteDecision)
        .where(RouteDecision.linkedid.in_(ids))
        .order_by(RouteDecision.decided_at)
    ):
        posts[decision.linkedid] = decision.post
    directory = settings.directory
    answered = []
    for call in calls:
        agent, post = agents.get(call.linkedid, ""), posts.get(call.linkedid, "")
        district = (
            directory.posts[post].district
            if post in directory.posts
            else (directory.agents[agent].office if agent in directory.agents else "")
        )
        rated = ratings.get(call.linkedid)
        answered.append(
            AnsweredCall(
                call.linkedid,
                call.started_at.replace(tzinfo=call.started_at.tzinfo or UTC),
                agent,
                post,
                district,
                rated.rating if rated else None,
            )
        )
    rows = summarize(answered, args.by, zone)
    text = as_csv(rows, args.by) if args.csv else as_text(rows, args.by) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(rows) - 1} {args.by} rows and the total)")
    else:
        print(text, end="")
    return 0


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _jobs(args: argparse.Namespace, session: Session) -> int:
    query = select(SurveyJob).order_by(SurveyJob.id)
    if args.status:
        query = query.where(SurveyJob.status == args.status)
    for job in session.scalars(query):
        print(
            f"{job.id:>5}  {job.status:<9} attempts={job.attempts}  "
            f"next={job.next_attempt_at:%Y-%m-%d %H:%M}Z  call={job.linkedid}  "
            f"number={job.number}  {job.result}"
        )
    return 0


def _reviews(session: Session) -> int:
    for item in session.scalars(
        select(ReviewItem).where(ReviewItem.status == "open").order_by(ReviewItem.id)
    ):
        print(
            f"{item.id:>5}  call={item.linkedid}  agent={item.agent_id or '-'}  "
            f"office={item.office or '-'}  reason={item.reason or '-'}  "
            f"recording={item.recording or '-'}"
        )
    return 0


def _dnc(args: argparse.Namespace, sessions: sessionmaker[Session]) -> int:
    if args.change == "list":
        with sessions() as session:
            for row in session.scalars(select(DoNotCall).order_by(DoNotCall.number)):
                print(f"{row.number}  since {row.added_at:%Y-%m-%d}  {row.note}")
        return 0
    number = args.number or ""
    if not number.isdigit():
        raise ConfigError(f"survey dnc {args.change}: expected a number of digits, got {number!r}")
    with write(sessions) as session:
        listed = session.get(DoNotCall, number)
        if args.change == "add" and listed is None:
            session.add(DoNotCall(number=number, added_at=datetime.now(UTC), note=args.note))
        elif args.change == "remove" and listed is not None:
            session.delete(listed)
    print(f"{number}: {'on' if args.change == 'add' else 'off'} the do-not-call list")
    return 0
