"""Signed VideoSDK webhook deliveries, POSTed for real, in order per session.

Handlers only enqueue; delivery runs in background tasks so a slow or dead receiver never
delays an API answer. Each session's deliveries are chained, so they arrive in the order
its phases changed. Outcomes are recorded, never raised. Only loopback targets are
contacted: the emulator is a test tool and must not reach out to the network.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
from contextlib import suppress

import aiohttp
from attrs import frozen
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from yarl import URL

__all__ = ["WebhookDelivery", "WebhookDispatcher", "WebhookSigner", "is_loopback_url"]

SIGNATURE_HEADER = "videosdk-signature"


@frozen(kw_only=True)
class WebhookDelivery:
    """One attempted webhook POST and how it went."""

    session_id: str
    event: str
    url: str
    body: bytes
    """The exact bytes POSTed (and signed)."""
    signature: str
    status: int | None
    """The receiver's HTTP status, or None when nothing was answered."""
    error: str | None
    """Why the POST failed or was refused, or None."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSigner:
    """RSA-SHA256 (PKCS#1 v1.5) signatures, as VideoSDK signs user webhooks."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self._private_key = private_key or rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        self.public_key_pem = (
            self._private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, body: bytes) -> str:
        signature = self._private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


def is_loopback_url(url: str) -> bool:
    try:
        parsed = URL(url)
    except ValueError:
        return False
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def webhook_body(event: str, session_id: str) -> bytes:
    payload = {"webhookType": event, "data": {"sessionId": session_id}}
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookDispatcher:
    """Queues, signs and POSTs webhook events; records every outcome in `deliveries`."""

    def __init__(self, *, signer: WebhookSigner, timeout: float) -> None:
        self._signer = signer
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self.deliveries: list[WebhookDelivery] = []

    async def open(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Drop undelivered events and release the HTTP client."""
        for task in list(self._pending):
            task.cancel()
        for task in list(self._pending):
            with suppress(asyncio.CancelledError):
                await task
        self._tails.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    def enqueue(self, *, session_id: str, event: str, url: str) -> None:
        """Schedule a POST after every earlier one for the same session."""
        body = webhook_body(event, session_id)
        signature = self._signer.sign(body)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._record_refusal(session_id, event, url, body, signature, "no event loop")
            return
        previous = self._tails.get(session_id)
        task = loop.create_task(
            self._deliver_after(previous, session_id, event, url, body, signature)
        )
        self._tails[session_id] = task
        self._pending.add(task)
        task.add_done_callback(lambda done: self._forget(session_id, done))

    def _record_refusal(
        self, session_id: str, event: str, url: str, body: bytes, signature: str, why: str
    ) -> None:
        self.deliveries.append(
            WebhookDelivery(
                session_id=session_id,
                event=event,
                url=url,
                body=body,
                signature=signature,
                status=None,
                error=f"refused: {why}",
            )
        )

    async def settle(self) -> None:
        """Wait until every queued delivery has been attempted."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._tails.get(session_id) is task:
            del self._tails[session_id]

    async def _deliver_after(
        self,
        previous: asyncio.Task[None] | None,
        session_id: str,
        event: str,
        url: str,
        body: bytes,
        signature: str,
    ) -> None:
        if previous is not None:
            # The earlier delivery's own failure is already recorded; only its end matters.
            with suppress(Exception):
                await asyncio.shield(previous)
        status, error = await self._post(url, body, signature)
        self.deliveries.append(
            WebhookDelivery(
                session_id=session_id,
                event=event,
                url=url,
                body=body,
                signature=signature,
                status=status,
                error=error,
            )
        )

    async def _post(self, url: str, body: bytes, signature: str) -> tuple[int | None, str | None]:
        if not is_loopback_url(url):
            return None, "refused: the emulator only delivers to loopback addresses"
        if self._http is None:
            return None, "refused: the emulator is not running"
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        try:
            async with self._http.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
