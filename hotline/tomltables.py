"""Typed reading of TOML tables; errors name the file, the key and the expected form.

Every configuration loader (controller settings, seat directory, sandbox) reads through
`Table`, so a wrong or missing key always reads the same way:

    config/hotline.toml: [ami] port: expected an integer from 1 to 65535, got 'abc'

A settings type says once how each of its fields is written in TOML: a dataclass whose fields
carry their one default, and `setting(...)` where the key, bounds or form differ from the
plain field. `read_table` fills such a type from a table (a key the table lacks takes the
field's default); `dump_table` writes one back (`to_toml` renders a document), so a generated
configuration cannot drift from the types. A `Table` remembers the keys it was asked for, so
the loader can refuse a key nothing reads (a typo, a setting that no longer exists).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

_MISSING: Any = object()
T = TypeVar("T")


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
        self.read: set[str] = set()  # keys asked for (present or not)
        self.children: list[Table] = []

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def mark_read(self, *keys: str) -> None:
        """Keys another reader takes care of (a secret from the environment wins, say)."""
        self.read.update(keys)

    def unread(self, skip: tuple[str, ...] = ()) -> list[str]:
        """`[table] key` of every key nothing asked for, nested tables included."""
        out = [
            f"{self.where} {key}".strip()
            for key in self.data
            if key not in self.read and key not in skip
        ]
        for child in self.children:
            out += child.unread()
        return out

    def refuse_unread(self, skip: tuple[str, ...] = ()) -> None:
        """One line naming the first key no setting reads (keys in `skip` belong to another
        reader of the same file, e.g. the sandbox's [sandbox])."""
        unread = self.unread(skip)
        if unread:
            more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
            raise ConfigError(
                f"{self.file}: {unread[0]}: no such setting; check its spelling, or remove it{more}"
            )

    def error(self, key: str, expected: str, got: Any = _MISSING) -> ConfigError:
        # a secret's value is never shown, even a wrong one (it may be the right secret in
        # the wrong form: a number, a list)
        secret = any(word in key.lower() for word in ("secret", "password", "token"))
        tail = "" if got is _MISSING or secret else f", got {got!r}"
        where = f"{self.where} {key}" if self.where else key  # the file's top level: no table
        return ConfigError(f"{self.file}: {where}: expected {expected}{tail}")

    def _get(self, key: str, default: Any, expected: str) -> Any:
        self.read.add(key)
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
        child = Table(
            value, self.file, f"[{key}]" if not self.where else f"{self.where[:-1]}.{key}]"
        )
        self.children.append(child)
        return child

    def tables(self, key: str) -> list[Table]:
        value = self._get(key, [], "an array of tables")
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(key, f"an array of tables ([[{key}]])", value)
        out = [Table(v, self.file, f"[[{key}]] #{i + 1}") for i, v in enumerate(value)]
        self.children += out
        return out

    def text(self, key: str, default: Any = _MISSING, expected: str = "a string") -> str:
        value = self._get(key, default, expected)
        if not isinstance(value, str) or not value:
            raise self.error(key, expected, value)
        return value

    def opt_text(self, key: str) -> str | None:
        self.read.add(key)
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


# --- settings types: one dataclass per table, its fields' defaults the only ones -------------

_META = "hotline.tomltables"


@dataclass(frozen=True)
class Key:
    """How one settings field is written in TOML (see `setting`)."""

    name: str | None = None  # the TOML key; None: the field's own name
    lo: float | None = None  # numbers: the smallest allowed
    hi: int | None = None  # integers: the largest allowed
    choices: tuple[str, ...] = ()  # strings (or each string of a list): the allowed values
    expected: str | None = None  # the form named in an error, when the type's own is not enough
    # a form the field's type does not say: (table, key) -> value, asked only when the key (or
    # one of `also`) is in the table
    read: Callable[[Table, str], Any] | None = None
    # (the whole settings object) -> the TOML keys and values that write this field
    dump: Callable[[Any], dict[str, Any]] | None = None
    also: tuple[str, ...] = ()  # further keys `read` looks at
    flat: bool = False  # a nested settings type whose keys sit in this same table
    toml: bool = True  # False: set by code, not a configuration key


def setting(
    default: Any = _MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    key: str | None = None,
    lo: float | None = None,
    hi: int | None = None,
    choices: tuple[str, ...] = (),
    expected: str | None = None,
    read: Callable[[Table, str], Any] | None = None,
    dump: Callable[[Any], dict[str, Any]] | None = None,
    also: tuple[str, ...] = (),
    flat: bool = False,
    toml: bool = True,
) -> Any:
    """A dataclass field with its one default and how TOML writes it. No default: required."""
    meta = {_META: Key(key, lo, hi, choices, expected, read, dump, also, flat, toml)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def bind_host(default: str) -> Any:
    """The host half of a `bind = "host:port"` key (with `bind_port`)."""
    return setting(
        default,
        key="bind",
        read=lambda t, key: t.host_port(key)[0],
        dump=lambda s: {"bind": f"{s.host}:{s.port}"},
    )


def bind_port(default: int) -> Any:
    return setting(default, key="bind", read=lambda t, key: t.host_port(key)[1], dump=_nothing)


def _nothing(_: Any) -> dict[str, Any]:
    return {}


@typing.dataclass_transform(
    frozen_default=True, field_specifiers=(setting, bind_host, bind_port, dataclasses.field)
)
def settings_type(cls: type[T]) -> type[T]:
    """A frozen dataclass whose fields may be `setting(...)`s (type checkers know which fields
    are required: those without a default)."""
    return dataclass(frozen=True)(cls)


def _key(f: dataclasses.Field[Any]) -> Key:
    meta = f.metadata.get(_META)
    return meta if isinstance(meta, Key) else Key()


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def read_table(
    cls: type[T],
    t: Table,
    given: Mapping[str, Any] | None = None,
    fallback: Mapping[str, Any] | None = None,
) -> T:
    """A `cls` from table `t`: each field from its key, checked against the field's type and
    bounds; a key the table lacks takes the field's default (relative default paths from the
    file's folder). `given` sets fields outright (their keys count as read: the environment's
    secret wins over the file's); `fallback` holds values for absent keys that depend on other
    settings (the Asterisk-side folder is the controller's own unless said otherwise)."""
    given = given or {}
    fallback = fallback or {}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        k = _key(f)
        if f.init and f.name in given:
            values[f.name] = given[f.name]
        if not f.init or not k.toml:
            continue
        name = k.name or f.name
        t.mark_read(name, *k.also)
        if f.name in given:
            pass
        elif k.flat:
            values[f.name] = read_table(hints[f.name], t)
        elif not any(key in t.data for key in (name, *k.also)):
            if f.name in fallback:
                values[f.name] = fallback[f.name]
            elif not _has_default(f):
                where = f"{t.where} {name}" if t.where else name
                raise ConfigError(
                    f"{t.file}: {where}: missing; expected {k.expected or _form(hints[f.name])}"
                )
            elif isinstance(f.default, Path) and not f.default.is_absolute():
                values[f.name] = (t.file.parent / f.default).resolve()
        elif k.read is not None:
            values[f.name] = k.read(t, name)
        else:
            values[f.name] = _typed(t, name, hints[f.name], k)
    return cls(**values)


def _optional(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else hint
    return hint


def _form(hint: Any) -> str:
    hint = _optional(hint)
    forms = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        Path: "a file or folder path",
    }
    if dataclasses.is_dataclass(hint):
        return "a table"
    if typing.get_origin(hint) is tuple:
        return "a list of strings"
    return forms.get(hint, "a string")


def _typed(t: Table, key: str, hint: Any, k: Key) -> Any:
    hint = _optional(hint)
    if hint is bool:
        return t.flag(key)
    if hint is int:
        return t.integer(key, lo=int(k.lo or 0), hi=2**31 if k.hi is None else k.hi)
    if hint is float:
        return t.number(key, lo=float(k.lo or 0.0))
    if hint is Path:
        return t.path(key)
    if hint is str:
        value = t.text(key, expected=k.expected or "a string")
        if k.choices and value not in k.choices:
            raise t.error(key, k.expected or " or ".join(repr(c) for c in k.choices), value)
        return value
    if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, Ellipsis):
        values = t.texts(key)
        for value in values:
            if k.choices and value not in k.choices:
                raise t.error(key, k.expected or f"values among {', '.join(k.choices)}", value)
        return tuple(values)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return read_table(hint, t.table(key))
    raise TypeError(f"{key}: no TOML form for {hint}; give the field a `read`")


def dump_table(settings: Any) -> dict[str, Any]:
    """The TOML keys and values that `read_table` reads back into `settings` (None: absent)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        k = _key(f)
        if not f.init or not k.toml:
            continue
        value = getattr(settings, f.name)
        if k.flat:
            out.update(dump_table(value))
        elif k.dump is not None:
            out.update(k.dump(settings))
        elif value is not None:
            out[k.name or f.name] = plain(value)
    return out


def plain(value: Any) -> Any:
    """A value as TOML holds it: paths as text, tuples as lists, settings types as tables."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dump_table(value)
    raise TypeError(f"no TOML form for {value!r}")


def to_toml(document: Mapping[str, Any], prefix: str = "") -> str:
    """A TOML document: plain keys first, then each table ([a], [a.b]) in order."""
    lines = [
        f"{_toml_key(key)} = {_toml_value(value)}"
        for key, value in document.items()
        if not isinstance(value, Mapping)
    ]
    out = "".join(line + "\n" for line in lines)
    for key, value in document.items():
        if isinstance(value, Mapping):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            out += f"\n[{name}]\n" + to_toml(value, name)
    return out


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # a JSON string is a TOML basic string, but for DEL, which TOML wants escaped
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def toml_keys(cls: type) -> list[str]:
    """Every TOML key a settings type reads (nested flat types included), in field order."""
    hints = typing.get_type_hints(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        k = _key(f)
        if not f.init or not k.toml:
            continue
        if k.flat:
            out += [key for key in toml_keys(hints[f.name]) if key not in out]
        else:
            out += [key for key in (k.name or f.name, *k.also) if key not in out]
    return out
