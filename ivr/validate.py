"""What callers key in, checked: resident ID numbers, phone numbers, dates. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def id18_check_digit(first17: str) -> str:
    """GB 11643: the 18th character from the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def valid_id18(value: str) -> bool:
    """An 18-character resident ID: 17 digits, a valid birth date, the right check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    if not valid_date(value[6:14]):
        return False
    return id18_check_digit(value[:17]) == value[17]


def valid_phone(value: str) -> bool:
    return bool(_MOBILE.match(value) or _LANDLINE.match(value))


def valid_date(value: str) -> bool:
    """YYYYMMDD, a real calendar day from 1900 on."""
    if len(value) != 8 or not value.isdigit():
        return False
    try:
        day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return day.year >= 1900


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "id18": valid_id18,
    "phone": valid_phone,
    "date": valid_date,
    "digits": lambda value: value.isdigit(),
}
