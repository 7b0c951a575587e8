"""Every answer is read under a bound, whatever a hostile vendor or proxy sends.

A loopback server writes raw HTTP: endless chunked bodies, bodies delimited by the
connection's close (HTTP/1.0), a Content-Length of a terabyte, compression bombs (gzip,
deflate, raw deflate, brotli), encodings nobody asked for and stacked ones, 40 MB error
pages. For each the call raises a typed error, the client's memory peak (tracemalloc) stays
within a few times ``max_response_bytes``, a body too large is not fetched again, and the
event loop is never blocked for long (measured by a ticking task, not waited for).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import brotli
import pytest

from agentcloud import APIError, ResponseDecodeError, ServerError, TransportError, VideoSDK

from .attackers import LoopWatch, RawServer, http_head
from .support import FakeTime

SID = "00000000-0000-4000-8000-000000000000"
#: The limit most tests set: small, so floods end fast.
LIMIT = 1 << 20
#: What a hostile server offers at most before it gives up (the SDK must stop long before).
FLOOD = 48 << 20
#: The SDK's documented default.
DEFAULT_LIMIT = 8 << 20

Answer = Callable[[RawServer, asyncio.StreamWriter, bytes], Awaitable[None]]


def client(url: str, **options: Any) -> VideoSDK:
    return VideoSDK(
        "vsk_limits_api_key_0123456789",
        "vsk_limits_secret_0123456789abcdef",
        base_url=url,
        retry=FakeTime().policy(max_attempts=3),
        timeout=30,
        **options,
    )


@contextlib.contextmanager
def memory_peak() -> Iterator[list[int]]:
    """The peak of Python allocations in the block, appended to the list it yields."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    peak: list[int] = []
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


async def attack(answer: Answer, **options: Any) -> tuple[BaseException, RawServer, int, float]:
    """Runs ``sessions.get`` against ``answer``; the error, the server, memory peak, and
    the longest the loop was blocked."""
    async with RawServer(answer) as server:
        vs = client(server.url, **options)
        async with vs:
            with memory_peak() as peak:
                async with LoopWatch() as watch:
                    with pytest.raises(Exception) as caught:  # noqa: PT011 (checked below)
                        await vs.sessions.get(SID)
    return caught.value, server, peak[0], watch.longest


JSON_HEAD = {"Content-Type": "application/json", "Connection": "close"}


def endless(head: bytes, *, chunked: bool = False) -> Answer:
    async def answer(server: RawServer, writer: asyncio.StreamWriter, _: bytes) -> None:
        await server.write(writer, head)
        await server.stream(writer, b" " * 65536, FLOOD, chunked=chunked)

    return answer


ENDLESS = {
    "chunked": endless(http_head(200, {**JSON_HEAD, "Transfer-Encoding": "chunked"}), chunked=True),
    "HTTP/1.0 until close": endless(http_head(200, JSON_HEAD, version="1.0")),
    "a terabyte Content-Length": endless(
        http_head(200, {**JSON_HEAD, "Content-Length": str(10**12)})
    ),
    "chunked under a small Content-Length": endless(
        http_head(200, {**JSON_HEAD, "Content-Length": "10", "Transfer-Encoding": "chunked"}),
        chunked=True,
    ),
    "Transfer-Encoding gzip, chunked": endless(
        http_head(200, {**JSON_HEAD, "Transfer-Encoding": "gzip, chunked"}), chunked=True
    ),
    "error page, chunked": endless(
        http_head(500, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}),
        chunked=True,
    ),
}


@pytest.mark.parametrize("shape", list(ENDLESS))
async def test_endless_bodies_are_cut_at_the_limit(shape: str) -> None:
    error, server, peak, _ = await attack(ENDLESS[shape], max_response_bytes=LIMIT)
    assert isinstance(error, (ResponseDecodeError, APIError, TransportError)), repr(error)
    assert peak < 4 * LIMIT, f"{shape}: {peak / 2**20:.1f} MiB held for a {LIMIT >> 20} MiB limit"
    if isinstance(error, ResponseDecodeError):
        assert "max_response_bytes" in str(error)
        assert server.requests == 1, "a body past the limit was fetched again"
        assert error.attempts == 1


@functools.cache
def bomb(encoding: str, inflated: int = 64 << 20) -> bytes:
    """``inflated`` bytes of JSON-looking padding, compressed as ``encoding``."""
    block = b" " * (1 << 20)
    if encoding == "br":
        return bytes(brotli.compress(block * (inflated >> 20), quality=1))
    wbits = {"gzip": 31, "deflate": 15, "raw deflate": -15}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(block) for _ in range(inflated >> 20)) + packer.flush()


