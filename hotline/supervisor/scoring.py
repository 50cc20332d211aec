"""The quantified score sheet and its arithmetic. Pure: no I/O beyond reading the sheet.

A sheet has items (weights adding up to 100), bands (each a share of an item's weight) and a
one-vote veto with its reasons. A score picks one band per item; the total is the sum of the
items' points, or 0 when the veto is used, whatever else was good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hotline.tomltables import ConfigError, Table, load_toml


class ScoreError(Exception):
    """A score does not fit the sheet (one line for the user)."""


@dataclass(frozen=True)
class Item:
    id: str
    group: str
    name_zh: str
    name_en: str
    weight: float


@dataclass(frozen=True)
class Band:
    id: str
    name_zh: str
    name_en: str
    share: float


@dataclass(frozen=True)
class Sheet:
    id: str
    version: int
    name_zh: str
    name_en: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    veto_reasons_zh: tuple[str, ...]
    veto_reasons_en: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "version": self.version,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "items": [i.__dict__ for i in self.items],
            "bands": [b.__dict__ for b in self.bands],
            "veto_reasons_zh": list(self.veto_reasons_zh),
            "veto_reasons_en": list(self.veto_reasons_en),
        }


@dataclass(frozen=True)
class Result:
    points: dict[str, float]  # item id -> points
    total: float
    vetoed: bool
    veto_reason: str


def load_sheet(path: Path) -> Sheet:
    root = Table(load_toml(path), path, "")
    items = tuple(
        Item(
            id=t.text("id"),
            group=t.text("group", "answer"),
            name_zh=t.text("name_zh"),
            name_en=t.text("name_en"),
            weight=t.number("weight", lo=0.0),
        )
        for t in root.tables("item")
    )
    bands = tuple(
        Band(
            id=t.text("id"),
            name_zh=t.text("name_zh"),
            name_en=t.text("name_en"),
            share=t.number("share", lo=0.0),
        )
        for t in root.tables("band")
    )
    if not items or not bands:
        raise ConfigError(f"{path}: a score sheet needs [[item]] and [[band]] tables")
    if abs(sum(i.weight for i in items) - 100) > 1e-6:
        raise ConfigError(
            f"{path}: the items' weights add up to {sum(i.weight for i in items):g}, not 100"
        )
    if len({i.id for i in items}) != len(items) or len({b.id for b in bands}) != len(bands):
        raise ConfigError(f"{path}: item and band ids must be unique")
    for band in bands:
        if band.share > 1:
            raise ConfigError(f"{path}: band {band.id}: share must be from 0 to 1")
    veto = root.table("veto")
    zh, en = veto.texts("reasons_zh"), veto.texts("reasons_en")
    if len(zh) != len(en):
        raise ConfigError(f"{path}: [veto] reasons_zh and reasons_en must pair up")
    return Sheet(
        id=root.text("id"),
        version=root.integer("version", 1, 1),
        name_zh=root.text("name_zh"),
        name_en=root.text("name_en"),
        items=items,
        bands=bands,
        veto_reasons_zh=tuple(zh),
        veto_reasons_en=tuple(en),
    )


def score(sheet: Sheet, bands: Mapping[str, str], veto_reason: str = "") -> Result:
    """`bands`: item id -> band id, for every item. `veto_reason`: one of the sheet's veto
    reasons (either language), or '' for no veto."""
    known = {b.id: b for b in sheet.bands}
    unknown = set(bands) - {i.id for i in sheet.items}
    if unknown:
        raise ScoreError(f"not on the sheet: {', '.join(sorted(unknown))}")
    points: dict[str, float] = {}
    for item in sheet.items:
        band_id = bands.get(item.id)
        if band_id is None:
            raise ScoreError(f"item {item.id} has no band chosen")
        band = known.get(band_id)
        if band is None:
            raise ScoreError(f"item {item.id}: unknown band {band_id!r}")
        points[item.id] = round(item.weight * band.share, 2)
    if veto_reason and veto_reason not in (*sheet.veto_reasons_zh, *sheet.veto_reasons_en):
        raise ScoreError(f"unknown veto reason {veto_reason!r}")
    vetoed = bool(veto_reason)
    total = 0.0 if vetoed else round(sum(points.values()), 2)
    return Result(points, total, vetoed, veto_reason)
