"""Signed webhook deliveries, POSTed for real, in order per session.

Vendors build and sign each event (`enqueue` takes the exact bytes and headers); the
dispatcher sends it. Handlers only enqueue; delivery runs in background tasks so a slow or
dead receiver never delays an API answer. Each session's deliveries are chained, so they
arrive in the order its phases changed. Outcomes are recorded, never raised. Only loopback
targets are contacted: the emulator is a test tool and must not reach out to the network.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from contextlib import suppress

import aiohttp
from attrs import frozen
from yarl import URL

from ._recording import BoundedLog

__all__ = ["WebhookDelivery", "WebhookDispatcher", "is_loopback_url"]


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
        """True when the receiver answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


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


@frozen(kw_only=True)
class _Outgoing:
    session_id: str
    event: str
    url: str
    body: bytes
    signature: str
    headers: Mapping[str, str]

    def outcome(self, status: int | None, error: str | None) -> WebhookDelivery:
        return WebhookDelivery(
            session_id=self.session_id,
            event=self.event,
            url=self.url,
            body=self.body,
            signature=self.signature,
            status=status,
            error=error,
        )


class WebhookDispatcher:
    """Queues and POSTs signed webhook events; records every outcome in `deliveries`."""

    def __init__(self, *, timeout: float, limit: int | None = None) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        # Bounded like the request log: a long-running emulator must not grow without end.
        self.deliveries: BoundedLog[WebhookDelivery] = BoundedLog(limit)

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

    def enqueue(
        self,
        *,
        session_id: str,
        event: str,
        url: str,
        body: bytes,
        signature: str,
        headers: Mapping[str, str],
    ) -> None:
        """Schedule a POST of `body` with `headers` after every earlier one for the session.

        `headers` carry the signature as the vendor sends it; `signature` is recorded with
        the outcome.
        """
        outgoing = _Outgoing(
            session_id=session_id,
            event=event,
            url=url,
            body=body,
            signature=signature,
            headers=headers,
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.deliveries.append(outgoing.outcome(None, "refused: no event loop"))
            return
        previous = self._tails.get(session_id)
        task = loop.create_task(self._deliver_after(previous, outgoing))
        self._tails[session_id] = task
        self._pending.add(task)
        task.add_done_callback(lambda done: self._forget(session_id, done))

    async def settle(self) -> None:
        """Wait until every queued delivery has been attempted."""
        # Done tasks leave the set in a callback, which may not have run yet: gathering
        # only done tasks completes without yielding (Python 3.13), so it must not spin.
        while pending := [task for task in self._pending if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._tails.get(session_id) is task:
            del self._tails[session_id]

    async def _deliver_after(
        self, previous: asyncio.Task[None] | None, outgoing: _Outgoing
    ) -> None:
        if previous is not None:
            # The earlier delivery's own failure is already recorded; only its end matters.
            with suppress(Exception):
                await asyncio.shield(previous)
        status, error = await self._post(outgoing)
        self.deliveries.append(outgoing.outcome(status, error))

    async def _post(self, outgoing: _Outgoing) -> tuple[int | None, str | None]:
        if not is_loopback_url(outgoing.url):
            return None, "refused: the emulator only delivers to loopback addresses"
        if self._http is None:
            return None, "refused: the emulator is not running"
        try:
            async with self._http.post(
                outgoing.url, data=outgoing.body, headers=outgoing.headers
            ) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
