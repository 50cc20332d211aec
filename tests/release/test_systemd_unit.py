"""contrib/systemd/hotline.service under a real systemd as PID 1 (issue 19, item 3): a Debian 13
container booted by systemd-nspawn, set up the way the unit's own comment tells an admin
(a `hotline` user in the `asterisk` group, the wheel in /opt/hotline/.venv, `hotline init
/etc/hotline`, state under /var/lib/hotline, the database upgraded), the controller in it talking
to the stack's real Asterisk over loopback (the container shares the host's network). systemd
reports the unit active only once the controller said READY=1, `systemctl reload` re-reads the
seat directory in the same process, and `systemctl stop` ends it cleanly.

The container is an overlay on the cached Debian 13 tree of scripts/test-py313 (which has
systemd): nothing of a run stays in the cache. Opt-in, collected only with HOTLINE_SYSTEMD_TEST=1
(tests/release/conftest.py), since it takes minutes on two cores (a wheel build, a package and a
venv install in the tree, a boot): run it on its own, as root,
`HOTLINE_SYSTEMD_TEST=1 .venv/bin/python -m pytest tests/release/test_systemd_unit.py`
(it takes the stack's fixture and lock: in one run with tests/stack it would wait on itself)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.release.test_wheel import NOT_SOURCE
from tests.stack.conftest import Stack, stack, wait_for  # noqa: F401 (stack: the fixture)

TREE = Path(os.environ.get("HOTLINE_PY313_ROOT", "/var/cache/hotline/python313-trixie"))
CONFIG = "/etc/hotline/config/hotline.toml"  # where `hotline init /etc/hotline` puts it
# the stack's Asterisk dialplan sends calls to the FastAGI port of tests/stack/conftest.py
AGI_BIND = "127.0.0.1:14573"
WEB_BIND = "127.0.0.1:18339"  # not the shipped 8333: nothing else of the machine's may hold it

# The admin's steps, in the tree (chrooted) before it boots. Debian's minimal tree lacks
# useradd (package passwd); a real box has it, and Asterisk's package makes the asterisk group.
SETUP = r"""
set -euo pipefail
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq passwd >/dev/null 2>&1
groupadd --system asterisk
useradd --system --home /var/lib/hotline --shell /usr/sbin/nologin hotline
usermod -aG asterisk hotline
python3.13 -m venv /opt/hotline/.venv
/opt/hotline/.venv/bin/python -m pip install -q --disable-pip-version-check /tmp/dist/*.whl
/opt/hotline/.venv/bin/hotline init /etc/hotline
toml=/etc/hotline/config/hotline.toml
sed -i \
  -e 's|^url = "sqlite:///../var/hotline.db"|url = "sqlite:////var/lib/hotline/hotline.db"|' \
  -e 's|^file = "../var/log/hotline.log"|file = "/var/log/hotline/hotline.log"|' \
  -e 's|^build_directory = "../var/prompts"|build_directory = "/var/lib/hotline/prompts"|' \
  -e 's|^database = "../var/contributions.db"|database = "/var/lib/hotline/contributions.db"|' \
  -e 's|^outbox_file = "../var/sms-outbox.jsonl"|outbox_file = "/var/lib/hotline/sms.jsonl"|' \
  -e 's|^directory = "/var/cache/.*/recordings"|directory = "/var/spool/asterisk/monitor"|' \
  -e "s|^port = 5038|port = $AMI_PORT|" \
  -e "s|^secret = \"sandbox-only-secret\"|secret = \"$AMI_SECRET\"|" \
  -e "s|^bind = \"127.0.0.1:4573\"|bind = \"$AGI_BIND\"|" \
  -e "s|^bind = \"127.0.0.1:8333\"|bind = \"$WEB_BIND\"|" \
  "$toml"
