"""The seat directory: offices (city centre, districts), seats, agents and AB-posts.

Plain typed data; `hotline.settings` reads it from TOML. `problems()` checks the references
between entries, so a post naming an unknown agent is reported before any call is routed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from hotline.tomltables import setting, settings_type
from routing.calendar import Calendar

ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# The entries of config/seats.toml ([[office]], [[seat]], [[site]], [[agent]], [[post]]): each
# field's default is its one default; routing/seats.py reads the tables into them.


@settings_type
class Office:
    id: str
    name: str
    kind: str = setting(default="district", choices=("city", "district"))
    number_prefixes: tuple[str, ...] = ()  # caller numbers that belong to this district


@settings_type
class Seat:
    endpoint: str  # the PJSIP endpoint name; checked against ENDPOINT_NAME
    office: str
    site: str = "main"
    contact: str | None = None  # a static SIP contact (sandbox phones); None: the phone registers


@settings_type
class Site:
    """Another Asterisk box with seats (and maybe callers of its own), joined to the main one
    by a SIP trunk."""

    id: str
    trunk: str  # the PJSIP endpoint on the main Asterisk that reaches it
    address: str  # its SIP address (the trunk's contact and identify match) and AMI host
    sip_port: int = setting(default=5060, lo=1, hi=65535)
    # its AMI port: the controllers follow its events too (its seats' states, its callers'
    # calls) with the [ami] user; None: a box of seats only, known from the answers to rings
    ami_port: int | None = setting(default=None, lo=1, hi=65535)
    main_trunk: str = "main"  # the PJSIP endpoint on this box that reaches the main one


@settings_type
class Agent:
    id: str
    name: str
    seat: str  # endpoint of the agent's usual seat
    office: str
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("zh-CN",)


@settings_type
class Post:
    """A duty (business × district) staffed by an A agent and a B agent (AB岗)."""

    id: str
    business: str
    district: str
    a: str
    b: str
    # false: this district's agents with this business take no other district's (or the
    # city's) overflow calls (router.Overflow)
    takes_overflow: bool = True


@dataclass(frozen=True)
class Directory:
    offices: dict[str, Office] = field(default_factory=dict)
    seats: dict[str, Seat] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)  # other boxes ("main" is this one)
    calendar: Calendar = field(default_factory=Calendar)  # when agents answer
    timezone: str = "Asia/Shanghai"

    def dial_target(self, endpoint: str, site: str = "main") -> str:
        """What PJSIP dials for a seat from a call on `site`: the endpoint on the same box,
        else endpoint@trunk (a seat is addressed as (site, endpoint)). Trunks join each box
        to the main one: a box's call reaches every other seat through the main box, which
        relays it (dialplan.render_from_site)."""
        seat = self.seats.get(endpoint)
        home = seat.site if seat is not None and seat.site in self.sites else "main"
        here = site if site in self.sites else "main"
        if home == here:
            return endpoint
        if here != "main":
            return f"{endpoint}@{self.sites[here].main_trunk}"
        return f"{endpoint}@{self.sites[home].trunk}"

    def district_of_number(self, number: str) -> str | None:
        """The district a caller number belongs to, by the longest matching prefix."""
        best: tuple[int, str] | None = None
        for office in self.offices.values():
            for prefix in office.number_prefixes:
                if number.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), office.id)
        return best[1] if best else None

    def find_post(self, business: str, district: str | None) -> Post | None:
        """The post for this business in the district, else the city's post for it."""
        posts = self.post_index
        return posts.get((business, district)) or posts.get((business, "city"))

    @cached_property
    def post_index(self) -> dict[tuple[str, str | None], Post]:
        """(business, district) -> the first post listed for it."""
        index: dict[tuple[str, str | None], Post] = {}
        for post in self.posts.values():
            index.setdefault((post.business, post.district), post)
        return index

    @cached_property
    def city_offices(self) -> tuple[str, ...]:
        """The offices whose pool takes every district's overflow, in directory order."""
        return tuple(o.id for o in self.offices.values() if o.kind == "city")

    @cached_property
    def _by_seat(self) -> dict[str, Agent]:
        return {agent.seat: agent for agent in self.agents.values()}

    @cached_property
    def _pools(self) -> dict[tuple[str, str], list[Agent]]:
        pools: dict[tuple[str, str], list[Agent]] = {}
        for agent in self.agents.values():
            pools.setdefault((agent.office, ""), []).append(agent)
            for skill in agent.skills:
                pools.setdefault((agent.office, skill), []).append(agent)
        return pools

    @cached_property
    def businesses(self) -> frozenset[str]:
        """Every business a call can be routed for: its posts' and its agents' skills."""
        return frozenset(
            {post.business for post in self.posts.values()}
            | {skill for agent in self.agents.values() for skill in agent.skills}
        )

    def agent_at_seat(self, endpoint: str) -> Agent | None:
        return self._by_seat.get(endpoint)

    def pool(self, office: str, skill: str) -> list[Agent]:
        """An office's agents with the skill (all of them for skill '')."""
        return self._pools.get((office, skill), [])

    def pools(self) -> dict[tuple[str, str], list[Agent]]:
        """Every non-empty pool: (office, skill) -> its agents (skill '': all of the office's)."""
        return self._pools

    def problems(self) -> list[str]:
        """Every dangling reference, as 'what: why' lines (empty when consistent)."""
        found: list[str] = []
        for seat in self.seats.values():
            if not ENDPOINT_NAME.match(seat.endpoint):
                found.append(f"seat {seat.endpoint!r}: endpoint names use letters, digits, - and _")
            if seat.office not in self.offices:
                found.append(f"seat {seat.endpoint}: unknown office {seat.office!r}")
            if seat.site != "main" and seat.site not in self.sites:
                found.append(f"seat {seat.endpoint}: unknown site {seat.site!r}")
        for agent in self.agents.values():
            if agent.seat not in self.seats:
                found.append(f"agent {agent.id}: unknown seat {agent.seat!r}")
            if agent.office not in self.offices:
                found.append(f"agent {agent.id}: unknown office {agent.office!r}")
        for post in self.posts.values():
            if post.district not in self.offices:
                found.append(f"post {post.id}: unknown district {post.district!r}")
            for role, agent_id in (("a", post.a), ("b", post.b)):
                if agent_id not in self.agents:
                    found.append(f"post {post.id}: {role} = unknown agent {agent_id!r}")
        return found
