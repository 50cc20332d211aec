"""How hotline logs: the [log] table (an optional file besides standard error) and the set-up
every command shares (hotline/cli/common.py calls it with the loaded settings)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hotline.tomltables import setting, settings_type


@settings_type
class LogSettings:
    file: Path | None = setting(default=None)  # None: no log file


def start_logging(file: Path | None, verbose: bool = False, to_stderr: bool = True) -> None:
    """Log to standard error (unless `to_stderr` is false) and to `file` when one is given."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)] if to_stderr else []
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `hotline db upgrade` says its own