mkdir -p /var/lib/hotline /var/spool/asterisk/monitor
cp -r /tmp/prompts /var/lib/hotline/prompts
chown -R hotline:hotline /var/lib/hotline
chown root:asterisk /var/spool/asterisk/monitor
chmod 2770 /var/spool/asterisk/monitor
runuser -u hotline -- /opt/hotline/.venv/bin/hotline -c "$toml" db upgrade >/dev/null
cp /tmp/hotline.service /etc/systemd/system/hotline.service
systemctl enable hotline 2>/dev/null
"""

ADDED_SEAT = """
[[seat]]
endpoint = "agent1003"
office = "city"
contact = "sip:agent1003@127.0.0.1:5075"
"""


Done = subprocess.CompletedProcess[str]


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout.strip()


def run(
    *command: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, check=False, env=env
    )


@pytest.fixture
def container(stack: Stack, tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    """The prepared tree mounted at tmp_path/root (an overlay on TREE); unmounted after."""
    if not (TREE / "usr/lib/systemd/systemd").exists():
        pytest.fail(f"no Debian 13 tree with systemd at {TREE}: run scripts/test-py313 once")
    if shutil.which("systemd-nspawn") is None:
        pytest.fail("systemd-nspawn is missing: scripts/setup installs systemd-container")
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    ok(run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source))
    root = tmp_path / "root"
    for sub in ("upper", "work", "root"):
        (tmp_path / sub).mkdir()
    lower = f"lowerdir={TREE},upperdir={tmp_path / 'upper'},workdir={tmp_path / 'work'}"
    ok(run("mount", "-t", "overlay", "overlay", "-o", lower, root))
    try:
        shutil.copytree(dist, root / "tmp/dist")
        shutil.copytree(stack.settings.prompts.build_directory, root / "tmp/prompts")
        unit = (REPO / "contrib/systemd/hotline.service").read_text()
        (root / "tmp/hotline.service").write_text(unit)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")  # apt and pip, inside
        cert = os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
        shutil.copy(cert, root / "etc/ssl/host-ca-certificates.crt")
        ami = stack.settings.ami
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "PIP_CERT": "/etc/ssl/host-ca-certificates.crt",
            "AMI_PORT": str(ami.port),
            "AMI_SECRET": ami.secret,
            "AGI_BIND": AGI_BIND,
            "WEB_BIND": WEB_BIND,
        }
        # apt needs /proc; a private mount namespace takes it away again with the chroot
        inside = 'mount -t proc proc "$0/proc" && exec chroot "$0" /bin/bash -c "$1"'
        ok(run("unshare", "--mount", "--propagation", "private", "bash", "-c", inside, root,
               SETUP, env=env))  # fmt: skip
        yield root
    finally:
        run("umount", "--lazy", root)


class Booted:
    """systemd-nspawn --boot on the tree; commands run in the container with nsenter."""

    def __init__(self, root: Path, console: Path) -> None:
        with console.open("wb") as out:  # no machined here: neither registration nor a scope
            self.nspawn = subprocess.Popen(
                ["systemd-nspawn", "-D", str(root), "--boot", "--register=no", "--keep-unit",
                 "--console=passive"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self.leader = 0

        def booted() -> bool:
            children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            self.leader = int(pids[0]) if pids else 0
            if not self.leader:
                return False
            state = self.run("systemctl", "is-system-running").stdout.strip()
            return state in ("running", "degraded")  # degraded: a unit failed, asserted below

        try:
            wait_for(booted, 90, "the container's systemd to finish booting")
        except AssertionError:
            self.halt()
            raise

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return run("nsenter", "-t", str(self.leader), "-a", *command)

    def show(self, prop: str) -> str:
        return ok(self.run("systemctl", "show", "-P", prop, "hotline"))

    def halt(self) -> None:
        """SIGTERM to nspawn: it asks the container's systemd to halt (there is no D-Bus)."""
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(90)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()


def test_systemd_starts_reloads_and_stops_the_shipped_unit(container: Path, tmp_path: Path) -> None:
    box = Booted(container, tmp_path / "console.log")
    log = container / "var/log/hotline/hotline.log"
    try:
        # enabled in multi-user.target: started at boot; active only after READY=1
        wait_for(lambda: box.show("ActiveState") != "activating", 90, "hotline.service to start")
        assert box.show("ActiveState") == "active", ok(box.run("journalctl", "-u", "hotline"))
        assert "event=controller.ready agi=127.0.0.1:14573" in log.read_text()
        assert box.show("StatusText") == f"taking calls on {AGI_BIND}"
        assert box.show("User") == "hotline"
        pid = box.show("MainPID")

        with (container / "etc/hotline/config/seats.toml").open("a") as seats:
            seats.write(ADDED_SEAT)
        ok(box.run("systemctl", "reload", "hotline"))
        # config/seats.toml ships 4 seats, 4 agents and 8 posts; one seat added
        reloaded = "event=directory.reloaded seats=5 agents=4 posts=8"
        wait_for(lambda: reloaded in log.read_text(), 30, "the seat directory's reload")
        assert box.show("ActiveState") == "active" and box.show("MainPID") == pid

        ok(box.run("systemctl", "stop", "hotline"))
        assert box.show("ActiveState") == "inactive"
        assert box.show("Result") == "success" and box.show("ExecMainStatus") == "0"
        assert "event=controller.stopped" in log.read_text()
    finally:
        box.halt()
