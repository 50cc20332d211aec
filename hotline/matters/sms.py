"""Sending a notice's text to a citizen's phone: the pluggable SMS senders.

Every notice goes through the outbox table first (NoticeSent, with its idempotency key), then
to a sender:

- `FileSink`: the default: appends one JSON line per message to a file that a site's own
  SMS job (or a person, in the sandbox) picks up. Nothing leaves the machine.
- `HttpGateway`: a typical SMS gateway: POST {to, text, key} as JSON with the key also in an
  `Idempotency-Key` header, so a retry after a lost reply is not delivered twice. Network
  errors and 5xx replies are retried up to `attempts` times with the same key; a 4xx reply is
  final (the request itself is wrong).

Senders are blocking (run them in a worker thread) and raise SendFailed with a one-line
reason that never holds the number or the text.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class SendFailed(Exception):
    """The message was not accepted (one line, no personal data)."""


@dataclass(frozen=True)
class Sms:
    to: str  # digits, the citizen's number
    text: str
    key: str  # idempotency key: one delivery per key


class SmsSender(Protocol):
    name: str

    def send(self, sms: Sms) -> None:
        """Hand the message over; raise SendFailed when it was not accepted."""


class FileSink:
    name = "outbox"

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def send(self, sms: Sms) -> None:
        if self.path is None:
            return  # the outbox table alone is the record
        line = json.dumps(
            {"to": sms.to, "text": sms.text, "key": sms.key, "at": datetime.now(UTC).isoformat()},
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise SendFailed(f"cannot write the SMS outbox {self.path}: {exc.strerror}") from None


class HttpGateway:
    name = "http"

    def __init__(
        self, url: str, attempts: int = 3, timeout: float = 5.0, backoff: float = 1.0
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff  # seconds before the 2nd try, doubled after each

    def send(self, sms: Sms) -> None:
        body = json.dumps({"to": sms.to, "text": sms.text, "key": sms.key}).encode()
        why = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Idempotency-Key": sms.key},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    if 200 <= reply.status < 300:
                        return
                    why = f"HTTP {reply.status}"
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500:
                    raise SendFailed(
                        f"the SMS gateway refused the message: HTTP {exc.code}"
                    ) from None
                why = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                why = f"{type(reason).__name__}: {reason}"
        raise SendFailed(f"the SMS gateway did not take it after {self.attempts} tries ({why})")


def sender_of(
    sender: str, outbox_file: Path | None, url: str, attempts: int, timeout: float
) -> SmsSender:
    """The configured sender ([matters.sms] sender: outbox | http)."""
    if sender == "http":
        return HttpGateway(url, attempts, timeout)
    return FileSink(outbox_file)
