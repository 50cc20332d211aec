"""Configuration from one source (issue 17 item 4): every key of the shipped file is read by a
settings type, every setting has one default (in its type, none in the loader), every setting
is shown in the shipped example, and settings written back as TOML read the same (the classic
entry's configuration is generated that way)."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import replace
from datetime import time
from pathlib import Path

import pytest

from hotline.logs import LogSettings
from hotline.matters.settings import MatterSettings, SmsSettings
from hotline.metrics.settings import MetricsSettings
from hotline.sandbox.classic_install import classic_config, instance_etc
from hotline.sandbox.settings import SandboxSettings, load_sandbox_settings
from hotline.settings import TABLES as SETTINGS_TABLES
from hotline.settings import load_settings, settings_document
from hotline.supervisor.settings import WebSettings
from hotline.surveys.policy import SurveyPolicy
from hotline.tomltables import ConfigError, Table, read_table, to_toml, toml_keys
from routing.directory import Post, Site
from routing.settings import RoutingSettings
from tests.conftest import REPO, write_config

CONFIG = REPO / "config" / "hotline.toml"

# the sandbox's table is read by the sandbox, not by the controller's loader
TABLES = {**SETTINGS_TABLES, "sandbox": (SandboxSettings,)}


def test_every_key_of_the_shipped_configuration_is_read() -> None:
    # both readers refuse a key no settings type reads, so loading is the check; the [sandbox]
    # table is the sandbox's own reader's
    settings = load_settings(CONFIG)
    sandbox = load_sandbox_settings(CONFIG)
    assert settings.dialplan.number == "12333"
    assert sandbox.max_channels == 300


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("[web]\n", "[web]\nbnd = 1\n", "[web] bnd"),
        ('seats = "seats.toml"\n', 'seats = "seats.toml"\nseat = "x"\n', "seat"),
        ("[recordings]\n", "[recordings]\narchive_formats = 1\n", "[recordings] archive_formats"),
        ("[lookups.contributions]\n", "[lookups.contributions]\nseeed = 1\n", "seeed"),
        ("[surveys]\n", "[surveys]\nper_caller = 30\n", "[surveys] per_caller"),
        ("[routing]\n", "[routing]\nqueue_wait = 1\n", "[routing] queue_wait"),
    ],
)
def test_a_key_nothing_reads_is_one_line_naming_file_and_key(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    config = tmp_path / "hotline.toml"
    text = CONFIG.read_text(encoding="utf-8")
    assert old in text
    config.write_text(
        text.replace(old, new, 1)
        .replace('"seats.toml"', f'"{REPO}/config/seats.toml"')
        .replace('"departments.toml"', f'"{REPO}/config/departments.toml"')
        .replace('"notices.toml"', f'"{REPO}/config/notices.toml"')
    )
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    message = str(err.value)
    assert message.startswith(f"{config}: ")
    assert named in message and "no such setting" in message
    assert "\n" not in message


def test_the_sandbox_table_is_checked_by_its_own_reader_only(tmp_path: Path) -> None:
    config = write_config(tmp_path, name="typo")
    config.write_text(config.read_text().replace("[sandbox]\n", "[sandbox]\nsip_prot = 5\n"))
    assert load_settings(config).dialplan.number == "12333"  # not the controller's business
    with pytest.raises(ConfigError, match=r"\[sandbox\] sip_prot: no such setting"):
        load_sandbox_settings(config)


def _literal_defaults(tree: ast.AST) -> list[str]:
    reading = {"text", "opt_text", "integer", "number", "flag", "texts", "path", "host_port"}
    found = []
    # `required=False` says a table may be absent: not a setting's value
    flags = {
        id(k.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        for k in n.keywords
        if k.arg == "required"
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and type(node.value) in (int, float, bool)
            and id(node) not in flags
        ):
            found.append(f"line {node.lineno}: {node.value!r}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in reading
            and (len(node.args) > 1 or any(k.arg == "default" for k in node.keywords))
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}(... default)")
    return found


def test_every_setting_has_one_default_written_in_its_type_none_in_the_loader() -> None:
    module = ast.parse((REPO / "hotline" / "settings.py").read_text(encoding="utf-8"))
    (loader,) = (
        n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "load_settings"
    )
    assert _literal_defaults(loader) == []
    # the check would see one: the old loader's way of reading a key
    assert _literal_defaults(ast.parse('t.integer("port", 5038, 1, 65535)')) != []
    # and a key the table lacks takes the type's default, the only one
    empty = Table({}, CONFIG, "[web]")
    assert read_table(WebSettings, empty) == WebSettings()
    assert read_table(SurveyPolicy, empty) == SurveyPolicy()
    assert read_table(RoutingSettings, empty) == RoutingSettings()
    for owned in (MatterSettings, SmsSettings, MetricsSettings, LogSettings):
        assert read_table(owned, empty) == owned()
    # the seat directory's entries too: only the required keys given, the rest the type's
    site = Table({"id": "xihu-box", "trunk": "xihu", "address": "10.0.0.2"}, CONFIG, "[[site]]")
    assert read_table(Site, site) == Site("xihu-box", "xihu", "10.0.0.2")
    post = {"id": "p", "business": "pension", "district": "xihu", "a": "1", "b": "2"}
    assert read_table(Post, Table(post, CONFIG, "[[post]]")) == Post(
        "p", "pension", "xihu", "1", "2"
    )


def _reading_with_a_literal_default(tree: ast.AST) -> list[str]:
    reading = {"text", "opt_text", "integer", "number", "flag", "texts", "path", "host_port"}
    literal = (ast.Constant, ast.List, ast.Tuple, ast.Dict)
    return [
        f"line {node.lineno}: .{node.func.attr}(... default)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in reading
        and (
            (len(node.args) > 1 and isinstance(node.args[1], literal))
            or any(k.arg == "default" and isinstance(k.value, literal) for k in node.keywords)
        )
    ]


@pytest.mark.parametrize(
    ("path", "readers"),
    [
        ("routing/seats.py", {"load_directory"}),
        ("routing/settings.py", {"read_wrap_up"}),
        ("hotline/matters/settings.py", {"read_sender", "read_due", "load_matters"}),
    ],
)
def test_the_owners_own_readers_write_no_default_of_their_own(path: str, readers: set[str]) -> None:
    """[routing], [matters] and the seat directory read some keys by hand (forms a plain field
    cannot say); a default they need is the type's (`base.required`), never a literal."""
    module = ast.parse((REPO / path).read_text(encoding="utf-8"))
    functions = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name in readers]
    assert {f.name for f in functions} == readers
    assert [(f.name, d) for f in functions for d in _reading_with_a_literal_default(f)] == []
    # the check would see one: the seat reader's old way of reading a key
    assert _reading_with_a_literal_default(ast.parse('t.integer("sip_port", 5060, 1, 65535)'))


