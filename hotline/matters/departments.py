"""The departments matters are handed over to (跨部门协调): plain typed data from
config/departments.toml, read by `load_departments`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.tomltables import ConfigError, Table, load_toml


@dataclass(frozen=True)
class Department:
    id: str
    name: str  # zh-CN first
    name_en: str = ""
    contact: str = ""  # a phone or mailbox of the department's desk (not a citizen's)
    district: str = "city"  # the office whose supervisor it answers to ("city": all)


def load_departments(path: Path) -> dict[str, Department]:
    """Every [[department]] of the file, by id; a repeated id is an error naming the file."""
    root = Table(load_toml(path), path, "")
    found: dict[str, Department] = {}
    for t in root.tables("department"):
        department = Department(
            id=t.text("id"),
            name=t.text("name"),
            name_en=t.opt_text("name_en") or "",
            contact=t.opt_text("contact") or "",
            district=t.text("district", "city"),
        )
        if department.id in found:
            raise ConfigError(f"{path}: {t.where} id: {department.id!r} is listed twice")
        found[department.id] = department
    return found
