"""Shared test doubles: vendor fixtures, recorded aioresponses calls, and an emulator on a
thread of its own for synchronous callers (the CLI). Fake time is the library's own testing
mode, :class:`agentcloud.testing.FakeTime`, re-exported here."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud.testing import Emulator, FakeTime

T = TypeVar("T")

__all__ = ["FakeTime", "ThreadedEmulator", "body_of", "fixture", "rsa_keypair", "rsa_sign", "sent"]

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


class ThreadedEmulator:
    """An emulator on its own event loop thread, so synchronous code can call it."""

    def __init__(self, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.emu = Emulator(**kwargs)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedEmulator:
        self._thread.start()
        self.run(self.emu.start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.emu.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(30)

    def env(self) -> dict[str, str]:
        emu = self.emu
        return {
            "VIDEOSDK_API_KEY": emu.videosdk_api_key,
            "VIDEOSDK_SECRET_KEY": emu.videosdk_secret,
            "PIPECAT_CLOUD_API_KEY": emu.pipecat_api_key,
            "PIPECAT_CLOUD_PUBLIC_KEY": emu.pipecat_public_key,
            "PIPECAT_CLOUD_AGENT": "my-agent",
        }


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
