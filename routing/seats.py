"""Reads the seat directory (config/seats.toml) into `routing.directory.Directory`.

Offices, seats, sites, agents, posts and the calendar; a directory with problems (a post
naming an unknown agent...) is refused with the first problem and how many more.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from hotline.tomltables import ConfigError, Table, load_toml, read_table, setting, settings_type
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
    offices = {o.id: o for o in (read_table(Office, t) for t in root.tables("office"))}
    seats = {s.endpoint: s for s in (read_table(Seat, t) for t in root.tables("seat"))}
    sites = {}
    for t in root.tables("site"):
        site = read_table(Site, t)
        if site.id == "main":
            raise t.error("id", "a name other than 'main' (the [ami] box is 'main')", site.id)
        sites[site.id] = site
    agents = {a.id: a for a in (read_table(Agent, t) for t in root.tables("agent"))}
    posts = {p.id: p for p in (read_table(Post, t) for t in root.tables("post"))}
    calendar_t = root.table("calendar", required=False)
    directory = Directory(
        offices=offices,
        seats=seats,
        agents=agents,
        posts=posts,
        sites=sites,
        calendar=_calendar(calendar_t),
    )
    if "timezone" in calendar_t:  # else Directory's own (its one default)
        directory = replace(directory, timezone=calendar_t.text("timezone"))
    issues = directory.problems()
    if issues:
        raise ConfigError(
            f"{path}: {issues[0]}" + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")
        )
    return directory
