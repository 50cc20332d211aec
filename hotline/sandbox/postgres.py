"""A throw-away PostgreSQL server for tests and trials: Debian's `postgresql` package (scripts/setup
installs it), a fresh cluster in its own folder, run as the `postgres` user on loopback on a
port of our choosing, with one role and one database for hotline. Needs root (it switches to
the postgres user).
`python -m hotline.sandbox.postgres start|stop FOLDER [PORT]` (scripts/postgres).

Never skips: anything missing raises PostgresError with one line saying what.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 15432  # not 5432: a system PostgreSQL may have that
ROLE = "hotline"
DATABASE = "hotline"


class PostgresError(Exception):
    """PostgreSQL could not be installed, started or stopped (one line)."""


def bin_dir() -> Path:
    """The newest installed server's programs (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "scripts/setup installs Debian's postgresql package"
        )
    return found[-1].parent


@dataclass
class Cluster:
    folder: Path  # data/ (the cluster), the socket, log, password
    port: int = DEFAULT_PORT

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if os.geteuid() != 0:
            raise PostgresError("starting PostgreSQL needs root (it runs as the postgres user)")
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            timeout=120,
        )
        if check and done.returncode != 0:
            raise PostgresError(
                f"{Path(args[0]).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-400:]}"
            )
        return done

    def start(self) -> str:
        """A fresh cluster (or the one left in `folder`) running; its URL for hotline."""
        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresError(
                "no postgres user: scripts/setup installs Debian's postgresql package"
            ) from None
        bins = bin_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)
        self.folder.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            (self.folder / "password").write_text(secrets.token_hex(16) + "\n")
            os.chown(self.folder / "password", postgres.pw_uid, postgres.pw_gid)
            self._as_postgres(
                str(bins / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
            fresh = True
        else:
            fresh = False
        running = self._as_postgres(
            str(bins / "pg_ctl"), "-D", str(self.data), "status", check=False
        )  # fmt: skip
        if running.returncode == 0:
            return self.url  # left running by an interrupted run: the same cluster
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=on"
        )
        self._as_postgres(
            str(bins / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.log), "-w", "-t", "60", "start",
        )  # fmt: skip
        if fresh:
            self.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'")
            self.sql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        return self.url

    def database(self, name: str) -> str:
        """A fresh empty database `name` owned by hotline's role; its URL."""
        if not name.replace("_", "").isalnum():
            raise PostgresError(f"not a plain database name: {name!r}")
        self.sql(f"DROP DATABASE IF EXISTS {name}")
        self.sql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = self._as_postgres(
            str(bin_dir() / "psql"), "-h", str(self.folder), "-p", str(self.port),
            "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", statement,
        )  # fmt: skip
        return done.stdout.strip()

    def stop(self, remove: bool = False) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(
                str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop",
                check=False,
            )  # fmt: skip
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/postgres", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument(
        "folder", type=Path, help="the cluster's folder, e.g. /var/cache/hotline/pg"
    )
    parser.add_argument("port", type=int, nargs="?", default=DEFAULT_PORT)
    parser.add_argument("--remove", action="store_true", help="stop: delete the cluster too")
    args = parser.parse_args(argv)
    cluster = Cluster(args.folder.resolve(), args.port)
    try:
        if args.action == "start":
            print(cluster.start())
        elif args.action == "url":
            print(cluster.url)
        else:
            cluster.stop(remove=args.remove)
    except (PostgresError, OSError) as exc:
        print(f"scripts/postgres: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
