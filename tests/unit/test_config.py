from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import SECRET_ENV, load_settings
from hotline.tomltables import ConfigError
from tests.conftest import REPO, write_config


def test_shipped_configuration_loads_into_typed_objects() -> None:
    settings = load_settings(REPO / "config" / "hotline.toml")
    assert settings.ami.port == 5038
    assert settings.agi.port == 4573
    assert settings.database_url.startswith("sqlite:////")  # made absolute from the file's folder
    assert len([o for o in settings.directory.offices.values() if o.kind == "district"]) == 13
    assert settings.directory.posts["pension-city"].a == "1001"


def test_secret_from_the_environment_wins_and_never_shows_in_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "from-env-s3cret")
    settings = load_settings(write_config(tmp_path))
    assert settings.ami.secret == "from-env-s3cret"
    assert "s3cret" not in repr(settings.ami)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "port = 5038",
            'port = "abc"',
            "[ami] port: expected an integer from 1 to 65535, got 'abc'",
        ),
        ('username = "hotline"', "", "[ami] username: missing; expected a string"),
        (
            'bind = "127.0.0.1:4573"',
            'bind = "nowhere"',
            "[fastagi] bind: expected 'host:port', e.g. '127.0.0.1:4573', got 'nowhere'",
        ),
        (
            'fallback_seats = ["agent1001", "agent1002"]',
            'fallback_seats = ["agent9"]',
            "[dialplan] fallback_seats: expected endpoints listed in the seat directory, "
            "got 'agent9'",
        ),
    ],
)
def test_a_wrong_or_missing_key_names_file_key_and_expected_form(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"{path}: {expected}"


def test_broken_toml_is_one_line_with_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text("[ami\nport = 1\n")
    with pytest.raises(ConfigError, match=r"hotline.toml: not valid TOML"):
        load_settings(path)


def test_a_post_naming_an_unknown_agent_is_reported(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    seats = tmp_path / "seats.toml"
    seats.write_text(seats.read_text().replace('a = "1001"', 'a = "9999"', 1))
    with pytest.raises(
        ConfigError, match=r"seats\.toml: post pension-city: a = unknown agent '9999'$"
    ):
        load_settings(path)


def test_missing_file_is_reported_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.toml: file not found"):
        load_settings(tmp_path / "nothing.toml")


def test_office_hours_in_a_wrong_form_are_reported(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    seats = tmp_path / "seats.toml"
    seats.write_text(seats.read_text().replace('"mon-fri 08:30-12:00"', '"weekdays 9 to 5"'))
    with pytest.raises(ConfigError, match=r"\[calendar\] hours: expected spans like 'mon-fri"):
        load_settings(path)


def test_the_shipped_routing_settings_for_issue_15() -> None:
    settings = load_settings(REPO / "config" / "hotline.toml")
    rt = settings.routing
    assert (rt.ownership.rule, rt.ownership.days) == ("first", 7)
    assert (rt.overflow.city_after, rt.overflow.districts_after) == (0, 10)
    assert rt.auto_pause_after == 2
    assert settings.flows.ring_timeout == 8


def test_routing_settings_and_an_opted_out_post_are_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        extra='[routing]\nfirst_inquiry_rule = "last"\noverflow_districts = false\n'
        "auto_pause_after = 0",
    )
    seats = tmp_path / "seats.toml"
    seats.write_text(
        seats.read_text().replace('b = "1002"\n', 'b = "1002"\ntakes_overflow = false\n', 1)
    )
    settings = load_settings(path)
    assert settings.routing.ownership.rule == "last"
    assert settings.routing.overflow.districts_after is None
    assert settings.routing.auto_pause_after == 0
    assert not settings.directory.posts["pension-xihu"].takes_overflow
    assert settings.directory.posts["pension-city"].takes_overflow


def test_an_unknown_first_inquiry_rule_is_one_line_naming_the_choices(tmp_path: Path) -> None:
    path = write_config(tmp_path, extra='[routing]\nfirst_inquiry_rule = "sometimes"')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).endswith(
        "[routing] first_inquiry_rule: expected 'first' or 'last' or 'off', got 'sometimes'"
    )
