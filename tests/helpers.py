"""Shared test doubles: a fake clock/sleep, vendor fixtures, recorded aioresponses calls.

(Synchronous callers, such as the CLI's tests, run the emulator on a thread of its own
with ``with Emulator() as emu:``.)"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud import RetryPolicy

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"

VIDEOSDK_URL = "https://api.videosdk.live"
PIPECAT_URL = "https://api.pipecat.daily.co"
API_KEY = "vsk_test_key_0123456789"
SECRET = "vsk_test_secret_abcdefghijklmnop"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # a real sleep yields to the loop; so does this one

    def policy(self, **overrides: Any) -> RetryPolicy:
        """A RetryPolicy on this clock with jitter pinned to its ceiling (random() == 1)."""
        options: dict[str, Any] = {
            "sleep": self.sleep,
            "clock": self.clock,
            "random": lambda: 1.0,
        }
        options.update(overrides)
        return RetryPolicy(**options)


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
