"""Fuzz tests of the supervisors' web app (hotline/supervisor/web.py) over loopback: whatever a
logged-in browser, or anyone without a session, sends (garbage path segments, query strings,
JSON of the wrong shape, bodies that are not JSON), the answer is a page or a 4xx with a
reason, never a server error, and the server goes on serving.

The app runs on a real aiohttp server with a SQLite file; Asterisk is the recording fake of
tests/unit/test_supervisor_auth.py. Example counts are bounded so the file runs in seconds.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from yarl import URL

from hotline.settings import default_web
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.web import build_app
from tests.unit.test_supervisor_auth import PASSWORD, log_in, supervision

SHEET = load_sheet(default_web().score_sheet)
USERS = {"city", "xihu"}  # the accounts supervision() makes
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

TEXT = st.text(max_size=40)
# JSON of any shape, and the fields the app reads given values of any type
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)
FIELDS = ["linkedid", "mode", "replaces", "bands", "amends", "agent_id", "veto_reason", "comment"]
KNOWN = {  # values the app would accept, so that the fuzzing reaches past the first check
    "linkedid": st.sampled_from(["L1", "", "L1\x00", "../../etc/passwd"]),
    "mode": st.sampled_from(["listen", "whisper", "barge", "LISTEN", ""]),
    "agent_id": st.sampled_from(["1001", "2001", "", "1001; DROP TABLE score"]),
    "bands": st.one_of(  # a whole valid sheet, so that the score reaches the database
        st.builds(
            lambda bands, veto: {**bands, **veto},
            st.just({item.id: "excellent" for item in SHEET.items}),
            st.dictionaries(st.sampled_from([i.id for i in SHEET.items]), JSON, max_size=1),
        ),
        st.dictionaries(st.sampled_from(["greeting", "accuracy", "x"]), JSON, max_size=3),
    ),
    "amends": st.one_of(st.integers(), st.booleans(), st.none(), TEXT),
}
BODY = st.fixed_dictionaries(
    {}, optional={name: st.one_of(KNOWN.get(name, JSON), JSON) for name in FIELDS}
)
SEGMENT = st.one_of(
    TEXT.filter(bool),
    st.sampled_from(["..", "%2e%2e", "L1", "1", "-1", "9" * 30, "0x10", "L1/../..", "\x00"]),
)
GETS = ["/api/recording/{}", "/api/recording/{}/audio", "/static/{}"]
QUERIED = ["/api/kpi", "/api/kpi.csv", "/api/scores", "/api/recent", "/api/state", "/"]
QUERY = st.dictionaries(st.sampled_from(["hours", "agent", "linkedid"]) | TEXT, TEXT, max_size=3)

REQUESTS = st.one_of(
    st.tuples(st.just("GET"), st.sampled_from(GETS), SEGMENT, st.just(None)),
    st.tuples(st.just("GET"), st.sampled_from(QUERIED), st.just(""), QUERY),
    st.tuples(st.just("POST"), st.sampled_from(["/api/monitor", "/api/scores"]), st.just(""), BODY),
    st.tuples(st.just("POST"), st.sampled_from(["/api/monitor", "/api/scores"]), st.just(""), JSON),
    st.tuples(
        st.just("POST"),
        st.sampled_from(["/api/monitor", "/api/scores"]),
        st.just(""),
        st.binary(max_size=60),
    ),
    st.tuples(st.just("POST"), st.just("/api/monitor/{}/end"), SEGMENT, st.just(None)),
    st.tuples(  # the log-in form: "TOKEN" stands for the form's own token
        st.just("FORM"),
        st.just("/login"),
        st.just(""),
        st.dictionaries(
            st.sampled_from(["csrf", "username", "password"]) | TEXT,
            st.sampled_from(["TOKEN", "city", "correct horse battery"]) | TEXT,
            max_size=4,
        ),
    ),
)


async def send(
    http: aiohttp.ClientSession, base: str, csrf: str, request: tuple[str, str, str, Any]
) -> tuple[int, str]:
    method, path, segment, payload = request
    url = URL(base + path.format(quote(segment, safe="")), encoded=True)
    headers = {"X-CSRF-Token": csrf}
    if method == "GET":
        query = payload if isinstance(payload, dict) else None
        async with http.get(url, params=query, allow_redirects=False) as reply:
            return reply.status, await reply.text(errors="replace")
    if method == "FORM":  # the log-in form, as a browser posts it
        async with http.get(base + "/login") as page:
            found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        token = found.group(1) if found else ""
        form = urlencode({k: token if v == "TOKEN" else v for k, v in payload.items()})
        kind = {"Content-Type": "application/x-www-form-urlencoded"}
        async with http.post(url, data=form, headers=kind, allow_redirects=False) as reply:
            return reply.status, await reply.text(errors="replace")
    if isinstance(payload, bytes):
        headers["Content-Type"] = "application/json"
        data: Any = payload
    else:
        data = None if payload is None else json.dumps(payload)
        headers["Content-Type"] = "application/json"
    async with http.post(url, data=data, headers=headers, allow_redirects=False) as reply:
        return reply.status, await reply.text(errors="replace")


def test_garbage_to_every_dashboard_endpoint_gets_an_answer_never_a_server_error(
    tmp_path: Path,
) -> None:
    loop = asyncio.new_event_loop()
    sup, _ami = supervision(tmp_path)
    server = TestServer(build_app(sup))
    loop.run_until_complete(server.start_server())
    base = str(server.make_url("")).rstrip("/")

    async def open_session() -> tuple[aiohttp.ClientSession, str]:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        return http, await log_in(http, base, "city")

    http, csrf = loop.run_until_complete(open_session())
    anonymous = loop.run_until_complete(_anonymous())
    answered: dict[int, int] = {}

    @FUZZ
    @given(request=REQUESTS, logged_in=st.booleans())
    @example(  # the one form that must log in, so the rule above is exercised every run
        request=("FORM", "/login", "", {"csrf": "TOKEN", "username": "city", "password": PASSWORD}),
        logged_in=False,
    )
    def one(request: tuple[str, str, str, Any], logged_in: bool) -> None:
        client, token = (http, csrf) if logged_in else (anonymous, "")
        throttled = False
        if request[0] == "FORM":  # its own browser: a form that is right logs that one in
            client = loop.run_until_complete(_anonymous())
            # (unless the fuzzer's wrong passwords from this address set the throttle waiting:
            # then the right form is refused too, which is the throttle's job)
            assert sup.throttle is not None
            name = str(request[3].get("username", ""))
            throttled = sup.throttle.wait_until("127.0.0.1", name) is not None
        try:
            status, text = loop.run_until_complete(send(client, base, token, request))
        finally:
            if request[0] == "FORM":
                loop.run_until_complete(client.close())
        answered[status] = answered.get(status, 0) + 1
        assert status < 500, (request, status, text[:300])
        if not logged_in and request[0] != "FORM" and not request[1].startswith("/static"):
            assert status in (302, 303, 401, 403), (request, status)  # nothing without a session
        if request[0] == "FORM":  # a right form logs in (303); any other gets the form or a no
            form = request[3]
            right = form.get("csrf") == "TOKEN" and form.get("password") == PASSWORD
            right = right and form.get("username") in USERS and not throttled
            assert status in ((303,) if right else (200, 401, 403)), (request, status)

    try:
        one()
        # the server still serves, and the session still works
        status, text = loop.run_until_complete(send(http, base, csrf, ("GET", "/api/me", "", {})))
        assert status == 200 and '"city"' in text
    finally:
        loop.run_until_complete(http.close())
        loop.run_until_complete(anonymous.close())
        loop.run_until_complete(server.close())
        loop.close()
    assert len(answered) > 1  # the inputs reached more than one kind of answer


async def _anonymous() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
