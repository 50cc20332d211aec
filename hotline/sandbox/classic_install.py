"""Installs the classic AGI entry inside the sandbox's root filesystem.

Asterisk runs chrooted, so the process it starts per call runs there too: the tree carries
Debian's python3 with SQLAlchemy, Alembic (the schema's revisions) and PyYAML, and this copies
hotline's own packages and the pure-Python pyst2 and panoramisk into the instance's
`classic/lib`, writes the script `[dialplan] classic_command` names, and a configuration with
the paths as seen inside the tree (its own SQLite database included).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import asterisk
import panoramisk

import hotline
import ivr
import recordings
import routing
from hotline.sandbox.instance import Instance
from hotline.settings import Settings, settings_document
from hotline.store.db import upgrade
from hotline.tomltables import to_toml

# all of `hotline`: the `hotline` command's parser is built whole, its `report` group included
PACKAGES = (hotline, ivr, routing, recordings, asterisk, panoramisk)


def _package_dir(module: object) -> Path:
    return Path(str(getattr(module, "__file__", ""))).parent


def install_classic(settings: Settings, instance: Instance) -> str:
    """Copy code and configuration in; returns the command Asterisk runs (inside the tree).

    Everything goes under the instance's own folder, and the command where the configuration
    says Asterisk finds it (`[dialplan] classic_command`): the tree is shared by every sandbox
    instance and checkout on the machine, and one's code must not serve another's calls."""
    inside = f"{instance.spec.home}/classic"
    lib_inside = f"{inside}/lib"
    lib = instance.host_path(lib_inside)
    shutil.rmtree(lib, ignore_errors=True)  # no module left over from an older layout
    for module in PACKAGES:
        source = _package_dir(module)
        shutil.copytree(
            source,
            lib / source.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    folder = instance.host_path(inside)
    (folder / "flows").mkdir(parents=True, exist_ok=True)
    for flow in settings.flows.directory.glob("*.yaml"):
        shutil.copy2(flow, folder / "flows" / flow.name)
    shutil.copy2(settings.seats_file, folder / "seats.toml")
    shutil.copy2(settings.prompts.catalogue, folder / "prompts.toml")
    for matters_file in (settings.matters.departments_file, settings.matters.notices_file):
        if matters_file is not None:
            shutil.copy2(matters_file, folder / matters_file.name)
    for spec in settings.lookups:
        if spec.seed is not None:
            shutil.copy2(spec.seed, folder / spec.seed.name)
    (folder / "hotline.toml").write_text(classic_config(settings, inside), encoding="utf-8")
    # a new database at this hotline's schema, as `hotline db upgrade` would at an install: no
    # caller's process waits for the revisions to run. The sandbox's classic database is
    # scratch, and the tree is shared by every checkout on the machine: one made by another
    # checkout's (newer) schema would refuse this one's calls.
    database = folder / "hotline.db"
    database.unlink(missing_ok=True)
    upgrade(f"sqlite:///{database}")
    command = instance.host_path(settings.dialplan.classic_command)
    command.parent.mkdir(parents=True, exist_ok=True)
    command.write_text(
        "#!/usr/bin/python3\n"
        "# hotline's classic AGI entry inside the sandbox (written by hotline sandbox up)\n"
        "import sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {lib_inside!r})\n"
        "from hotline.cli.agi import serve_one\n"
        f"sys.exit(serve_one(Path({inside + '/hotline.toml'!r}), sys.argv[1]))\n",
        encoding="utf-8",
    )
    command.chmod(0o755)
    return settings.dialplan.classic_command


def classic_config(settings: Settings, inside: str) -> str:
    """The controller's settings with the paths Asterisk's tree sees, written by the same
    settings types the loader reads (so a new key reaches the classic entry by itself)."""
    rec, prompts, mt = settings.recordings, settings.prompts, settings.matters
    tree = replace(
        settings,
        seats_file=Path(f"{inside}/seats.toml"),
        # the per-call process never logs in to AMI: the controller's secrets stay outside
        ami=replace(
            settings.ami,
            secret="unused-by-the-classic-entry",
            admin_username=None,
            admin_secret=None,
        ),
        database_url=f"sqlite:///{inside}/hotline.db",
        log_file=Path(f"{inside}/hotline.log"),
        recordings=replace(rec, directory=Path(rec.asterisk_directory)),
        prompts=replace(
            prompts,
            catalogue=Path(f"{inside}/prompts.toml"),
            build_directory=Path(prompts.asterisk_directory),
        ),
        flows=replace(settings.flows, directory=Path(f"{inside}/flows")),
        lookups=tuple(
            replace(
                spec,
                database=Path(f"{inside}/{spec.name}.db"),
                seed=None if spec.seed is None else Path(f"{inside}/{spec.seed.name}"),
            )
            for spec in settings.lookups
        ),
        dialplan=replace(settings.dialplan, asterisk_config=Path(instance_etc(inside))),
        matters=replace(
            mt,
            departments_file=_inside(mt.departments_file, inside),
            notices_file=_inside(mt.notices_file, inside),
            sms=replace(mt.sms, outbox_file=_inside(mt.sms.outbox_file, inside)),
        ),
    )
    document = settings_document(tree)
    # a call's process serves neither the dashboard nor metrics (and the score sheet's path
    # is the host's)
    del document["web"], document["metrics"]
    return (
        "# generated by hotline sandbox up for the classic AGI entry (paths inside the tree)\n"
        + to_toml(document)
    )


def _inside(host: Path | None, inside: str) -> Path | None:
    """A file install_classic copies into the classic folder, as the tree sees it."""
    return None if host is None else Path(f"{inside}/{host.name}")


def instance_etc(inside: str) -> str:
    return inside.rsplit("/", 1)[0] + "/etc"
