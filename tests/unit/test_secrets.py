"""No secret in logs or error messages, and the AMI users hold only the permissions hotline
needs.

Known secrets (AMI, AMI admin, the database password, a dashboard password) are put where
the controller and the CLI read them; then the paths that fail or talk about them are run as
a user runs them (processes), and their standard output, standard error and log file are
searched for the secrets.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.pbx.dialplan import render
from hotline.sandbox.asterisk_conf import render_all
from hotline.settings import ADMIN_SECRET_ENV, SECRET_ENV, dialplan_parts, load_settings
from hotline.tomltables import ConfigError
from tests.conftest import REPO, write_config
from tests.protocol.test_ami import FakeAmi

AMI_SECRET = "S3cret-ami-7f1c9d"
ADMIN_SECRET = f"admin-{AMI_SECRET}"  # write_config's admin secret
DB_PASSWORD = "S3cret-db-40aa"
WEB_PASSWORD = "S3cret-web-horse-battery"
SECRETS = [AMI_SECRET, "7f1c9d", DB_PASSWORD, WEB_PASSWORD]


def hotline(config: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env=env,
    )
    return f"{done.returncode}\n{done.stdout}\n{done.stderr}"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret!r} shown in:\n{text[-3000:]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("key", ["secret", "admin_secret"])
@pytest.mark.parametrize(
    "value", ["1234567", '["S3cret-ami-7f1c9d"]', '{ x = "S3cret-ami-7f1c9d" }', "true"]
)
def test_a_secret_of_the_wrong_type_is_refused_without_showing_it(
    tmp_path: Path, key: str, value: str
) -> None:
    config = write_config(tmp_path, secret=AMI_SECRET)
    text = config.read_text()
    old = f'{key} = "{AMI_SECRET if key == "secret" else ADMIN_SECRET}"'
    assert old in text
    config.write_text(text.replace(old, f"{key} = {value}"))
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    message = str(err.value)
    assert f"[ami] {key}" in message
    assert_no_secret(message)
    assert "1234567" not in message and "true" not in message.split(key, 1)[1]


def test_settings_never_print_their_secrets(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, secret=AMI_SECRET))
    assert_no_secret(repr(settings), str(settings), repr(settings.ami))


def test_cli_paths_that_fail_on_ami_show_no_secret(tmp_path: Path) -> None:
    """Asterisk unreachable, and Asterisk refusing the login: every command that logs in."""
    dead = write_config(tmp_path / "dead", secret=AMI_SECRET, ami_port=1)
    outputs = [
        hotline(dead, "dialplan", "load"),
        hotline(dead, "agent", "1001", "login"),
        hotline(dead, "serve", env={"PATH": "/usr/bin:/bin", SECRET_ENV: AMI_SECRET + "x"}),
    ]

    async def refused() -> None:
        ami = FakeAmi(accept_login=False)
        port = await ami.start()
        config = write_config(
            tmp_path / "refused", secret=AMI_SECRET, ami_port=port, agi_port=free_port()
        )
        for args in (("dialplan", "load"), ("agent", "1001", "login"), ("serve",)):
            outputs.append(await asyncio.to_thread(hotline, config, *args))
        seen = [a for a in ami.actions if a.get("Action") == "Login"]
        assert seen and all(a.get("Secret") in (AMI_SECRET, ADMIN_SECRET) for a in seen)
        await ami.close()

    asyncio.run(refused())
    assert all(o.startswith("2\n") for o in outputs), outputs
    logs = [p.read_text() for p in tmp_path.rglob("hotline.log")]
    assert_no_secret(*outputs, *logs)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"postgresql+psycopg://hotline:{DB_PASSWORD}@127.0.0.1:1/hotline", id="down"),
        pytest.param(f"nonsense://hotline:{DB_PASSWORD}@x", id="unknown-kind"),
        pytest.param(
            f"postgresql+psycopg://hotline:{DB_PASSWORD}@127.0.0.1:notaport/hotline",
            id="bad-port",
        ),
        pytest.param(f"mysql://hotline:{DB_PASSWORD}@127.0.0.1/hotline", id="no-driver"),
    ],
)
def test_a_database_password_is_hidden_in_every_message(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, secret=AMI_SECRET)
    config.write_text(config.read_text().replace('url = "sqlite:///hotline.db"', f'url = "{url}"'))
    output = hotline(config, "recordings", "list")
    assert_no_secret(output)
    assert output.startswith("2\n") and "Traceback" not in output, output[-2000:]


def test_dashboard_passwords_are_never_shown_or_stored_in_clear(tmp_path: Path) -> None:
    config = write_config(tmp_path, secret=AMI_SECRET)
    outputs = [
        hotline(
            config,
            "users",
            "add",
            "wang",
            "--role",
            "qa",
            "--password-stdin",
            stdin=WEB_PASSWORD + "\n",
        ),
        hotline(
            config,
            "users",
            "add",
            "wang",
            "--role",
            "qa",
            "--password-stdin",
            stdin=WEB_PASSWORD + "\n",
        ),  # refused: exists already
        hotline(
            config, "users", "passwd", "wang", "--password-stdin", stdin="short\n"
        ),  # refused: too short
        hotline(config, "users", "list"),
        hotline(
            config,
            "top",
            "wang",
            "--once",
            "--url",
            "http://127.0.0.1:1",
            "--password-stdin",
            stdin=WEB_PASSWORD + "\n",
        ),
    ]
    assert outputs[0].startswith("0\n") and outputs[1].startswith("2\n"), outputs
    database = (tmp_path / "hotline.db").read_bytes()
    assert WEB_PASSWORD.encode() not in database
    logs = [p.read_text() for p in tmp_path.rglob("*.log")]
    assert_no_secret(*outputs, *logs)


# --- least privilege -----------------------------------------------------------------

# What hotline does over AMI, and the class Asterisk 22 (manager.c and the modules)
# requires for it; an action needs one of its classes in `write`, an event its class in
# `read`. Responses to our own actions (CoreShowChannel, DeviceStateChange lists,
# OriginateResponse) come with the action, whatever `read` holds.
ACTIONS = {  # used by the controller's user
    "Originate": {"originate"},  # callbacks, survey calls, supervisor ChanSpy
    "Hangup": {"system", "call"},
    "CoreShowChannels": {"system", "reporting"},  # resynchronising after a reconnect
    "DeviceStateList": {"call", "reporting"},  # presence after a reconnect
    "UserEvent": {"user"},
}
EVENTS = {  # followed by the controller (call tracker, presence, callbacks, supervisor)
    "FullyBooted": "system",
    "Newchannel": "call",
    "Newstate": "call",
    "DialBegin": "call",
    "DialEnd": "call",
    "Hangup": "call",
    "DeviceStateChange": "call",
    "OriginateResponse": "call",
    "ChanSpyStart": "call",
    "ChanSpyStop": "call",
    "UserEvent": "user",  # seats' feature codes, callback results
}
ADMIN_ACTIONS = {"Reload": {"system", "config"}}  # `hotline dialplan load`


def users(manager_conf: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in manager_conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def classes(value: str) -> set[str]:
    return {c.strip() for c in value.split(",") if c.strip()}


def test_the_ami_users_hold_only_the_permissions_hotline_needs(tmp_path: Path) -> None:
    from hotline.sandbox.commands import sandbox_spec

    settings = load_settings(write_config(tmp_path, secret=AMI_SECRET))
    conf = render_all(sandbox_spec(settings))["manager.conf"]
    found = users(conf)
    ours, admin = found[settings.ami.username], found[settings.ami.admin_username or ""]
    for user in (ours, admin):
        assert user["deny"] == "0.0.0.0/0.0.0.0" and user["permit"].startswith("127.")
        assert not classes(user["read"]) & {"all", "command", "config", "security"} or user
    assert found["general"]["bindaddr"] == "127.0.0.1"

    write, read = classes(ours["write"]), classes(ours["read"])
    assert all(need & write for need in ACTIONS.values())  # enough
    assert {"command", "system", "config", "all", "security"}.isdisjoint(write)  # no shell
    # least: every class granted is one some action or event needs
    assert write <= set().union(*ACTIONS.values())
    for granted in write:  # and none could be dropped
        assert any(need & write == {granted} for need in ACTIONS.values()), granted
    assert read == set(EVENTS.values()), read

    admin_write, admin_read = classes(admin["write"]), classes(admin["read"])
    assert all(need & admin_write for need in ADMIN_ACTIONS.values())
    assert admin_write == {"config"} and admin_read <= {"system"}
    # the secrets are the configured ones, not defaults
    assert ours["secret"] == AMI_SECRET and admin["secret"] == ADMIN_SECRET


def test_secrets_from_the_environment_are_not_written_to_the_rendered_dialplan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, AMI_SECRET)
    monkeypatch.setenv(ADMIN_SECRET_ENV, ADMIN_SECRET)
    settings = load_settings(write_config(tmp_path, secret="file-secret"))
    assert_no_secret(render(dialplan_parts(settings)))
