"""The one-time notification catalogue (一次性告知) and the standard answers (统一答复口径):
per business item, what to bring, where to go, hours, fees and the legal basis, in zh-CN and
English. Plain typed data read from config/notices.toml:

    [[notice]]
    id = "pension-transfer"
    business = "pension"
    kind = "notice"                 # or "answer": a standard answer, searchable from the desk
    title = { zh-CN = "养老保险关系转移", en = "Pension transfer" }
    text = { zh-CN = "请携带……", en = "Bring ..." }

`check` says which business item lacks a notice in which language (`hotline notices check`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hotline.tomltables import ConfigError, Table, load_toml

LANGUAGES = ("zh-CN", "en")
KINDS = ("notice", "answer")
SMS_LIMIT = 500  # characters of one notice's text (a long SMS is split by the gateway)


@dataclass(frozen=True)
class Notice:
    id: str
    business: str
    kind: str
    title: dict[str, str]  # language -> text
    text: dict[str, str]

    def in_language(self, language: str) -> tuple[str, str]:
        """(title, text) in `language`, else in zh-CN (the callers' default)."""
        lang = language if language in self.text else LANGUAGES[0]
        return self.title.get(lang, self.id), self.text.get(lang, "")


@dataclass(frozen=True)
class Catalogue:
    notices: dict[str, Notice] = field(default_factory=dict)

    def for_business(self, business: str, kind: str | None = None) -> list[Notice]:
        return [
            n
            for n in self.notices.values()
            if n.business == business and (kind is None or n.kind == kind)
        ]

    def search(self, words: str, business: str | None = None) -> list[Notice]:
        """Notices and answers whose id, title or text holds every word (any language, case
        aside), of `business` when one is named. No words: all of them (of that business)."""
        terms = [w.lower() for w in words.split() if w]
        found = []
        for n in self.notices.values():
            if business is not None and n.business != business:
                continue
            hay = " ".join([n.id, n.business, *n.title.values(), *n.text.values()]).lower()
            if all(term in hay for term in terms):
                found.append(n)
        return found

    def check(self, businesses: frozenset[str]) -> list[str]:
        """Every business item without a notice in each language, as one line each."""
        problems = []
        for business in sorted(businesses):
            notices = self.for_business(business, "notice")
            if not notices:
                problems.append(f'business {business!r}: no notice (kind = "notice")')
                continue
            for language in LANGUAGES:
                if not any(n.text.get(language) and n.title.get(language) for n in notices):
                    problems.append(f"business {business!r}: no notice in {language}")
        return problems


def _texts(t: Table, key: str) -> dict[str, str]:
    raw = t.data.get(key, {})
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in raw.items()
    ):
        raise t.error(key, '{ zh-CN = "...", en = "..." }', raw)
    unknown = [k for k in raw if k not in LANGUAGES]
    if unknown:
        raise t.error(key, f"languages among {', '.join(LANGUAGES)}", unknown[0])
    return dict(raw)


def load_notices(path: Path) -> Catalogue:
    root = Table(load_toml(path), path, "")
    notices: dict[str, Notice] = {}
    for t in root.tables("notice"):
        kind = t.text("kind", "notice")
        if kind not in KINDS:
            raise t.error("kind", f"one of {', '.join(KINDS)}", kind)
        notice = Notice(
            id=t.text("id"),
            business=t.text("business"),
            kind=kind,
            title=_texts(t, "title"),
            text=_texts(t, "text"),
        )
        if notice.id in notices:
            raise ConfigError(f"{path}: {t.where} id: {notice.id!r} is listed twice")
        if any(len(v) > SMS_LIMIT for v in notice.text.values()):
            raise t.error("text", f"at most {SMS_LIMIT} characters per language")
        notices[notice.id] = notice
    return Catalogue(notices)
