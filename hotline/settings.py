"""hotline's configuration, loaded once into typed objects.

`load_settings(path)` reads the controller file (e.g. config/hotline.toml) and the seat
directory it names; nothing else in hotline reads configuration files or the environment.
Relative paths are taken from the folder of the file that holds them.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path

from hotline.matters.ownership import RULES, OwnershipRule
from hotline.pbx.agi import LOOPBACK, IPNetwork
from hotline.sandbox.asterisk_conf import DEFAULT_MAX_CHANNELS
from hotline.sandbox.rootfs import DEFAULT_ROOTFS
from hotline.surveys.policy import SurveyPolicy
from hotline.tomltables import ConfigError, Table, load_toml
from recordings.processing import ARCHIVE_CODECS, ArchiveSettings
from recordings.retention import RetentionPolicy
from routing.calendar import Calendar, parse_span
from routing.directory import Agent, Directory, Office, Post, Seat, Site
from routing.queueing import QueuePolicy
from routing.router import Overflow

SECRET_ENV = "HOTLINE_AMI_SECRET"
ADMIN_SECRET_ENV = "HOTLINE_AMI_ADMIN_SECRET"


@dataclass(frozen=True)
class AmiSettings:
    host: str
    port: int
    username: str
    secret: str
    connect_timeout: float
    action_timeout: float
    wait_for_asterisk: bool  # retry until Asterisk answers instead of exiting
    admin_username: str | None  # for admin commands only (dialplan load): may reload config
    admin_secret: str | None

    def __repr__(self) -> str:  # never print the secrets
        return f"AmiSettings({self.username}@{self.host}:{self.port})"


@dataclass(frozen=True)
class AgiSettings:
    host: str
    port: int
    header_timeout: float
    command_timeout: float
    max_sessions: int
    # peers allowed to open AGI sessions; default the loopback and every site's Asterisk
    allow: tuple[IPNetwork, ...] = LOOPBACK


@dataclass(frozen=True)
class RecordingSettings:
    directory: Path  # where the controller finds the files
    asterisk_directory: str  # the same folder as Asterisk sees it (differs inside a chroot)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)  # format, workers...
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)  # days kept per category
    process_after_call: bool = True  # archive + QA as soon as a call is catalogued
    reconcile_every: float = 300.0  # seconds between reconciliation passes (and disk checks)
    settle_seconds: float = 30.0  # an unfinalised file idle this long is a crash leftover
    close_timeout: float = 10.0  # seconds to wait for Asterisk to close a file after hang-up
    disk_warn_free_percent: float = 15.0  # alarm below this share of free space
    disk_min_free_mb: int = 2048  # critical below this
    auto_purge: bool = False  # purge expired recordings on the clock (else: the CLI)
    secure_pause: bool = True  # mute the recording while a PIN (a secret) is keyed
    pause_readback: bool = False  # ... and while an ID number is read back to the caller


@dataclass(frozen=True)
class PromptSettings:
    catalogue: Path  # prompt id -> text per language (and an optional recorded file)
    build_directory: Path  # where `hotline prompts build` writes <language>/<id>.wav
    asterisk_directory: str  # the same files as Asterisk sees them (the sandbox copies them)
    languages: tuple[str, ...]  # the first is the callers' default, e.g. ("zh-CN", "en")


@dataclass(frozen=True)
class FlowSettings:
    directory: Path
    entry: str  # the flow the 12333 number enters
    straight_to_agent: bool  # GB/T 33358: callers go straight to routing, self-service kept
    ring_timeout: int  # seconds each agent rings before the next step


@dataclass(frozen=True)
class RoutingSettings:
    ownership: OwnershipRule  # first-inquiry owner: which agent (rule) and for how long (days)
    overflow: Overflow  # when other districts' (and the city's) agents are offered
    auto_pause_after: int  # consecutive rings an agent lets run out before a no-answer pause
    wrap_up_seconds: int  # an agent is not rung this long after a call ends
    agents_start_logged_in: bool  # false: agents log in with *11 before they are rung
    queue: QueuePolicy


@dataclass(frozen=True)
class LookupSettings:
    name: str
    kind: str  # "sqlite-contributions" (the shipped example)
    database: Path
    seed: Path | None  # a CSV loaded into the database on start
    delay: float  # seconds of artificial latency (demo and tests of the slow-lookup prompt)


@dataclass(frozen=True)
class DialplanSettings:
    number: str  # the hotline's number (DID), e.g. 12333
    agi_host: str  # where Asterisk reaches the controller
    agi_port: int
    fallback_seats: tuple[str, ...]  # endpoints of the static fallback queue
    asterisk_config: Path  # Asterisk's configuration folder, where `dialplan load` writes
    agi: str  # "fastagi" (the controller) or "classic" (a process per call)
    classic_command: str  # for "classic": the program Asterisk runs, as Asterisk sees it
    # further controllers: the dialplan starts each call at the next address in turn and tries
    # the others when one cannot be reached (AGISTATUS=FAILURE)
    agi_more: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ScaleSettings:
    """Several controllers on one database ([database]; README "Two controllers on
    PostgreSQL")."""

    shared_claims: bool = False  # agent claims also in the database (on for PostgreSQL)
    claim_lease: float = 30.0  # seconds a claim outlives its controller's last renewal
    leader_lease: float = 15.0  # seconds the scheduler leader's lease outlives its last renewal


@dataclass(frozen=True)
class SandboxSettings:
    rootfs: Path
    name: str
    sip_port: int
    caller_match: tuple[str, ...]  # source addresses treated as callers on the trunk
    callers_contact: str | None  # the trunk's far side, for calls back to callers
    mirror: str | None  # None: take it from the host's apt sources
    max_channels: int  # channels with media at once: sizes the RTP port range


@dataclass(frozen=True)
class WebSettings:
    """The supervisors' dashboard, served by the controller (hotline/supervisor/)."""

    enabled: bool
    host: str
    port: int
    session_minutes: int  # a session expires after this long unused
    session_max_hours: float  # and this long after the log-in, used or not
    recording_purpose_required: bool  # a recording (audio or its page) is shown only with a why
    secure_cookies: bool  # true behind HTTPS: cookies only travel encrypted
    score_sheet: Path  # the quantified score sheet (TOML)
    wait_alert_seconds: int  # a caller waiting longer raises an alert
    long_call_seconds: int  # a call talking longer raises an alert
    abandon_alert_percent: float  # abandonment over the last hour above this raises an alert
    connection_target_percent: float  # GB/T 33358 connection rate target (rolling 24 h)
    monitor_roles: tuple[str, ...]  # roles that may listen / whisper / barge
    push_interval: float  # seconds: changes are pushed to browsers at most this often


@dataclass(frozen=True)
class MetricsSettings:
    """`[metrics]`: where Prometheus scrapes and a load balancer checks health
    (hotline/controller/metrics.py);
    off by default."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9233


@dataclass(frozen=True)
class Settings:
    file: Path
    ami: AmiSettings
    agi: AgiSettings
    database_url: str
    log_file: Path | None
    recordings: RecordingSettings
    prompts: PromptSettings
    flows: FlowSettings
    routing: RoutingSettings
    lookups: tuple[LookupSettings, ...]
    dialplan: DialplanSettings
    directory: Directory
    seats_file: Path
    sandbox: SandboxSettings
    web: WebSettings = field(default_factory=lambda: default_web())
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)
    scale: ScaleSettings = field(default_factory=ScaleSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)


SHIPPED_SCORE_SHEET = Path(__file__).resolve().parent / "supervisor" / "score_sheet.toml"


def default_web() -> WebSettings:
    return WebSettings(
        enabled=False,
        host="127.0.0.1",
        port=8333,
        session_minutes=480,
        session_max_hours=12.0,
        recording_purpose_required=True,
        secure_cookies=False,
        score_sheet=SHIPPED_SCORE_SHEET,
        wait_alert_seconds=60,
        long_call_seconds=900,
        abandon_alert_percent=10.0,
        connection_target_percent=95.0,
        monitor_roles=("supervisor", "admin"),
        push_interval=0.1,
    )


def load_metrics(root: Table) -> MetricsSettings:
    t = root.table("metrics", required=False)
    base = MetricsSettings()
    host, port = t.host_port("bind", f"{base.host}:{base.port}")
    return MetricsSettings(enabled=t.flag("enabled", base.enabled), host=host, port=port)


def load_web(root: Table) -> WebSettings:
    t = root.table("web", required=False)
    base = default_web()
    host, port = t.host_port("bind", f"{base.host}:{base.port}")
    roles = tuple(t.texts("monitor_roles", list(base.monitor_roles)))
    for role in roles:
        if role not in ("supervisor", "qa", "admin"):
            raise t.error("monitor_roles", "roles among supervisor, qa, admin", role)
    return WebSettings(
        enabled=t.flag("enabled", base.enabled),
        host=host,
        port=port,
        session_minutes=t.integer("session_minutes", base.session_minutes, 1, 7 * 24 * 60),
        session_max_hours=t.number("session_max_hours", base.session_max_hours, 0.01),
        recording_purpose_required=t.flag(
            "recording_purpose_required", base.recording_purpose_required
        ),
        secure_cookies=t.flag("secure_cookies", base.secure_cookies),
        score_sheet=t.path("score_sheet", str(base.score_sheet)),
        wait_alert_seconds=t.integer("wait_alert_seconds", base.wait_alert_seconds, 1, 3600),
        long_call_seconds=t.integer("long_call_seconds", base.long_call_seconds, 1, 86400),
        abandon_alert_percent=t.number("abandon_alert_percent", base.abandon_alert_percent),
        connection_target_percent=t.number(
            "connection_target_percent", base.connection_target_percent
        ),
        monitor_roles=roles,
        push_interval=t.number("push_interval", base.push_interval, 0.01),
    )


def load_surveys(root: Table) -> SurveyPolicy:
    """[surveys]: post-call satisfaction surveys (see hotline/surveys/policy.py)."""
    t = root.table("surveys", required=False)
    base = SurveyPolicy()
    hours = t.text("hours", f"{base.opens:%H:%M}-{base.closes:%H:%M}", "'HH:MM-HH:MM'")
    try:
        opens, closes = (
            time.max if part == "24:00" else time.fromisoformat(part) for part in hours.split("-")
        )
    except ValueError:
        raise t.error("hours", "'HH:MM-HH:MM', e.g. '09:00-20:00'", hours) from None
    if not opens < closes:
        raise t.error("hours", "an opening before the closing, e.g. '09:00-20:00'", hours)
    raw_retry = t.data.get("retry_after_minutes", [30, 120])
    if (
        not isinstance(raw_retry, list)
        or not raw_retry
        or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in raw_retry)
    ):
        raise t.error("retry_after_minutes", "positive minutes, e.g. [30, 120]", raw_retry)
    return SurveyPolicy(
        enabled=t.flag("enabled", base.enabled),
        flow=t.text("flow", base.flow),
        opens=opens,
        closes=closes,
        delay=timedelta(seconds=t.integer("delay_seconds", 300, 0, 7 * 86400)),
        retry_after=tuple(timedelta(minutes=m) for m in raw_retry),
        max_attempts=t.integer("max_attempts", base.max_attempts, 1, 10),
        per_caller=timedelta(days=t.number("per_caller_days", 30.0)),
        per_minute=t.integer("per_minute", base.per_minute, 1, 1000),
        ring_seconds=t.integer("ring_seconds", base.ring_seconds, 5, 120),
    )


def load_settings(path: Path) -> Settings:
    path = path.resolve()
    root = Table(load_toml(path), path, "")

    ami_t = root.table("ami")
    secret = os.environ.get(SECRET_ENV) or ami_t.text(
        "secret", expected=f"the AMI secret (or set {SECRET_ENV})"
    )
    ami = AmiSettings(
        host=ami_t.text("host", "127.0.0.1"),
        port=ami_t.integer("port", 5038, 1, 65535),
        username=ami_t.text("username"),
        secret=secret,
        connect_timeout=ami_t.number("connect_timeout", 5.0, 0.1),
        action_timeout=ami_t.number("action_timeout", 5.0, 0.1),
        wait_for_asterisk=ami_t.flag("wait_for_asterisk", False),
        admin_username=ami_t.opt_text("admin_username"),
        admin_secret=os.environ.get(ADMIN_SECRET_ENV) or ami_t.opt_text("admin_secret"),
    )

    agi_t = root.table("fastagi")
    host, port = agi_t.host_port("bind", "127.0.0.1:4573")
    agi = AgiSettings(
        host=host,
        port=port,
        header_timeout=agi_t.number("header_timeout", 5.0, 0.1),
        command_timeout=agi_t.number("command_timeout", 300.0, 1.0),
        max_sessions=agi_t.integer("max_sessions", 1000, 1, 100_000),
    )

    db_t = root.table("database", required=False)
    database_url = _sqlite_relative(db_t.text("url", "sqlite:///../var/hotline.db"), path.parent)
    scale = ScaleSettings(
        shared_claims=db_t.flag("shared_claims", database_url.startswith("postgresql")),
        claim_lease=db_t.number("claim_lease", 30.0, 3.0),
        leader_lease=db_t.number("leader_lease", 15.0, 1.5),
    )

    log_t = root.table("log", required=False)
    log_file = log_t.path("file") if "file" in log_t.data else None

    rec_t = root.table("recordings")
    rec_dir = rec_t.path("directory")
    recordings = _recording_settings(rec_t, rec_dir)

    pr_t = root.table("prompts")
    prompts = PromptSettings(
        catalogue=pr_t.path("catalogue", "prompts.toml"),
        build_directory=pr_t.path("build_directory"),
        asterisk_directory=pr_t.text("asterisk_directory"),
        languages=tuple(pr_t.texts("languages", ["zh-CN", "en"])),
    )

    flow_t = root.table("flows")
    flows = FlowSettings(
        directory=flow_t.path("directory"),
        entry=flow_t.text("entry", "12333"),
        straight_to_agent=flow_t.flag("straight_to_agent", False),
        ring_timeout=flow_t.integer("ring_timeout", 8, 5, 120),  # README "Routing": 15-s target
    )
    rt_t = root.table("routing", required=False)
    routing = RoutingSettings(
        ownership=OwnershipRule(
            rule=_one_of(rt_t, "first_inquiry_rule", RULES, OwnershipRule().rule),
            days=rt_t.integer("first_inquiry_days", OwnershipRule().days, 0, 365),
        ),
        overflow=Overflow(
            city_after=rt_t.integer("overflow_city_after", Overflow().city_after, 0, 3600),
            districts_after=(
                rt_t.integer("overflow_districts_after", Overflow().districts_after or 0, 0, 3600)
                if rt_t.flag("overflow_districts", Overflow().districts_after is not None)
                else None
            ),
        ),
        auto_pause_after=rt_t.integer("auto_pause_after", 2, 0, 100),
        wrap_up_seconds=rt_t.integer("wrap_up_seconds", 10, 0, 600),
        agents_start_logged_in=rt_t.flag("agents_start_logged_in", True),
        queue=QueuePolicy(
            enabled=rt_t.flag("queue", True),
            max_wait=rt_t.number("queue_max_wait", 600.0, 0.0),
            announce_every=rt_t.number("announce_every", 30.0, 5.0),
            retry_every=rt_t.number("retry_every", 5.0, 1.0),
            average_handle_seconds=rt_t.number("average_handle_seconds", 180.0, 1.0),
            callbacks=rt_t.flag("callbacks", True),
        ),
    )
    lookups = []
    for name, raw in root.table("lookups", required=False).data.items():
        t = Table(raw, path, f"[lookups.{name}]") if isinstance(raw, dict) else None
        if t is None:
            raise ConfigError(f"{path}: [lookups] {name}: expected a table [lookups.{name}]")
        kind = t.text("kind")
        if kind != "sqlite-contributions":
            raise t.error("kind", "'sqlite-contributions'", kind)
        lookups.append(
            LookupSettings(
                name=name,
                kind=kind,
                database=t.path("database"),
                seed=t.path("seed") if "seed" in t.data else None,
                delay=t.number("delay", 0.0),
            )
        )

    dp_t = root.table("dialplan")
    agi_host, agi_port = dp_t.host_port("agi_address", f"{host}:{port}")
    dialplan = DialplanSettings(
        number=dp_t.text("number", "12333"),
        agi_host=agi_host,
        agi_port=agi_port,
        fallback_seats=tuple(dp_t.texts("fallback_seats")),
        asterisk_config=dp_t.path("asterisk_config", "/etc/asterisk"),
        agi=dp_t.text("agi", "fastagi"),
        classic_command=dp_t.text("classic_command", "/usr/local/bin/hotline-agi"),
        agi_more=tuple(_more_addresses(dp_t, (agi_host, agi_port))),
    )
    if dialplan.agi not in ("fastagi", "classic"):
        raise dp_t.error("agi", "'fastagi' or 'classic'", dialplan.agi)

    sb_t = root.table("sandbox", required=False)
    sandbox = SandboxSettings(
        rootfs=sb_t.path("rootfs", str(DEFAULT_ROOTFS)),
        name=sb_t.text("name", "default"),
        sip_port=sb_t.integer("sip_port", 5060, 1, 65535),
        caller_match=tuple(sb_t.texts("caller_match", ["127.0.0.2"])),
        callers_contact=sb_t.opt_text("callers_contact"),
        mirror=sb_t.opt_text("mirror"),
        max_channels=sb_t.integer("max_channels", DEFAULT_MAX_CHANNELS, 10, 10000),
    )

    seats_file = root.path("seats", "seats.toml")
    directory = load_directory(seats_file)
    agi = replace(agi, allow=_agi_allow(agi_t, directory))
    for endpoint in dialplan.fallback_seats:
        if endpoint not in directory.seats:
            raise dp_t.error("fallback_seats", "endpoints listed in the seat directory", endpoint)
    return Settings(
        file=path,
        ami=ami,
        agi=agi,
        database_url=database_url,
        log_file=log_file,
        recordings=recordings,
        prompts=prompts,
        flows=flows,
        routing=routing,
        lookups=tuple(lookups),
        dialplan=dialplan,
        directory=directory,
        seats_file=seats_file,
        sandbox=sandbox,
        web=load_web(root),
        surveys=load_surveys(root),
        scale=scale,
        metrics=load_metrics(root),
    )


def _more_addresses(dp_t: Table, first: tuple[str, int]) -> list[tuple[str, int]]:
    """[dialplan] agi_addresses: every controller Asterisk may reach, `agi_address` first."""
    if "agi_addresses" not in dp_t.data:
        return []
    more = []
    for value in dp_t.texts("agi_addresses"):
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise dp_t.error("agi_addresses", "'host:port' strings", value)
        if (host, int(port)) != first and (host, int(port)) not in more:
            more.append((host, int(port)))
    return more


def _one_of(t: Table, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = t.text(key, default)
    if value not in allowed:
        raise t.error(key, " or ".join(repr(a) for a in allowed), value)
    return value


def _agi_allow(t: Table, directory: Directory) -> tuple[IPNetwork, ...]:
    """[fastagi] allow: addresses or networks ("127.0.0.1", "10.1.2.0/24") that may open AGI
    sessions. Unset: the loopback and the address of every site's Asterisk in seats.toml."""
    if "allow" not in t.data:
        return LOOPBACK + tuple(
            _network(t, site.address) for site in directory.sites.values() if _is_ip(site.address)
        )
    return tuple(_network(t, value) for value in t.texts("allow"))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _network(t: Table, value: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        expected = 'IP addresses or networks such as "127.0.0.1", "10.1.2.0/24"'
        raise t.error("allow", expected, value) from None


def _recording_settings(t: Table, directory: Path) -> RecordingSettings:
    fmt = t.text("archive_format", "mp3")
    if fmt not in ARCHIVE_CODECS:
        raise t.error("archive_format", "'mp3' or 'opus'", fmt)
    days = dict(RetentionPolicy().days)
    ret_t = t.table("retention_days", required=False)
    for category in ret_t.data:
        days[category] = ret_t.integer(category, lo=0, hi=36500)
    return RecordingSettings(
        directory=directory,
        asterisk_directory=t.text("asterisk_directory", str(directory)),
        archive=ArchiveSettings(
            format=fmt,
            remove_source=t.flag("remove_source", False),  # absent: keep the WAVs
            tolerance=t.number("archive_tolerance", 0.3, 0.01),
            playback=t.flag("playback_copy", True),
            workers=t.integer("workers", 2, 1, 64),
        ),
        retention=RetentionPolicy(days=days, default_days=days.get("general", 180)),
        process_after_call=t.flag("process_after_call", True),
        reconcile_every=t.number("reconcile_every", 300.0, 1.0),
        settle_seconds=t.number("settle_seconds", 30.0, 0.0),
        close_timeout=t.number("close_timeout", 10.0, 0.0),
        disk_warn_free_percent=t.number("disk_warn_free_percent", 15.0, 0.0),
        disk_min_free_mb=t.integer("disk_min_free_mb", 2048, 0, 10**9),
        auto_purge=t.flag("auto_purge", False),
        secure_pause=t.flag("secure_pause", True),
        pause_readback=t.flag("pause_readback", False),
    )


def _sqlite_relative(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix:
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


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
