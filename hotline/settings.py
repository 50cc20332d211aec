"""hotline's configuration, loaded once into typed objects.

`load_settings(path)` reads the controller file (e.g. config/hotline.toml) and the seat
directory it names; nothing else in hotline reads configuration files or the environment
(the developers' sandbox reads its own [sandbox] table: hotline.sandbox.settings).
Relative paths are taken from the folder of the file that holds them.

This module only composes: each table is read into its owner's settings type, whose fields
hold the one default of every key (hotline.tomltables `setting`). A new key is one field in
its owner's type plus a line in config/hotline.toml; a key no type reads is refused.
`settings_document` writes settings back as the TOML the loader reads (the classic entry's
generated configuration).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hotline.logs import LogSettings
from hotline.matters.settings import MatterSettings, SmsSettings, load_matters
from hotline.metrics.settings import MetricsSettings
from hotline.pbx.agi import IPNetwork
from hotline.pbx.dialplan import DialplanParts
from hotline.pbx.install import InstallParts
from hotline.pbx.settings import (
    ADMIN_SECRET_ENV,
    SECRET_ENV,
    AgiSettings,
    AmiSettings,
    DialplanSettings,
    more_addresses,
)
from hotline.store.settings import DatabaseSettings, ScaleSettings
from hotline.supervisor.settings import SHIPPED_SCORE_SHEET, WebSettings
from hotline.surveys.policy import SurveyPolicy
from hotline.tomltables import (
    ConfigError,
    Table,
    dump_table,
    load_toml,
    plain,
    read_table,
)
from ivr.settings import FlowSettings, LookupSettings, PromptSettings
from recordings.settings import RecordingSettings
from routing.directory import Directory
from routing.seats import SeatsFile, load_directory
from routing.settings import RoutingSettings

__all__ = [
    "ADMIN_SECRET_ENV",
    "SECRET_ENV",
    "SHIPPED_SCORE_SHEET",
    "AgiSettings",
    "AmiSettings",
    "ConfigError",
    "DialplanSettings",
    "FlowSettings",
    "LookupSettings",
    "PromptSettings",
    "RecordingSettings",
    "ScaleSettings",
    "Settings",
    "WebSettings",
    "dialplan_parts",
    "install_parts",
    "load_directory",
    "load_settings",
    "settings_document",
]


# tables of the same file that other readers own (hotline.sandbox.settings)
FOREIGN_TABLES = ("sandbox",)

# which settings types read each table ("" = the top level): a new table is listed here, read
# in `load_settings` and written in `settings_document` (tests check the example shows all)
TABLES: dict[str, tuple[type, ...]] = {
    "": (SeatsFile,),
    "ami": (AmiSettings,),
    "fastagi": (AgiSettings,),
    "database": (DatabaseSettings, ScaleSettings),
    "log": (LogSettings,),
    "recordings": (RecordingSettings,),
    "prompts": (PromptSettings,),
    "flows": (FlowSettings,),
    "routing": (RoutingSettings,),
    "lookups.*": (LookupSettings,),  # one table per data source
    "dialplan": (DialplanSettings,),
    "metrics": (MetricsSettings,),
    "web": (WebSettings,),
    "surveys": (SurveyPolicy,),
    "matters": (MatterSettings,),
    "matters.sms": (SmsSettings,),
}


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
    web: WebSettings = field(default_factory=WebSettings)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)
    scale: ScaleSettings = field(default_factory=ScaleSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    matters: MatterSettings = field(default_factory=MatterSettings)


def _environment(**keys: str) -> dict[str, str]:
    """Fields whose value the environment gives (it wins over the file)."""
    return {name: os.environ[env] for name, env in keys.items() if os.environ.get(env)}


def load_settings(path: Path) -> Settings:
    path = path.resolve()
    root = Table(load_toml(path), path, "")

    ami_t = root.table("ami")
    ami = read_table(
        AmiSettings,
        ami_t,
        given=_environment(secret=SECRET_ENV, admin_secret=ADMIN_SECRET_ENV),
    )
    agi_t = root.table("fastagi")
    agi = read_table(AgiSettings, agi_t)

    db_t = root.table("database", required=False)
    database_url = _sqlite_relative(read_table(DatabaseSettings, db_t).url, path.parent)
    scale = read_table(
        ScaleSettings, db_t, fallback={"shared_claims": database_url.startswith("postgresql")}
    )
    log_file = read_table(LogSettings, root.table("log", required=False)).file

    rec_t = root.table("recordings")
    recordings = read_table(
        RecordingSettings,
        rec_t,
        fallback={"asterisk_directory": str(rec_t.path("directory"))}
        if "directory" in rec_t
        else {},
    )
    prompts = read_table(PromptSettings, root.table("prompts"))
    flows = read_table(FlowSettings, root.table("flows"))
    routing = read_table(RoutingSettings, root.table("routing", required=False))
    lookups_t = root.table("lookups", required=False)
    lookups = []
    for name, raw in lookups_t.data.items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: [lookups] {name}: expected a table [lookups.{name}]")
        lookups.append(read_table(LookupSettings, lookups_t.table(name), given={"name": name}))

    dp_t = root.table("dialplan")
    first = dp_t.host_port("agi_address") if "agi_address" in dp_t else (agi.host, agi.port)
    dialplan = read_table(
        DialplanSettings,
        dp_t,
        given={"agi_more": more_addresses(dp_t, first)},
        fallback={"agi_host": agi.host, "agi_port": agi.port},
    )

    seats_file = read_table(SeatsFile, root).seats
    directory = load_directory(seats_file)
    if "allow" not in agi_t:  # the loopback and every site's Asterisk
        agi = replace(agi, allow=agi.allow + _site_networks(directory))
    for endpoint in dialplan.fallback_seats:
        if endpoint not in directory.seats:
            raise dp_t.error("fallback_seats", "endpoints listed in the seat directory", endpoint)
    settings = Settings(
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
        web=read_table(WebSettings, root.table("web", required=False)),
        surveys=read_table(SurveyPolicy, root.table("surveys", required=False)),
        scale=scale,
        metrics=read_table(MetricsSettings, root.table("metrics", required=False)),
        matters=load_matters(root.table("matters", required=False)),
    )
    root.refuse_unread(skip=FOREIGN_TABLES)
    return settings


def settings_document(settings: Settings) -> dict[str, Any]:
    """`settings` as the TOML document `load_settings` reads back into them (with `to_toml`);
    the seat directory stays in its own file, named by `seats`. Secrets are written as they
    are: the caller decides what leaves the machine."""
    return {
        "seats": str(settings.seats_file),
        "ami": dump_table(settings.ami),
        "fastagi": dump_table(settings.agi),
        "database": {"url": settings.database_url, **dump_table(settings.scale)},
        "log": plain({} if settings.log_file is None else {"file": settings.log_file}),
        "recordings": dump_table(settings.recordings),
        "prompts": dump_table(settings.prompts),
        "flows": dump_table(settings.flows),
        "routing": dump_table(settings.routing),
        "lookups": {spec.name: dump_table(spec) for spec in settings.lookups},
        "dialplan": dump_table(settings.dialplan),
        "web": dump_table(settings.web),
        "surveys": dump_table(settings.surveys),
        "metrics": dump_table(settings.metrics),
        "matters": dump_table(settings.matters),
    }


def dialplan_parts(settings: Settings) -> DialplanParts:
    """The parts of `settings` the rendered dialplan is made of (hotline.pbx.dialplan)."""
    return DialplanParts(
        dialplan=settings.dialplan,
        directory=settings.directory,
        recordings=settings.recordings.asterisk_directory,
        entry_flow=settings.flows.entry,
        survey_flow=settings.surveys.flow,
        source=settings.file,
    )


def install_parts(settings: Settings) -> InstallParts:
    """The parts of `settings` the install snippets and check need (hotline.pbx.install)."""
    return InstallParts(
        dialplan=dialplan_parts(settings),
        ami=settings.ami,
        agi=settings.agi,
        recordings=settings.recordings.directory,
    )


def _site_networks(directory: Directory) -> tuple[IPNetwork, ...]:
    out = []
    for site in directory.sites.values():
        try:
            ipaddress.ip_address(site.address)
        except ValueError:  # a host name: Asterisk's address is not known here
            continue
        out.append(ipaddress.ip_network(site.address, strict=False))
    return tuple(out)


def _sqlite_relative(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix:
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url
