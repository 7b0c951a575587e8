"""Shared pieces of the reliability suites: time, policies, fault sets.

Nothing here sleeps to make an assertion true. Retries wait on :class:`HybridTime`, whose
``sleep`` returns at once but is still counted by its ``clock``; real time (the emulator's
stalls, per-attempt timeouts) is counted too, so a deadline measured on that clock bounds
what the caller would really have waited.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from agentcloud import PipecatCloud, RetryPolicy, VideoSDK
from agentcloud.testing import Emulator, FaultKind
from tests.helpers import FakeTime, ThreadedEmulator

# Re-exported: the reliability suites import every helper from here.
__all__ = ["FakeTime", "ThreadedEmulator"]

T = TypeVar("T")

#: Every fault kind the emulator can inject.
ALL_FAULTS: tuple[FaultKind, ...] = tuple(FaultKind)

#: Faults whose effect the client cannot see from its side: it sent the request and got no
#: usable answer. (429s and 408s are unambiguous: the vendor said it did nothing.)
AMBIGUOUS_FAULTS: tuple[FaultKind, ...] = tuple(
    kind
    for kind in FaultKind
    if kind
    not in (
        FaultKind.RATE_LIMITED,
        FaultKind.RATE_LIMITED_NO_RETRY_AFTER,
        FaultKind.REQUEST_TIMEOUT,
    )
)

#: Faults after which the emulator has carried the request out (a STALL does it late).
PROCESSED_FAULTS = frozenset(
    {
        FaultKind.SERVER_ERROR_AFTER_PROCESSING,
        FaultKind.RESET_AFTER_PROCESSING,
        FaultKind.STALL,
        FaultKind.TRUNCATED_BODY,
        FaultKind.MALFORMED_BODY,
    }
)

#: Faults that leave a 2xx body the SDK cannot read.
DECODE_FAULTS = frozenset({FaultKind.TRUNCATED_BODY, FaultKind.MALFORMED_BODY})

#: Per-attempt timeout of fast clients, and the stall just above it.
ATTEMPT_TIMEOUT = 0.2
STALL_SECONDS = 0.25


def HybridTime() -> FakeTime:
    """A monotonic clock whose sleeps return at once but still count as elapsed time, and
    whose real time counts too: the library's FakeTime with real=True."""
    return FakeTime(real=True, start=0.0)


def fast_policy(timer: FakeTime, *, seed: int = 0, **overrides: Any) -> RetryPolicy:
    """A RetryPolicy that never really waits, with seeded jitter and an ample budget."""
    options: dict[str, Any] = {
        "max_attempts": 8,
        "backoff_base": 0.01,
        "backoff_cap": 0.1,
        "deadline": 30.0,
        "budget": 1e9,
        "sleep": timer.sleep,
        "clock": timer.clock,
        "random": random.Random(seed).random,
    }
    options.update(overrides)
    return RetryPolicy(**options)


def fast_clients(
    emu: Emulator, policy: RetryPolicy, **kwargs: Any
) -> tuple[VideoSDK, PipecatCloud]:
    kwargs.setdefault("timeout", ATTEMPT_TIMEOUT)
    return emu.videosdk(retry=policy, **kwargs), emu.pipecat(retry=policy, **kwargs)


def acquired(client: VideoSDK | PipecatCloud) -> int:
    """Connections the client's pool has handed out and not had back."""
    http = client._transport._own_http
    if http is None:
        return 0
    connector = http.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired)


async def settle_loop(rounds: int = 5) -> None:
    """Lets finalizers and callbacks scheduled by garbage collection run."""
    for _ in range(rounds):
        gc.collect()
        await asyncio.sleep(0)


async def released(*clients: VideoSDK | PipecatCloud, limit: float = 2.0) -> bool:
    """True once no client has a connection checked out.

    A listing abandoned mid-walk (``break``) cancels its prefetches when the abandoned
    iterator is finalized, which asyncio does a few loop turns after it is dropped; this
    gives those turns (bounded), then reports.
    """
    give_up = time.monotonic() + limit
    while any(acquired(client) for client in clients):
        if time.monotonic() > give_up:
            return False
        gc.collect()
        await asyncio.sleep(0.001)
    return True


async def poll_until(
    condition: Callable[[], Coroutine[Any, Any, bool]], *, limit: float = 10.0
) -> None:
    """Waits (in short real steps) until ``condition`` holds; fails after ``limit`` seconds.

    Used only to wait for the emulator to finish work it does late (a stalled request),
    never to make an assertion about timing.
    """
    give_up = time.monotonic() + limit
    while not await condition():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class ScriptedServer:
    """A loopback aiohttp server answering every request with ``respond(request)``.

    Records each request's method, raw path and headers. For answers no vendor should
    give: arbitrary bodies, statuses, content types and headers.
    """

    def __init__(
        self, respond: Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]
    ) -> None:
        self.respond = respond
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.raw_path, dict(request.headers)))
        await request.read()
        return await self.respond(request)

    async def __aenter__(self) -> ScriptedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fast_cli_retries(monkeypatch: Any) -> None:
    """Makes the CLI's clients retry on a fake clock: no real backoff in CLI tests."""
    import agentcloud.providers

    real_connect = agentcloud.providers.connect

    def connect_fast(provider: str, /, **kwargs: Any) -> Any:
        timer = FakeTime()
        kwargs["retry"] = RetryPolicy(sleep=timer.sleep, clock=timer.clock)
        return real_connect(provider, **kwargs)

    monkeypatch.setattr(agentcloud.providers, "connect", connect_fast)


def assert_unknown_for_a_reason(index: int, outcome: BaseException) -> None:
    """A start left unknown (StartOutcomeUnknownError) only where the vendor may still be
    working on it: it timed out (a stall, or a slow answer on a busy machine) or met a
    gateway 504; or where looking it up could not be finished in time (its listing timed
    out on a busy machine: the lookup error is the context the outcome was raised in).
    Never after an answer that settled it, with a lookup that worked."""
    from agentcloud.errors import APIError, RequestTimeoutError

    cause = outcome.__cause__
    lookup = outcome.__context__ if outcome.__context__ is not cause else None
    assert (
        isinstance(cause, RequestTimeoutError)
        or (isinstance(cause, APIError) and cause.status == 504)
        or isinstance(lookup, RequestTimeoutError)
    ), f"call {index}: unknown after {cause!r} (lookup: {lookup!r}): {outcome}"
