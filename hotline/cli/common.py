"""What every command module shares: the subparsers type, the settings and logging set-up."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from hotline.settings import Settings, load_settings

if TYPE_CHECKING:  # argparse's class is generic only to the type checker
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def settings_of(args: argparse.Namespace) -> Settings:
    """The configuration named by `-c/--config` (or $HOTLINE_CONFIG)."""
    return load_settings(Path(args.config))


def setup_logging(settings: Settings | None, verbose: bool = False, to_stderr: bool = True) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)] if to_stderr else []
    if settings is not None and settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(settings.log_file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `hotline db upgrade` says its own
