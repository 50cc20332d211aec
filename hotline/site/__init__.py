"""A site's starting configuration, shipped inside the package: `config/` (hotline.toml,
seats.toml, the prompt catalogue, the example lookup table) and `dialplans/` (the call flows).

In the repository both are links to the top-level folders, so there is one copy to edit; a
wheel carries them as package data, and `hotline init DIR` (`write_site`) writes an editable
copy of them for a site that has no clone of the repository.
"""

from __future__ import annotations

import shutil
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

FOLDERS = ("config", "dialplans")  # the relative paths in config/hotline.toml expect both


class SiteError(Exception):
    """The site's folders cannot be written (one line naming the path and what to do)."""


def write_site(target: Path) -> list[Path]:
    """Write `target/config` and `target/dialplans`; returns the files written.

    Never overwrites: if either folder exists nothing is written. Each folder is written under
    a temporary name and renamed into place, so a failure leaves no half-written folder.
    """
    if target.exists() and not target.is_dir():
        raise SiteError(f"init: {target} is a file, not a folder: give a folder to write into")
    for name in FOLDERS:
        if (target / name).exists() or (target / name).is_symlink():
            raise SiteError(
                f"init: {target / name} already exists: init never overwrites a site's files "
                "(move it aside or choose another folder)"
            )
    shipped = resources.files("hotline.site")
    written: list[Path] = []
    done: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in FOLDERS:
            partial = target / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            written += _copy_tree(shipped / name, partial, target / name)
            partial.rename(target / name)
            done.append(target / name)
    except OSError as exc:
        for name in FOLDERS:
            shutil.rmtree(target / f".{name}.partial", ignore_errors=True)
        for folder in done:  # all or nothing: a site with config/ but no dialplans/ won't start
            shutil.rmtree(folder, ignore_errors=True)
        raise SiteError(
            f"init: cannot write {exc.filename or target}: {exc.strerror or exc}"
        ) from None
    return written


def _copy_tree(source: Traversable, partial: Path, final: Path) -> list[Path]:
    """Copy the shipped folder into `partial`; returns the paths the files will have in `final`."""
    partial.mkdir()
    files: list[Path] = []
    for item in sorted(source.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__" or item.name.startswith("."):
            continue
        if item.is_dir():
            files += _copy_tree(item, partial / item.name, final / item.name)
        else:
            (partial / item.name).write_bytes(item.read_bytes())
            files.append(final / item.name)
    return files
