"""Build (once) and reuse the Debian-sid root filesystem that carries Asterisk 22.

Debian 12 has no Asterisk; sid has 22.x. mmdebstrap builds the tree in about 20 s from the
mirror named in the host's own apt sources; the sid Release file may be past Valid-Until.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

# Asterisk, its modules and English sounds; Python and hotline's compiled dependencies for the
# classic process-per-call AGI entry, which runs inside the sandbox (pure-Python code is copied).
PACKAGES = [
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-en-gsm",
    "python3",
    "python3-sqlalchemy",
    "python3-alembic",
    "python3-yaml",
    "python3-six",
]
STAMP = ".hotline-rootfs-ok"
DEFAULT_ROOTFS = Path("/var/cache/hotline/asterisk-sid")  # [sandbox] rootfs unless configured


class SandboxError(Exception):
    """The sandbox cannot be built or run (one line saying why)."""


def host_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The first Debian archive URI in the host's apt sources (deb822 or one-line form)."""
    files = sorted((sources_dir / "sources.list.d").glob("*.sources")) + sorted(
        (sources_dir / "sources.list.d").glob("*.list")
    )
    files.append(sources_dir / "sources.list")
    for file in files:
        try:
            text = file.read_text()
        except OSError:
            continue
        for uri in re.findall(r"^\s*URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M
        ):
            if "/debian" in uri and "security" not in uri:
                return str(uri).rstrip("/")
    raise SandboxError(
        f"no Debian mirror in {sources_dir}/sources.list.d or sources.list: "
        "set [sandbox] mirror in the configuration"
    )


def is_built(rootfs: Path) -> bool:
    """A finished tree with every package of today's list (an older tree is rebuilt)."""
    try:
        stamp = (rootfs / STAMP).read_text().split()
    except OSError:
        return False
    return (rootfs / "usr/sbin/asterisk").exists() and all(p in stamp for p in PACKAGES)


def running_instances(rootfs: Path) -> list[str]:
    """Sandbox instances whose Asterisk still runs from this tree."""
    names = []
    for pidfile in rootfs.glob("var/lib/hotline-sandbox/*/hotline-sandbox.pid"):
        try:
            os.kill(int(pidfile.read_text().strip()), 0)
        except (OSError, ValueError):
            continue
        names.append(pidfile.parent.name)
    return names


def ensure_rootfs(rootfs: Path, mirror: str | None = None, log: Path | None = None) -> bool:
    """Build the tree unless a finished one is cached. Returns True when it built one."""
    if is_built(rootfs):
        return False
    if os.geteuid() != 0:
        raise SandboxError("building the sandbox needs root (mmdebstrap and chroot): run as root")
    busy = running_instances(rootfs)
    if busy:
        raise SandboxError(
            f"the sandbox tree must be rebuilt but {', '.join(busy)} still run "
            "from it: stop them first (hotline sandbox down)"
        )
    if shutil.which("mmdebstrap") is None:
        raise SandboxError(
            "mmdebstrap is not installed: run scripts/setup (apt-get install mmdebstrap)"
        )
    mirror = mirror or host_mirror()
    partial = rootfs.with_name(rootfs.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    command = [
        "mmdebstrap",
        "--variant=apt",
        "--include=" + ",".join(PACKAGES),
        '--aptopt=Acquire::Check-Valid-Until "false"',
        "sid",
        str(partial),
        mirror,
    ]
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if result.returncode != 0 or not (partial / "usr/sbin/asterisk").exists():
        raise SandboxError(
            f"mmdebstrap could not build Asterisk from {mirror} (exit {result.returncode})"
            + (f": see {log}" if log else "")
        )
    (partial / STAMP).write_text(mirror + "\n" + "\n".join(PACKAGES) + "\n")
    shutil.rmtree(rootfs, ignore_errors=True)
    partial.rename(rootfs)
    return True
