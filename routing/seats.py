"""Reads the seat directory (config/seats.toml) into `routing.directory.Directory`.

Offices, seats, sites, agents, posts and the calendar; a directory with problems (a post
naming an unknown agent...) is refused with the first problem and how many more.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hotline.tomltables import ConfigError, Table, load_toml, setting, settings_type
from routing.calendar import Calendar, parse_span
from routing.directory import Agent, Directory, Office, Post, Seat, Site


@settings_type
class SeatsFile:
    """The controller file's top-level `seats` key: where the seat directory is."""

    seats: Path = setting(default=Path("seats.toml"))


def _calendar(t: Table) -> Calendar:
    spans = []
    for text in t.texts("hours", []):
        try:
            spans.append(parse_span(text))
        except ValueError as exc:
            raise t.error("hours", f"spans like 'mon-fri 08:30-12:00' ({exc})") from None

    def days(key: str) -> frozenset[date]:
        out = set()
        for text in t.texts(key, []):
            try:
                out.add(date.fromisoformat(text))
            except ValueError:
                raise t.error(key, "dates like '2026-10-01'", text) from None
        return frozenset(out)

    return Calendar(tuple(spans), days("holidays"), days("workdays"))


def load_directory(path: Path) -> Directory:
    root = Table(load_toml(path), path, "")
    offices = {}
    for t in root.tables("office"):
        kind = t.text("kind", "district")
        if kind not in ("city", "district"):
            raise t.error("kind", "'city' or 'district'", kind)
        office = Office(
            id=t.text("id"),
            name=t.text("name"),
            kind=kind,
            number_prefixes=tuple(t.texts("number_prefixes", [])),
        )
        offices[office.id] = office
    seats = {}
    for t in root.tables("seat"):
        seat = Seat(
            endpoint=t.text("endpoint"),
            office=t.text("office"),
            site=t.text("site", "main"),
            contact=t.opt_text("contact"),
        )
        seats[seat.endpoint] = seat
    sites = {}
    for t in root.tables("site"):
        site = Site(
            id=t.text("id"),
            trunk=t.text("trunk"),
            address=t.text("address"),
            sip_port=t.integer("sip_port", 5060, 1, 65535),
            ami_port=t.integer("ami_port", lo=1, hi=65535) if "ami_port" in t.data else None,
            main_trunk=t.text("main_trunk", "main"),
        )
        if site.id == "main":
            raise t.error("id", "a name other than 'main' (the [ami] box is 'main')", site.id)
        sites[site.id] = site
    agents = {}
    for t in root.tables("agent"):
        agent = Agent(
            id=t.text("id"),
            name=t.text("name"),
            seat=t.text("seat"),
            office=t.text("office"),
            skills=tuple(t.texts("skills", [])),
            languages=tuple(t.texts("languages", ["zh-CN"])),
        )
        agents[agent.id] = agent
    posts = {}
    for t in root.tables("post"):
        post = Post(
            id=t.text("id"),
            business=t.text("business"),
            district=t.text("district"),
            a=t.text("a"),
            b=t.text("b"),
            takes_overflow=t.flag("takes_overflow", True),
        )
        posts[post.id] = post
    directory = Directory(
        offices=offices,
        seats=seats,
        agents=agents,
        posts=posts,
        sites=sites,
        calendar=_calendar(root.table("calendar", required=False)),
        timezone=root.table("calendar", required=False).text("timezone", "Asia/Shanghai"),
    )
    issues = directory.problems()
    if issues:
        raise ConfigError(
            f"{path}: {issues[0]}" + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")
        )
    return directory
