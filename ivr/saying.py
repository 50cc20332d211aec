"""Saying values back to a caller as sequences of prompt ids, per language. Pure.

zh-CN reads numbers the Chinese way (1234 -> 一千二百三十四, 10000 -> 一万); en the English
way (1234 -> one thousand two hundred thirty four). The ids are those of config/prompts.toml:
"num/0".."num/19", tens "num/20".."num/90", "num/100", "num/1000", "num/10000", "num/point",
"unit/yuan|jiao|fen|year|month|months|day", and "letter_x"; service hours with
"day/mon".."day/sun", "word/to", "word/and", "time/am|noon|pm|midnight", "unit/oclock",
"unit/minute".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from decimal import Decimal, InvalidOperation

from routing.calendar import DAYS, parse_span


def say_digits(value: str) -> list[str]:
    return [
        "letter_x" if ch in "Xx*" else f"num/{ch}" for ch in value if ch.isdigit() or ch in "Xx*"
    ]


def say_number(n: int, language: str) -> list[str]:
    if n < 0:
        raise ValueError("negative numbers are not said")
    return _zh(n) if language.startswith("zh") else _en(n)


def _zh(n: int) -> list[str]:
    if n < 10:
        return [f"num/{n}"]
    if n >= 100_000_000:
        raise ValueError("numbers of 100 million and more are not said")
    out: list[str] = []
    high, low = divmod(n, 10_000)
    if high:
        out += [*_zh_below_10000(high, leading=True), "num/10000"]
        if low and low < 1000:
            out.append("num/0")  # 10 0500 -> 十万零五百
    if low:
        out += _zh_below_10000(low, leading=not high)
    return out


def _zh_below_10000(n: int, leading: bool) -> list[str]:
    out: list[str] = []
    units = ((1000, "num/1000"), (100, "num/100"), (10, "num/10"))
    zero_pending = False
    for value, unit in units:
        digit, n = divmod(n, value)
        if digit:
            if zero_pending:
                out.append("num/0")
                zero_pending = False
            # 十五, not 一十五, at the start of a number
            if not (value == 10 and digit == 1 and leading and not out):
                out.append(f"num/{digit}")
            out.append(unit)
        elif out:
            zero_pending = True
    if n:
        if zero_pending:
            out.append("num/0")
        out.append(f"num/{n}")
    return out


def _en(n: int) -> list[str]:
    if n < 20:
        return [f"num/{n}"]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [f"num/{tens * 10}"] + ([f"num/{ones}"] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [f"num/{hundreds}", "num/100"] + (_en(rest) if rest else [])
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        return _en(thousands) + ["num/1000"] + (_en(rest) if rest else [])
    raise ValueError("numbers of a million and more are not said in English")


def say_amount(value: str, language: str) -> list[str]:
    """A money amount in yuan, e.g. '1234.50' -> ... 元 五 角."""
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    fen_total = int(amount * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    out = [*say_number(yuan, language), "unit/yuan"]
    if jiao:
        out += [*say_number(jiao, language), "unit/jiao"]
    if fen:
        out += [*say_number(fen, language), "unit/fen"]
    return out


def say_date(value: str, language: str) -> list[str]:
    """YYYYMMDD or YYYYMM: the year digit by digit, then month and day as numbers."""
    if len(value) not in (6, 8) or not value.isdigit():
        raise ValueError(f"not a date: {value!r}")
    out = [*say_digits(value[:4]), "unit/year", *say_number(int(value[4:6]), language)]
    out.append("unit/month")
    if len(value) == 8:
        out += [*say_number(int(value[6:]), language), "unit/day"]
    return out


def say_months(value: str, language: str) -> list[str]:
    return [*say_number(int(value), language), "unit/months"]


def say_hours(value: str, language: str) -> list[str]:
    """Service hours as the calendar writes them ("mon-fri 08:30-12:00;mon-fri 13:30-17:00"):
    the days once per run of spans with the same days, then each span's times,
    "周一至周五 上午八点三十分至中午十二点 和 下午一点三十分至下午五点" / "Monday to Friday
    eight thirty a.m. to twelve noon and one thirty p.m. to five p.m."."""
    spans = [parse_span(text) for text in value.split(";") if text.strip()]
    if not spans:
        raise ValueError("no hours to say")
    out: list[str] = []
    days: frozenset[int] | None = None
    for span in spans:
        if span.days != days:
            out += _say_days(span.days) if days is None else ["word/and", *_say_days(span.days)]
            days = span.days
        else:
            out.append("word/and")
        out += [*_say_time(span.start, language), "word/to", *_say_time(span.end, language)]
    return out


def _say_days(days: frozenset[int]) -> list[str]:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return [f"day/{DAYS[ordered[0]]}", "word/to", f"day/{DAYS[ordered[-1]]}"]
    out: list[str] = []
    for n, day in enumerate(ordered):
        out += (["word/and"] if n else []) + [f"day/{DAYS[day]}"]
    return out


def _say_time(at: time, language: str) -> list[str]:
    """08:30 -> 上午 八 点 三十 分 / eight thirty a.m.; 12:00 -> 中午 十二 点 / twelve noon."""
    if at == time.max:
        return ["time/midnight"]
    hour = at.hour if at.hour <= 12 else at.hour - 12
    part = "time/am" if at.hour < 12 else "time/noon" if at == time(12) else "time/pm"
    if language.startswith("zh"):
        minutes = [*say_number(at.minute, language), "unit/minute"] if at.minute else []
        return [part, *say_number(hour, language), "unit/oclock", *minutes]
    minutes = (
        [] if not at.minute else ["num/0", *_en(at.minute)] if at.minute < 10 else _en(at.minute)
    )
    return [*say_number(hour, language), *minutes, part]


SAYERS: dict[str, Callable[[str, str], list[str]]] = {
    "digits": lambda value, _language: say_digits(value),
    "number": lambda value, language: say_number(int(value), language),
    "amount": say_amount,
    "date": say_date,
    "months": say_months,
    "hours": say_hours,
}