def test_every_setting_is_shown_in_the_shipped_example() -> None:
    """A new key is one field in its owner's type plus its line in config/hotline.toml (set,
    or commented out with its default)."""
    text = CONFIG.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        header = re.match(r"\[([a-z_.]+)\]", line)
        if header:
            name = header.group(1)
        sections[name] = sections.get(name, "") + line + "\n"
    missing = [
        f"[{table}] {key}"
        for table, types in TABLES.items()
        for cls in types
        for key in toml_keys(cls)
        # [lookups.*]: the shipped example's data source
        if not re.search(
            rf"^#? ?{key} = ",
            sections.get(table.replace("*", "contributions"), ""),
            re.MULTILINE,
        )
        and f"[{table}.{key}]" not in text
    ]
    assert missing == []
    # and the map covers every table the loader writes back (a new table is listed there)
    document = settings_document(load_settings(CONFIG))
    named = {name.split(".")[0] for name in TABLES}
    assert {k for k, v in document.items() if isinstance(v, dict)} <= named


def _reloaded(settings_text: str, folder: Path) -> Path:
    path = folder / "again.toml"
    path.write_text(settings_text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "surveys"),
    [
        ("", ""),
        (
            '[routing]\noverflow_districts = false\nfirst_inquiry_rule = "off"\n',
            'hours = "00:00-24:00"\nper_caller_days = 0.5\nretry_after_minutes = [7]\n',
        ),
    ],
)
def test_settings_written_back_as_toml_read_the_same(
    tmp_path: Path, extra: str, surveys: str
) -> None:
    config = write_config(tmp_path, surveys=surveys, extra=extra)
    config.write_text(
        config.read_text().replace(
            'agi_address = "127.0.0.1:4573"',
            'agi_address = "127.0.0.1:4573"\nagi_addresses = ["127.0.0.1:4573", "10.0.0.2:4574"]',
        )
    )
    settings = load_settings(config)
    again = load_settings(_reloaded(to_toml(settings_document(settings)), tmp_path))
    assert replace(again, file=config) == settings
    if extra:  # the forms that are not plain keys came back
        assert again.routing.overflow.districts_after is None
        assert (again.surveys.opens, again.surveys.closes) == (time(0, 0), time.max)
        assert again.dialplan.agi_more == (("10.0.0.2", 4574),)


def test_the_classic_entry_configuration_is_generated_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings(CONFIG)
    inside = tmp_path / "classic"
    (inside / "flows").mkdir(parents=True)
    shutil.copy2(settings.seats_file, inside / "seats.toml")
    for matters_file in (settings.matters.departments_file, settings.matters.notices_file):
        assert matters_file is not None
        shutil.copy2(matters_file, inside / matters_file.name)
    text = classic_config(settings, str(inside))
    assert settings.ami.secret not in text and str(settings.ami.admin_secret) not in text
    classic = load_settings(_reloaded(text, inside))
    # the tree's own files...
    assert classic.database_url == f"sqlite:///{inside}/hotline.db"
    assert classic.log_file == inside / "hotline.log"
    assert classic.flows.directory == inside / "flows"
    assert classic.lookups[0].database == inside / "contributions.db"
    assert classic.lookups[0].seed == inside / "example-contributions.csv"
    assert classic.prompts.catalogue == inside / "prompts.toml"
    assert classic.recordings.directory == Path(settings.recordings.asterisk_directory)
    assert classic.dialplan.asterisk_config == Path(instance_etc(str(inside)))
    # ...and every policy as the controller has it
    assert classic.routing == settings.routing
    assert classic.surveys == settings.surveys
    assert classic.flows.entry == settings.flows.entry
    assert classic.dialplan.number == settings.dialplan.number
    assert classic.recordings.retention == settings.recordings.retention
    assert classic.ami.admin_username is None
    assert classic.matters.departments == settings.matters.departments
    assert classic.matters.due == settings.matters.due


def test_the_hotline_number_must_be_digits(tmp_path: Path) -> None:
    config = write_config(tmp_path, extra="")
    config.write_text(config.read_text().replace("[dialplan]\n", '[dialplan]\nnumber = "123;x"\n'))
    with pytest.raises(ConfigError, match=r"\[dialplan\] number: expected the hotline's number"):
        load_settings(config)
