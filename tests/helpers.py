"""Shared test doubles: vendor fixtures and recorded aioresponses calls. Fake time is the
library's own testing mode, :class:`agentcloud.testing.FakeTime`, re-exported here.
Synchronous callers (the CLI's tests) run the emulator on a thread of its own with
``with Emulator() as emu:``."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud import RetryPolicy
from agentcloud.testing import Emulator, FakeTime

T = TypeVar("T")

__all__ = [
    "FakeTime",
    "HoldRecorder",
    "ThreadedEmulator",
    "body_of",
    "fixture",
    "rsa_keypair",
    "rsa_sign",
    "sent",
]

FIXTURES = Path(__file__).parent / "fixtures"

VIDEOSDK_URL = "https://api.videosdk.live"
PIPECAT_URL = "https://api.pipecat.daily.co"
API_KEY = "vsk_test_key_0123456789"
SECRET = "vsk_test_secret_abcdefghijklmnop"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sent(mocked: Any, method: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests aioresponses saw as (method, url, kwargs), grouped by URL in first-seen order."""
    result = [
        (verb, str(url), request.kwargs)
        for (verb, url), requests in mocked.requests.items()
        for request in requests
    ]
    if method is not None:
        result = [call for call in result if call[0] == method]
    return result


def body_of(kwargs: dict[str, Any]) -> Any:
    data = kwargs.get("data")
    return None if data is None else json.loads(data)


def rsa_keypair() -> tuple[rsa.RSAPrivateKey, str]:
    """A fresh RSA private key and its public key as PEM text, as webhook signers use."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, pem.decode()


def rsa_sign(body: bytes, key: rsa.RSAPrivateKey) -> str:
    """The ``videosdk-signature`` value for ``body``: base64 RSA-SHA256 (PKCS#1 v1.5)."""
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def advancing_policy(clock: Any) -> RetryPolicy:
    """A RetryPolicy whose sleeps move ``clock`` (a ManualClock) instead of waiting, so
    session timers, polls and backoff against an emulator on that clock run instantly."""

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return RetryPolicy(sleep=advance, clock=clock.now, random=lambda: 0.5)


class HoldRecorder:
    """Listens to what a client reports it holds (``client._held.listeners``): a client
    that does not end everything on close forgets sessions it does not manage, so what
    a start reported is read here rather than from ``client._held``."""

    def __init__(self, client: Any) -> None:
        #: Every session id reported held, with whether it was managed when last reported.
        self.managed: dict[str, bool] = {}
        #: Every session id reported let go (ended, or no longer held), in order.
        self.let_go: list[str] = []
        client._held.listeners.append(self)

    def held(self, session: Any, *, managed: bool) -> None:
        self.managed[session.id] = managed

    def released(self, session_id: str) -> None:
        self.let_go.append(session_id)


class ThreadedEmulator:
    """The blocking emulator (``with Emulator() as emu:``) with what older suites use:
    ``.emu``, ``.run(coroutine_function)`` on the emulator's own loop, and ``.env()``."""

    def __init__(self, **kwargs: Any) -> None:
        self.emu = Emulator(**kwargs)

    def __enter__(self) -> ThreadedEmulator:
        self.emu.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.emu.__exit__(None, None, None)

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        portal = self.emu._portal
        assert portal is not None, "the emulator is not serving from its own thread"
        result: T = portal.run(factory)
        return result

    def env(self) -> dict[str, str]:
        """The variables that point each provider's tools at this emulator."""
        return self.emu.environment()
