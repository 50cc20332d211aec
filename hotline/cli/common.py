"""What every command module shares: the subparsers type, the settings and logging set-up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from hotline.logs import start_logging
from hotline.settings import Settings, load_settings

if TYPE_CHECKING:  # argparse's class is generic only to the type checker
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def settings_of(args: argparse.Namespace) -> Settings:
    """The configuration named by `-c/--config` (or $HOTLINE_CONFIG)."""
    return load_settings(Path(args.config))


def setup_logging(settings: Settings | None, verbose: bool = False, to_stderr: bool = True) -> None:
    start_logging(None if settings is None else settings.log_file, verbose, to_stderr)
