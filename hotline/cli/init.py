"""`hotline init DIR`: an editable copy of the shipped `config/` and `dialplans/` for a site
that installed hotline from a wheel (no clone of the repository)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.site import FOLDERS, write_site


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "init",
        help="write an editable config/ and dialplans/ for a site",
        description="Write DIR/config (hotline.toml, seats.toml, the prompt catalogue) and "
        "DIR/dialplans (the call flows) as shipped with this hotline, to edit for the site; "
        "then run commands with -c DIR/config/hotline.toml. Never overwrites: if either "
        "folder exists nothing is written.",
    )
    parser.add_argument("directory", metavar="DIR", help="the site's folder (made if missing)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    written = write_site(target)
    for name in FOLDERS:
        count = sum(1 for path in written if path.is_relative_to(target / name))
        print(f"wrote {target / name} ({count} files)")
    print(
        f"next: edit {target / 'config'}, then: hotline -c {target / 'config/hotline.toml'} "
        "dialplan check"
    )
    return 0
