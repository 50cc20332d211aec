"""The supervisors' side's one-line user errors, importable without the heavy modules (the
CLI catches them around every command)."""

from __future__ import annotations


class WebError(Exception):
    """The dashboard cannot start (one line for the user)."""


class TopError(Exception):
    """The dashboard cannot be reached or refuses the log-in (one line)."""
