"""How personal data is shown wherever it leaves the call: one function, `mask`.

A citizen's resident ID number, query PIN, phone number or any other secret they key is
personal data. Rows (`ivr_step`), log lines, decision chains, tickets, errors and pages show
the masked form made here, never the value; only the lookup that needs the value gets it.

    id      330106198005126726 -> 330106********6726 (region code and last 4; the birth date
            and sequence hidden); anything not 18 characters long is hidden whole
    pin     always "******": neither the digits nor their number
    secret  as pin
    phone   at most the first 3 and the last 4 digits, at least 4 hidden, nothing shown under
            7 digits: 13912345678 -> 139****5678, 87654321 -> ****4321, 1234567 -> ****567

`scrub(text, secrets)` masks the known secret values of a call wherever they occur in a free
text (an exception's message, a back end's error), for the text no code of ours wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

KINDS = ("id", "pin", "phone", "secret")
HIDDEN = "*"
SECRET = "******"  # fixed length: the number of keys a caller pressed is not told either
ID_LENGTH = 18
PHONE_SHOWN_FIRST, PHONE_SHOWN_LAST, PHONE_HIDDEN_AT_LEAST = 3, 4, 4
PHONE_SHOWN_FROM = 7  # shorter numbers are hidden whole


def mask(value: str, kind: str) -> str:
    """`value` as it may be shown for its `kind` (one of KINDS); an unknown kind hides all."""
    if not value:
        return value
    if kind == "id":
        if len(value) != ID_LENGTH:
            return HIDDEN * len(value)
        return value[:6] + HIDDEN * (ID_LENGTH - 10) + value[-4:]
    if kind == "phone":
        return mask_number(value)
    return SECRET


def mask_number(number: str) -> str:
    """A phone number (a caller, a seat's outside line) as logs, pages and CLIs show it."""
    n = len(number)
    if n < PHONE_SHOWN_FROM:
        return HIDDEN * n
    last = min(PHONE_SHOWN_LAST, n - PHONE_HIDDEN_AT_LEAST)
    first = min(PHONE_SHOWN_FIRST, n - PHONE_HIDDEN_AT_LEAST - last)
    return number[:first] + HIDDEN * (n - first - last) + number[n - last :]


def scrub(text: str, secrets: Iterable[tuple[str, str]]) -> str:
    """`text` with every occurrence of each (value, kind) secret replaced by its masked form.
    Longer values first, so a PIN that happens to be part of an ID number cannot unmask it.
    The ID's form with X keyed as * is scrubbed too (that is how the keys arrived)."""
    pairs: list[tuple[str, str]] = []
    for value, kind in secrets:
        if value:
            pairs.append((value, mask(value, kind)))
            if kind == "id" and "X" in value:
                starred = value.replace("X", "*")
                pairs.append((starred, mask(starred, kind)))
    for value, masked in sorted(pairs, key=lambda p: -len(p[0])):
        text = text.replace(value, masked)
    return text
