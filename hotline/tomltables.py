"""Typed reading of TOML tables; errors name the file, the key and the expected form.

Every configuration loader (controller settings, seat directory, sandbox) reads through
`Table`, so a wrong or missing key always reads the same way:

    config/hotline.toml: [ami] port: expected an integer from 1 to 65535, got 'abc'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_MISSING: Any = object()


class ConfigError(Exception):
    """A configuration file is missing, malformed or holds a wrong value (one line)."""


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


class Table:
    """One TOML table, read key by key with type checks."""

    def __init__(self, data: Mapping[str, Any], file: Path, where: str) -> None:
        self.data = data
        self.file = file
        self.where = where

    def error(self, key: str, expected: str, got: Any = _MISSING) -> ConfigError:
        # a secret's value is never shown, even a wrong one (it may be the right secret in
        # the wrong form: a number, a list)
        secret = any(word in key.lower() for word in ("secret", "password", "token"))
        tail = "" if got is _MISSING or secret else f", got {got!r}"
        return ConfigError(f"{self.file}: {self.where} {key}: expected {expected}{tail}")

    def _get(self, key: str, default: Any, expected: str) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            where = f"{self.where} {key}" if self.where else key
            raise ConfigError(f"{self.file}: {where}: missing; expected {expected}")
        return default

    def table(self, key: str, required: bool = True) -> Table:
        value = self._get(key, _MISSING if required else {}, "a table")
        if not isinstance(value, Mapping):
            raise self.error(key, "a table", value)
        return Table(
            value, self.file, f"[{key}]" if not self.where else f"{self.where[:-1]}.{key}]"
        )

    def tables(self, key: str) -> list[Table]:
        value = self._get(key, [], "an array of tables")
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(key, f"an array of tables ([[{key}]])", value)
        return [Table(v, self.file, f"[[{key}]] #{i + 1}") for i, v in enumerate(value)]

    def text(self, key: str, default: Any = _MISSING, expected: str = "a string") -> str:
        value = self._get(key, default, expected)
        if not isinstance(value, str) or not value:
            raise self.error(key, expected, value)
        return value

    def opt_text(self, key: str) -> str | None:
        if key not in self.data:
            return None
        return self.text(key)

    def integer(self, key: str, default: Any = _MISSING, lo: int = 0, hi: int = 2**31) -> int:
        expected = f"an integer from {lo} to {hi}"
        value = self._get(key, default, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(key, expected, value)
        return value

    def number(self, key: str, default: Any = _MISSING, lo: float = 0.0) -> float:
        expected = f"a number of at least {lo}"
        value = self._get(key, default, expected)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
            raise self.error(key, expected, value)
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default, "true or false")
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def texts(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self._get(key, default, "a list of strings")
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "a list of strings", value)
        return list(value)

    def path(self, key: str, default: Any = _MISSING) -> Path:
        """A path; relative paths are taken from the configuration file's folder."""
        raw = Path(self.text(key, default, "a file or folder path"))
        return raw if raw.is_absolute() else (self.file.parent / raw).resolve()

    def host_port(self, key: str, default: Any = _MISSING) -> tuple[str, int]:
        expected = "'host:port', e.g. '127.0.0.1:4573'"
        value = self.text(key, default, expected)
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise self.error(key, expected, value)
        return host, int(port)
