"""One-time notification: the catalogue check, the outbox file sink through the notice desk
(stored with the matter, sent once per key), and the HTTP gateway adapter against a local
fake gateway on loopback (retries, one delivery per idempotency key, 4xx final)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.matters.lifecycle import DuePolicy
from hotline.matters.notices import Catalogue, Notice, load_notices
from hotline.matters.notify import NoticeDesk
from hotline.matters.service import MatterError, MatterService, NewMatter
from hotline.matters.sms import FileSink, HttpGateway, SendFailed, Sms
from hotline.settings import load_directory
from hotline.store.db import open_engine, session_factory
from hotline.store.models import NoticeSent
from ivr.runtime import NoticeAsked
from routing.directory import Directory
from tests.conftest import REPO

CALLER = "13900004444"
ZONE = ZoneInfo("Asia/Shanghai")
PENSION = Notice(
    "pension-transfer",
    "pension",
    "notice",
    {"zh-CN": "养老保险关系转移接续", "en": "Pension transfer"},
    {"zh-CN": "请携带身份证原件。", "en": "Bring your ID card."},
)


def test_the_shipped_catalogue_has_a_notice_in_both_languages_for_every_business() -> None:
    catalogue = load_notices(REPO / "config" / "notices.toml")
    directory = load_directory(REPO / "config" / "seats.toml")
    assert catalogue.check(directory.businesses) == []
    assert [n.id for n in catalogue.search("转移")][:1] == ["pension-transfer"]


def test_the_check_names_each_business_and_language_missing() -> None:
    half = Notice("medical-x", "medical", "notice", {"zh-CN": "医保"}, {"zh-CN": "……"})
    catalogue = Catalogue({"pension-transfer": PENSION, "medical-x": half})
    assert catalogue.check(frozenset({"pension", "medical", "labour"})) == [
        "business 'labour': no notice (kind = \"notice\")",
        "business 'medical': no notice in en",
    ]


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    return session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))


@pytest.fixture
def directory() -> Directory:
    return load_directory(REPO / "config" / "seats.toml")


def matters(sessions: sessionmaker[Session], directory: Directory) -> MatterService:
    at = datetime(2026, 12, 7, 10, 0, tzinfo=ZONE)
    return MatterService(sessions, directory, {}, DuePolicy(), now=lambda: at)


def test_a_pension_transfer_notice_goes_to_the_callers_number_through_the_outbox_once(
    sessions: sessionmaker[Session], directory: Directory, tmp_path: Path
) -> None:
    service = matters(sessions, directory)
    number = service.create(NewMatter(CALLER, "pension", "xihu"), "2001").number
    outbox = tmp_path / "sms.jsonl"
    desk = NoticeDesk(sessions, Catalogue({PENSION.id: PENSION}), FileSink(outbox), service)
    sent = desk.send("pension-transfer", "2001", matter=number)
    assert (sent.status, sent.sender, sent.again) == ("sent", "outbox", False)
    again = desk.send("pension-transfer", "2001", matter=number)  # a second click
    assert again.again and again.id == sent.id
    (line,) = outbox.read_text(encoding="utf-8").splitlines()
    message = json.loads(line)
    assert (message["to"], message["text"]) == (CALLER, "请携带身份证原件。")
    detail = service.get(number)
    assert [(n.notice, n.status) for n in detail.notices] == [("pension-transfer", "sent")]
    (event,) = [e for e in detail.events if e.kind == "notice"]
    assert event.detail == "pension-transfer (zh-CN) to 139****4444 by outbox: sent"
    assert CALLER not in event.detail
    # in English it is another message (another key)
    assert not desk.send("pension-transfer", "2001", matter=number, language="en").again
    with pytest.raises(MatterError, match="no notice 'nope'"):
        desk.send("nope", "2001", matter=number)


class FakeGateway:
    """A local SMS gateway: the first `fail` requests get 503; with `drop_reply`, the first
    accepted request is delivered but the connection closes before the reply (a lost reply).
    Deliveries are counted per idempotency key, as a real gateway de-duplicates."""

    def __init__(self, fail: int = 0, drop_reply: bool = False, refuse: bool = False) -> None:
        self.fail, self.drop_reply, self.refuse = fail, drop_reply, refuse
        self.requests = 0
        self.delivered: dict[str, list[dict[str, str]]] = {}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests += 1
                if gateway.refuse:
                    self.send_response(400)
                    self.end_headers()
                    return
                if gateway.requests <= gateway.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                key = self.headers["Idempotency-Key"]
                assert key == body["key"]
                gateway.delivered.setdefault(key, [body])  # once per key
                if gateway.drop_reply:
                    gateway.drop_reply = False
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.close()
                    return
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def __enter__(self) -> FakeGateway:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms() -> Iterator[Sms]:
    yield Sms(CALLER, "请携带身份证原件。", "k1")


def test_the_gateway_adapter_retries_5xx_with_the_same_key_and_delivers_once(sms: Sms) -> None:
    with FakeGateway(fail=2) as gateway:
        HttpGateway(gateway.url, attempts=3, timeout=5, backoff=0).send(sms)
    assert gateway.requests == 3
    assert gateway.delivered == {"k1": [{"to": CALLER, "text": sms.text, "key": "k1"}]}


def test_a_lost_reply_is_retried_and_the_key_keeps_it_to_one_delivery(sms: Sms) -> None:
    with FakeGateway(drop_reply=True) as gateway:
        HttpGateway(gateway.url, attempts=3, timeout=5, backoff=0).send(sms)
    assert gateway.requests == 2
    assert list(gateway.delivered) == ["k1"] and len(gateway.delivered["k1"]) == 1


def test_out_of_tries_and_a_refusal_fail_in_one_line_without_the_number(sms: Sms) -> None:
    with (
        FakeGateway(fail=5) as gateway,
        pytest.raises(SendFailed, match=r"after 3 tries \(HTTP 503\)") as failed,
    ):
        HttpGateway(gateway.url, attempts=3, timeout=5, backoff=0).send(sms)
    assert CALLER not in str(failed.value) and gateway.delivered == {}
    with (
        FakeGateway(refuse=True) as gateway,
        pytest.raises(SendFailed, match="refused the message: HTTP 400"),
    ):
        HttpGateway(gateway.url, attempts=3, timeout=5, backoff=0).send(sms)
    assert gateway.requests == 1  # a 4xx is not retried


def test_a_failed_notice_is_kept_failed_in_the_outbox_and_sent_on_a_later_try(
    sessions: sessionmaker[Session], directory: Directory
) -> None:
    service = matters(sessions, directory)
    number = service.create(NewMatter(CALLER, "pension", "xihu"), "2001").number
    catalogue = Catalogue({PENSION.id: PENSION})
    with FakeGateway(fail=3) as gateway:
        desk = NoticeDesk(
            sessions, catalogue, HttpGateway(gateway.url, attempts=3, backoff=0), service
        )
        first = desk.send("pension-transfer", "2001", matter=number)
        assert (first.status, first.attempts) == ("failed", 1)
        second = desk.send("pension-transfer", "2001", matter=number)
        assert (second.id, second.status, second.attempts) == (first.id, "sent", 2)
    with sessions() as session:
        (row,) = session.scalars(select(NoticeSent)).all()
        assert (row.status, row.sender, row.error) == ("sent", "http", "")
    assert len(gateway.delivered) == 1


def test_the_ivr_sends_the_notice_to_the_callers_number_with_their_open_matter(
    sessions: sessionmaker[Session], directory: Directory, tmp_path: Path
) -> None:
    service = matters(sessions, directory)
    number = service.create(NewMatter(CALLER, "pension", "xihu"), "2001").number
    outbox = tmp_path / "sms.jsonl"
    desk = NoticeDesk(sessions, Catalogue({PENSION.id: PENSION}), FileSink(outbox), service)
    asked = NoticeAsked("1795.3", CALLER, "pension-transfer", "en")
    assert asyncio.run(desk.from_ivr(asked))
    assert json.loads(outbox.read_text(encoding="utf-8"))["text"] == "Bring your ID card."
    assert [n.language for n in service.get(number).notices] == ["en"]
    # a withheld caller has no number to send to: refused, nothing written
    assert not asyncio.run(desk.from_ivr(NoticeAsked("1795.4", "anonymous", PENSION.id, "zh-CN")))
    assert not asyncio.run(desk.from_ivr(NoticeAsked("1795.5", CALLER, "nope", "zh-CN")))
    assert len(outbox.read_text(encoding="utf-8").splitlines()) == 1