def compressed(status: int, encoding: str, wire_name: str | None = None) -> Answer:
    body = bomb(encoding)
    head = http_head(
        status,
        {
            **JSON_HEAD,
            "Content-Encoding": wire_name or encoding.replace("raw ", ""),
            "Content-Length": str(len(body)),
        },
    )

    async def answer(server: RawServer, writer: asyncio.StreamWriter, _: bytes) -> None:
        await server.write(writer, head + body)

    return answer


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw deflate"])
@pytest.mark.parametrize("status", [200, 500])
async def test_compression_bombs_never_inflate_past_the_limit(encoding: str, status: int) -> None:
    # The default limit: what every user gets.
    error, server, peak, blocked = await attack(compressed(status, encoding))
    assert peak < 3 * DEFAULT_LIMIT, f"{peak / 2**20:.1f} MiB held for a 64 MiB bomb"
    assert blocked < 0.5, f"the loop was blocked {blocked:.2f}s"
    if status == 200:
        assert isinstance(error, ResponseDecodeError), repr(error)
        assert "max_response_bytes" in str(error)
        assert server.requests == 1, "a bomb was inflated again on a retry"
    else:
        assert isinstance(error, ServerError), repr(error)
        assert len(error.message) <= 400


@pytest.mark.parametrize(
    ("encoding", "wire_name"),
    [("br", "br"), ("gzip", "gzip, gzip"), ("gzip", "gzip, br"), ("gzip", "x-custom")],
)
async def test_encodings_not_asked_for_are_refused_unopened(encoding: str, wire_name: str) -> None:
    error, server, peak, blocked = await attack(compressed(200, encoding, wire_name))
    assert isinstance(error, ResponseDecodeError), repr(error)
    assert peak < 3 * DEFAULT_LIMIT, f"{peak / 2**20:.1f} MiB held for a 64 MiB bomb"
    assert blocked < 0.5, f"the loop was blocked {blocked:.2f}s"
    assert server.requests == 1
    offered = next(
        line.split(b":", 1)[1]
        for line in server.heads[0].split(b"\r\n")
        if line.lower().startswith(b"accept-encoding:")
    )
    codings = {token.split(b";")[0].strip().lower() for token in offered.split(b",")}
    assert codings <= {b"gzip", b"deflate"}, f"advertised {offered!r}"


def huge_error_page(size: int) -> Answer:
    head = http_head(502, {"Content-Type": "text/html", "Content-Length": str(size)})

    async def answer(server: RawServer, writer: asyncio.StreamWriter, _: bytes) -> None:
        await server.write(writer, head)
        await server.stream(writer, b"<p>" + b"proxy error " * 5000 + b"</p>\n", size)

    return answer


async def test_a_huge_error_page_costs_only_its_start() -> None:
    error, server, peak, blocked = await attack(huge_error_page(40 << 20))
    assert isinstance(error, ServerError), repr(error)
    assert server.requests == 3  # retried as a 5xx, each attempt reading only 64 KiB
    assert len(str(error)) < 500
    assert peak < 4 << 20, f"{peak / 2**20:.1f} MiB held for an error page"
    assert blocked < 0.5, f"the loop was blocked {blocked:.2f}s"


async def test_json_error_texts_are_cut_short() -> None:
    body = b'{"message": "' + b"m" * 40000 + b'", "code": "' + b"c" * 20000 + b'"}'
    head = http_head(
        400,
        {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "x-request-id": "r" * 8000,
        },
    )

    async def answer(server: RawServer, writer: asyncio.StreamWriter, _: bytes) -> None:
        await server.write(writer, head + body)

    error, _, _, _ = await attack(answer)
    assert isinstance(error, APIError), repr(error)
    assert len(error.message) <= 320
    assert error.code is not None
    assert len(error.code) <= 140
    assert error.request_id is not None
    assert len(error.request_id) <= 140
    assert len(str(error)) < 700


MEMORY_CAPPED = """
import asyncio, resource, sys
sys.path.insert(0, {root!r})
from tests.reliability.attackers import RawServer, http_head
from tests.reliability.test_response_limits import client, endless, JSON_HEAD

async def main():
    answer = endless(http_head(200, {{**JSON_HEAD, "Transfer-Encoding": "chunked"}}),
                     chunked=True)
    import tests.reliability.test_response_limits as limits
    limits.FLOOD = 4 << 30
    async with RawServer(answer) as server, client(server.url) as vs:
        try:
            await vs.sessions.get({sid!r})
        except Exception as error:
            print(type(error).__name__, type(error).__mro__[1].__name__)

resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
asyncio.run(main())
"""


def test_an_endless_body_under_a_memory_cap_is_a_typed_error() -> None:
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    script = textwrap.dedent(MEMORY_CAPPED.format(root=root, sid=SID))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "MemoryError" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert done.stdout.split()[:1] == ["ResponseDecodeError"], done.stdout + done.stderr[-2000:]
