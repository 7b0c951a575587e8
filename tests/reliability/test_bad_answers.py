"""Bad answers, property-based: whatever a vendor or a proxy sends, only typed errors escape.

A loopback server answers every call of both clients with generated garbage: random and
truncated bodies, JSON of the right shape with the wrong types, missing fields, huge and
non-finite numbers, deep nesting, HTML pages from a proxy, wrong content types, odd
statuses, unparsable Retry-After and Location headers, connections cut mid-body. The only
exceptions allowed out are ResponseDecodeError, APIError, TransportError (where the
connection broke or a redirect was refused), and for starts StartOutcomeUnknownError; never
KeyError, AttributeError, TypeError, ValueError, OverflowError or RecursionError.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcloud import (
    APIError,
    PipecatCloud,
    ResponseDecodeError,
    RetryPolicy,
    SessionFailedError,
    StartOutcomeUnknownError,
    TransportError,
    VideoSDK,
)

from .support import FakeTime, ScriptedServer

TYPED = (
    APIError,
    ResponseDecodeError,
    TransportError,
    StartOutcomeUnknownError,
    SessionFailedError,
)

KEYS = [
    "data",
    "pageInfo",
    "totalItems",
    "sessions",
    "total_count",
    "services",
    "sessionId",
    "session_id",
    "id",
    "name",
    "tag",
    "status",
    "createdAt",
    "created_at",
    "updatedAt",
    "start",
    "end",
    "endedAt",
    "duration",
    "metadata",
    "metaData",
    "webhook",
    "endpoint",
    "events",
    "endState",
    "completionStatus",
    "resourceMetrics",
    "timeseries",
    "t",
    "c",
    "m",
    "meetingIds",
    "meetingId",
    "dailyRoom",
    "dailyToken",
    "iceConfig",
    "iceServers",
    "publicKey",
    "message",
    "error",
    "code",
    "err",
    "issues",
    "ready",
    "activeSessionCount",
    "coldStart",
    "botStartSeconds",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -1, 0, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2025-06-18T12:00:00.000Z",
            "2025-13-45T99:99:99Z",
            "not a date",
            "running",
            "completed",
            "failed",
            "terminated",
            "HTTP_ERROR",
            "503",
            "-----BEGIN PUBLIC KEY-----",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    ),
    max_leaves=25,
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


VALID = [
    {
        "data": [
            {
                "sessionId": "s1",
                "status": "running",
                "createdAt": "2025-06-18T12:00:00.000Z",
                "metadata": {},
            }
        ],
        "pageInfo": {"totalItems": 1},
    },
    {
        "total_count": 1,
        "sessions": [{"sessionId": "s1", "createdAt": "2025-06-18T12:00:00.000Z"}],
    },
    {"message": "ok", "data": {"sessionId": "s1", "status": "completed"}},
    {"sessionId": "s1", "dailyRoom": "https://x.daily.co/r", "dailyToken": "t"},
    {"services": [{"name": "my-agent"}]},
    {"publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
]

bodies = st.one_of(
    json_values.map(_dumps),
    st.binary(max_size=200),
    st.tuples(st.sampled_from(VALID), st.floats(0, 1)).map(
        lambda pair: _dumps(pair[0])[: int(len(_dumps(pair[0])) * pair[1])]
    ),
    st.sampled_from(
        [
            b"",
            b"   ",
            b"null",
            b"[]",
            b"{}",
            b"[" * 100_000,
            b'{"a":' * 50_000,
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            b"\xff\xfe\x00{",
            b'{"data": [], "pageInfo": {"totalItems": ' + b"9" * 400 + b"}}",
            b'{"total_count": ' + b"9" * 5000 + b', "sessions": []}',
            b'{"data": NaN, "pageInfo": Infinity}',
        ]
    ),
)


@attrs.frozen
class Answer:
    status: int
    body: bytes
    content_type: str | None
    headers: dict[str, str]
    cut: bool  # close the connection half-way through the body


answers = st.builds(
    Answer,
    status=st.sampled_from(
        [
            200,
            200,
            200,
            201,
            202,
            204,
            301,
            302,
            307,
            400,
            401,
            402,
            403,
            404,
            408,
            409,
            413,
            418,
            422,
            429,
            500,
            502,
            503,
            504,
            599,
        ]
    ),
    body=bodies,
    content_type=st.sampled_from(
        ["application/json", "text/html", "text/plain", "application/octet-stream", None]
    ),
    headers=st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after-ms", "Location", "x-request-id"]),
        st.one_of(
            st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
            st.sampled_from(
                [
                    "http://[bad",
                    "//127.0.0.1:1/x",
                    "/ai/v1/x",
                    "1e400",
                    "-5",
                    "nan",
                    "Wed, 21 Oct 2015 07:28:00 GMT",
                    "Mon, 01 Jan 99999 00:00:00 GMT",
                ]
            ),
        ),
        max_size=3,
    ),
    cut=st.sampled_from([False] * 9 + [True]),
)


class Replayer:
    """Answers every request with the current ``answer``."""

    def __init__(self) -> None:
        self.answer = Answer(200, b"{}", "application/json", {}, False)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        answer = self.answer
        body = b"" if answer.status in (204, 304) else answer.body
        headers = dict(answer.headers)
        if answer.content_type is not None:
            headers["Content-Type"] = answer.content_type
        if answer.cut and len(body) > 1:
            response = web.StreamResponse(status=answer.status, headers=headers)
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.abort()
            return response
        return web.Response(status=answer.status, body=body, headers=headers)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Replayer, VideoSDK, PipecatCloud]]:
    replayer = Replayer()
    timer = FakeTime()
    policy = RetryPolicy(max_attempts=2, sleep=timer.sleep, clock=timer.clock, max_retry_after=5.0)
    async with ScriptedServer(replayer) as server:
        vs = VideoSDK(
            api_key="k" * 32, secret="s" * 32, base_url=server.url, retry=policy, timeout=2.0
        )
        pc = PipecatCloud(
            api_key="sk_" + "k" * 29,
            public_key="pk_" + "p" * 29,
            agent="my-agent",
            base_url=server.url,
            retry=policy,
            timeout=2.0,
        )
        async with vs, pc:
            yield replayer, vs, pc


def calls(vs: VideoSDK, pc: PipecatCloud) -> dict[str, Callable[[], Awaitable[Any]]]:
    sid = "00000000-0000-4000-8000-000000000000"
    return {
        "vs.get": lambda: vs.sessions.get(sid),
        "vs.end": lambda: vs.sessions.end(sid),
        "vs.start": lambda: vs.sessions.start(deployment_id="d", tag="v1.0"),
        "vs.list": lambda: vs.sessions.list(per_page=10, max_items=50).collect(),
        "vs.list concurrent": lambda: vs.sessions.list(
            per_page=10, max_items=50, concurrency=3
        ).collect(),
        "vs.wait": lambda: vs.sessions.wait(sid, until="ended", timeout=5),
        "vs.deployments.get": lambda: vs.deployments.get("d", "v1.0"),
        "vs.deployments.list": lambda: vs.deployments.list(max_items=30).collect(),
        "vs.deployments.create": lambda: vs.deployments.create(name="n"),
        "vs.webhook_public_key": lambda: vs.webhook_public_key(),
        "pc.get": lambda: pc.sessions.get(sid),
        "pc.end": lambda: pc.sessions.end(sid),
        "pc.start": lambda: pc.sessions.start(create_daily_room=True),
        "pc.list": lambda: pc.sessions.list(per_page=10, max_items=50).collect(),
        "pc.list concurrent": lambda: pc.sessions.list(
            per_page=10, max_items=50, concurrency=3
        ).collect(),
        "pc.wait": lambda: pc.sessions.wait(sid, until="ended", timeout=5),
        "pc.agents.get": lambda: pc.agents.get("my-agent"),
        "pc.agents.list": lambda: pc.agents.list().collect(),
    }


METHODS = sorted(calls(None, None))  # type: ignore[arg-type]  # only the names are read


async def outcome(make: Callable[[], Awaitable[Any]]) -> BaseException | None:
    try:
        await make()
    except Exception as error:  # classified by the caller
        return error
    return None


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answer=answers, method=st.sampled_from(METHODS))
async def test_only_typed_errors_escape(
    served: tuple[Replayer, VideoSDK, PipecatCloud], answer: Answer, method: str
) -> None:
    replayer, vs, pc = served
    replayer.answer = answer
    error = await outcome(calls(vs, pc)[method])
    assert error is None or isinstance(error, TYPED), f"{method}: {error!r}"


@pytest.mark.parametrize("method", METHODS)
async def test_each_method_survives_the_classics(
    served: tuple[Replayer, VideoSDK, PipecatCloud], method: str
) -> None:
    """Every method against each fixed nasty body, with 200 and with 500."""
    replayer, vs, pc = served
    classics = [
        b"[" * 100_000,
        b'{"data": [], "pageInfo": {"totalItems": ' + b"9" * 400 + b"}}",
        b'{"total_count": ' + b"9" * 400 + b', "sessions": []}',
        b"<html>502</html>",
        b'{"data": {"sessionId": 5}}',
        b'{"sessionId": "s", "createdAt": 1e300, "endedAt": -1e300}',
        b'{"sessionId": "s", "createdAt": "2025-06-18T12:00:00Z", "endedAt": "garbage"}',
        b'{"data": [{"sessionId": "s", "webhook": {"endpoint": 1, "events": 7}}],'
        b' "pageInfo": {"totalItems": 1}}',
        b'{"services": [{"name": ["x"]}]}',
        b'{"message": {"nested": true}, "code": [1]}',
    ]
    for status in (200, 500):
        for body in classics:
            replayer.answer = Answer(status, body, "application/json", {}, False)
            error = await outcome(calls(vs, pc)[method])
            assert error is None or isinstance(error, TYPED), f"{method} {body[:40]!r}: {error!r}"


@pytest.mark.parametrize(
    "location",
    ["http://[bad", "http://127.0.0.1:99999/x", "//[::1/x", "http://\u2603.example/", " ", "\t/x"],
)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_unreadable_redirects_are_transport_errors(
    served: tuple[Replayer, VideoSDK, PipecatCloud], location: str, status: int
) -> None:
    replayer, vs, pc = served
    replayer.answer = Answer(status, b"", None, {"Location": location}, False)
    for method in ("vs.get", "pc.get", "vs.list", "pc.start"):
        error = await outcome(calls(vs, pc)[method])
        assert isinstance(error, TYPED), f"{method} {location!r}: {error!r}"


class ShortListing:
    """A listing of ``total`` items that answers an empty page from ``empty_from`` on,
    while still claiming ``claimed`` items in all: a vendor glitch, or a listing that
    really shrank (when the claim agrees)."""

    def __init__(self, total: int, empty_from: int, claimed: int) -> None:
        self.total, self.empty_from, self.claimed = total, empty_from, claimed

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if "perPage" in query:
            size = int(query["perPage"])
            start = (int(query["page"]) - 1) * size
        else:
            size = int(query["limit"])
            start = int(query["offset"])
        end = min(start + size, self.total) if start < self.empty_from else start
        items = [{"sessionId": f"s{i}"} for i in range(start, end)]
        if "perPage" in query:
            return web.json_response({"data": items, "pageInfo": {"totalItems": self.claimed}})
        return web.json_response({"sessions": items, "total_count": self.claimed})


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_an_empty_page_before_the_end_is_an_error_not_a_short_listing(
    concurrency: int,
) -> None:
    for listing, expect_error in (
        (ShortListing(total=250, empty_from=100, claimed=250), True),  # glitch: 150 missing
        (ShortListing(total=250, empty_from=100, claimed=100), False),  # it really shrank
    ):
        async with ScriptedServer(listing) as server:
            vs = VideoSDK(api_key="k" * 32, secret="s" * 32, base_url=server.url)
            pc = PipecatCloud(api_key="sk_" + "k" * 29, agent="a", base_url=server.url)
            async with vs, pc:
                for client in (vs, pc):
                    got: list[str] = []
                    with contextlib.suppress(ResponseDecodeError) as _:
                        async for session in client.sessions.list(
                            per_page=50, concurrency=concurrency
                        ):
                            got.append(session.id)
                        got.append("<end>")
                    assert got[:100] == [f"s{i}" for i in range(100)]
                    if expect_error:
                        assert got[-1] != "<end>", f"{client!r}: a silent short listing"
                    else:
                        assert got[-1] == "<end>"
