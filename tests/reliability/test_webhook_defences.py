"""Webhook receivers fail closed: verified by default, no replays, cheap refusals first.

- Without key material a receiver and ``parse()`` refuse to start (InvalidRequestError
  naming the key argument) unless ``verify=False``, which logs one WARNING.
- A delivery accepted once is refused (answered 200, counted, not queued) within the
  replay window, in bounded memory; after the window it is new again.
- While the key is unknown, unsigned junk is refused at once without touching the key
  source; signed deliveries share one fetch; a failed fetch is remembered, not repeated
  per request; a failed check fetches a rotated key at most once per interval, and a
  refresh that fails keeps the key that worked.
- Compressed request bodies are refused unopened (415) and the connection closed.
- Hostile arguments (NaN, huge numbers, wrong types) raise InvalidRequestError naming them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentcloud import InvalidRequestError, WebhookReceiver
from agentcloud.providers.videosdk import SIGNATURE_HEADER
from agentcloud.webhooks import parse
from tests.helpers import rsa_keypair, rsa_sign

KEY, PUBLIC = rsa_keypair()
ROTATED, ROTATED_PUBLIC = rsa_keypair()


def delivery(session_id: str, event: str = "ai-deployment-session-started") -> bytes:
    return json.dumps({"webhookType": event, "data": {"sessionId": session_id}}).encode()


def signed(body: bytes, key: rsa.RSAPrivateKey = KEY) -> dict[str, str]:
    return {SIGNATURE_HEADER: rsa_sign(body, key)}


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


# --- verification is the default -----------------------------------------------------


def test_a_receiver_without_a_key_refuses_to_start() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        WebhookReceiver(provider="videosdk")
    assert caught.value.argument in ("public_key", "key_source")
    with pytest.raises(InvalidRequestError) as caught:
        parse("videosdk", delivery("s1"), {})
    assert caught.value.argument in ("public_key", "key_source")


def test_verify_false_is_the_one_way_to_skip_and_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from agentcloud import webhooks

    webhooks._unverified_warned.clear()  # once per process: start from a clean slate
    with caplog.at_level(logging.WARNING, logger="agentcloud"):
        WebhookReceiver(provider="videosdk", verify=False)
        event = parse("videosdk", delivery("s1"), {}, verify=False)
        WebhookReceiver(provider="videosdk", verify=False)
    assert event.session_id == "s1"
    warnings = [r for r in caplog.records if "WITHOUT verification" in r.getMessage()]
    assert len(warnings) == 1


async def test_an_unsigned_forgery_is_refused_by_a_verifying_receiver() -> None:
    async with WebhookReceiver.serve("127.0.0.1", 0, public_key=PUBLIC) as hooks:
        assert hooks.url is not None
        assert await post(hooks.url, delivery("forged")) == 401
        assert hooks.stats.accepted == 0


# --- replays -----------------------------------------------------------------------------


async def test_a_replayed_delivery_is_refused_within_the_window() -> None:
    now = [0.0]
    async with WebhookReceiver.serve(
        "127.0.0.1", 0, public_key=PUBLIC, replay_window=600.0, clock=lambda: now[0]
    ) as hooks:
        assert hooks.url is not None
        body = delivery("s1")
        assert await post(hooks.url, body, signed(body)) == 200
        # The vendor retries, or an attacker replays what it captured: answered, not queued.
        assert await post(hooks.url, body, signed(body)) == 200
        assert hooks.stats.accepted == 1
        assert hooks.stats.duplicates == 1
        now[0] += 601.0
        assert await post(hooks.url, body, signed(body)) == 200
        assert hooks.stats.accepted == 2


async def test_replay_memory_is_bounded() -> None:
    receiver = WebhookReceiver(provider="videosdk", public_key=PUBLIC, max_replay_entries=50)
    app = receiver.app()
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"
    try:
        async with aiohttp.ClientSession() as http:
            for number in range(300):
                body = delivery(f"s{number}")
                async with http.post(url, data=body, headers=signed(body)) as response:
                    assert response.status == 200
    finally:
        await runner.cleanup()
    assert receiver.stats.accepted == 300
    assert len(receiver._replays) <= 50


# --- the key: cheap checks first, one fetch, remembered failures, rotation --------------


class KeySource:
    """A key endpoint that counts its calls and answers only when told to."""

    def __init__(self, pem: str) -> None:
        self.pem = pem
        self.calls = 0
        self.fail = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> str:
        self.calls += 1
        await asyncio.wait_for(self.gate.wait(), 10)
        if self.fail:
            raise ConnectionError("key server down")
        return self.pem


async def flood(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    async with aiohttp.ClientSession() as http:

        async def one(body: bytes, headers: dict[str, str]) -> int:
            async with http.post(url, data=body, headers=headers) as response:
                return response.status

        return list(await asyncio.gather(*(one(b, h) for b, h in bodies)))


async def test_junk_is_refused_without_waiting_for_the_key() -> None:
    source = KeySource(PUBLIC)
    source.gate.clear()  # the key server hangs
    async with WebhookReceiver.serve("127.0.0.1", 0, key_source=source) as hooks:
        assert hooks.url is not None
        junk = [(delivery(f"j{n}"), {}) for n in range(40)]
        statuses = await asyncio.wait_for(flood(hooks.url, junk), 5)
        assert statuses == [401] * 40
        assert source.calls == 0, "an unsigned request made the receiver fetch a key"
        # Signed ones (valid or not) wait for one fetch, together.
        bodies = [(delivery(f"s{n}"), signed(delivery(f"s{n}"))) for n in range(20)]
        bodies += [(delivery(f"x{n}"), {SIGNATURE_HEADER: "AAAA"}) for n in range(20)]
        waiting = asyncio.ensure_future(flood(hooks.url, bodies))
        for _ in range(500):  # until every delivery is waiting on the key (bounded)
            if source.calls:
                break
            await asyncio.sleep(0.01)
        source.gate.set()
        statuses = await asyncio.wait_for(waiting, 10)
        assert statuses == [200] * 20 + [401] * 20
        # One fetch for all; a bad signature may refetch once (rotation), never per request.
        assert source.calls <= 2


async def test_a_failed_key_fetch_is_remembered_not_repeated() -> None:
    source = KeySource(PUBLIC)
    source.fail = True
    now = [0.0]
    async with WebhookReceiver.serve(
        "127.0.0.1", 0, key_source=source, key_retry_after=5.0, clock=lambda: now[0]
    ) as hooks:
        assert hooks.url is not None
        bodies = [(delivery(f"s{n}"), signed(delivery(f"s{n}"))) for n in range(40)]
        statuses = await asyncio.wait_for(flood(hooks.url, bodies), 10)
        assert statuses == [503] * 40
        assert source.calls <= 2, f"{source.calls} key fetches for 40 deliveries"
        source.fail = False
        now[0] += 6.0
        assert await post(hooks.url, *bodies[0]) == 200


@contextlib.asynccontextmanager
async def keyed(source: KeySource, now: list[float]) -> AsyncIterator[str]:
    """A receiver fetching its key from ``source`` on the clock ``now``, which has accepted
    one delivery (so the key is in hand); yields its URL."""
    async with WebhookReceiver.serve(
        "127.0.0.1", 0, key_source=source, key_refresh_interval=60.0, clock=lambda: now[0]
    ) as hooks:
        assert hooks.url is not None
        first = delivery("first")
        assert await post(hooks.url, first, signed(first)) == 200
        assert source.calls == 1
        yield hooks.url


async def test_a_rotated_key_is_fetched_again_but_not_on_every_failure() -> None:
    source = KeySource(PUBLIC)
    now = [0.0]
    async with keyed(source, now) as url:
        # The vendor rotates its key: the next delivery fails with the old one, so the
        # receiver fetches again and accepts it.
        source.pem = ROTATED_PUBLIC
        now[0] += 61.0
        rotated = delivery("after")
        assert await post(url, rotated, signed(rotated, ROTATED)) == 200
        assert source.calls == 2
        # Forgeries do not make it fetch on every request.
        for number in range(30):
            forged = delivery(f"forged{number}")
            assert await post(url, forged, signed(forged, KEY)) == 401
        assert source.calls == 2


async def test_a_failed_refresh_keeps_the_key_that_worked() -> None:
    source = KeySource(PUBLIC)
    now = [0.0]
    async with keyed(source, now) as url:
        # An attacker's bad signature makes the receiver refresh while the key server is
        # down: valid deliveries must still be verified with the key it had.
        source.fail = True
        now[0] += 61.0
        forged = delivery("forged")
        assert await post(url, forged, signed(forged, ROTATED)) == 401
        second = delivery("second")
        assert await post(url, second, signed(second)) == 200


# --- compressed bodies ---------------------------------------------------------------


async def test_a_compressed_bomb_is_refused_unopened() -> None:
    bomb = gzip.compress(b" " * (64 << 20), compresslevel=9)
    async with WebhookReceiver.serve("127.0.0.1", 0, public_key=PUBLIC) as hooks:
        assert hooks.url is not None
        headers = {"Content-Encoding": "gzip", **signed(bomb)}
        tracemalloc.start()
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(hooks.url, data=bomb, headers=headers) as response,
            ):
                status = response.status
                closing = response.headers.get("Connection", "").lower() == "close"
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert status in (413, 415)
    assert closing, "the connection stays open for the rest of the bomb"
    assert peak < 16 << 20, f"{peak / 2**20:.1f} MiB held for a 64 KiB request"


# --- hostile arguments ---------------------------------------------------------------

Attempt = Callable[[], Awaitable[Any]]


def receiver() -> WebhookReceiver:
    return WebhookReceiver(provider="videosdk", public_key=PUBLIC)


HOSTILE: dict[str, tuple[str, Attempt]] = {
    "next(timeout=nan)": ("timeout", lambda: receiver().next(timeout=float("nan"))),
    "next(timeout=-1)": ("timeout", lambda: receiver().next(timeout=-1)),
    "next(timeout='5')": ("timeout", lambda: receiver().next(timeout="5")),  # type: ignore[arg-type]
}


def constructor(argument: str, value: Any) -> tuple[str, Attempt]:
    async def build() -> Any:
        return WebhookReceiver(provider="videosdk", public_key=PUBLIC, **{argument: value})

    return argument, build


for _argument, _value in (
    ("max_body", float("nan")),
    ("max_body", "64k"),
    ("max_body", 0),
    ("max_body", True),
    ("max_queue", 0),
    ("replay_window", float("nan")),
    ("replay_window", -5),
    ("max_replay_entries", 0),
    ("key_retry_after", float("nan")),
    ("body_timeout", float("inf")),
):
    HOSTILE[f"WebhookReceiver({_argument}={_value!r})"] = constructor(_argument, _value)


def serving(argument: str, **options: Any) -> tuple[str, Attempt]:
    async def serve() -> Any:
        async with WebhookReceiver.serve(provider="videosdk", public_key=PUBLIC, **options):
            pytest.fail("served with a bad argument")

    return argument, serve


for _name, _options in (
    ("port", {"port": 1.5}),
    ("port", {"port": -1}),
    ("port", {"port": 65536}),
    ("port", {"port": True}),
    ("port", {"port": "8080"}),
    ("host", {"host": ""}),
    ("path", {"path": "webhooks"}),
    ("public_url", {"public_url": "ftp://x"}),
):
    HOSTILE[f"serve({_options})"] = serving(_name, **_options)


def parsing(argument: str, *args: Any) -> tuple[str, Attempt]:
    async def run() -> Any:
        return parse("videosdk", *args, public_key=PUBLIC)

    return argument, run


HOSTILE["parse(headers=None)"] = parsing("headers", delivery("s"), None)
HOSTILE["parse(headers=[...])"] = parsing("headers", delivery("s"), [("a", "b")])
HOSTILE["parse(body=str)"] = parsing("body", "text", {})


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_arguments_raise_typed_errors_naming_them(case: str) -> None:
    argument, attempt = HOSTILE[case]
    with pytest.raises(InvalidRequestError) as caught:
        await asyncio.wait_for(attempt(), 2.0)
    assert caught.value.argument == argument


async def test_a_timeout_beyond_any_float_means_no_bound() -> None:
    """``timeout=10**400`` is longer than any wait, like ``math.inf``: it waits for the
    event rather than raising OverflowError."""
    hooks = receiver()
    waiting = asyncio.ensure_future(hooks.next(timeout=10**400))
    await asyncio.sleep(0)
    await hooks.put(parse("videosdk", delivery("s9"), {}, verify=False))
    event = await asyncio.wait_for(waiting, 2.0)
    assert event.session_id == "s9"
    with contextlib.suppress(asyncio.CancelledError):
        waiting.cancel()
