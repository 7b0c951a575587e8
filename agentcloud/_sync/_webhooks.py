"""Webhooks for blocking code: a receiver served on a sync client's loop.

``agentcloud.webhooks.parse(...)`` is synchronous already: a Django or Flask view verifies
and parses a delivery with it directly. What blocking code lacks is a server of its own, and
a way to wait for events; :meth:`WebhookReceiver.serve` gives both::

    with VideoSDK() as vs, WebhookReceiver.serve(port=0, key_source=vs.webhook_public_key) as hooks:
        s = vs.sessions.start(..., webhook=Webhook(hooks.url))
        vs.sessions.wait(s.id, until="running", receiver=hooks)   # woken by the webhook
        for event in hooks: ...

The receiver runs on the event loop of the sync client it is given (``client=``) or whose
method it is handed (``key_source=vs.webhook_public_key``), so that client's ``wait`` can be
woken by it; otherwise on a loop of its own, stopped when the ``with`` block ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

from ..errors import InvalidRequestError
from ..models import SessionEvent, SessionEventType
from ..webhooks import ServerLimits, WebhookStats
from ..webhooks import WebhookReceiver as AsyncReceiver
from ._portal import Portal
from ._twins import Blocking, SyncClient, _unwrapped

__all__ = ["WebhookReceiver"]


def _portal_of(client: SyncClient | None, kwargs: dict[str, Any]) -> Portal | None:
    if client is not None:
        if not isinstance(client, SyncClient):
            raise InvalidRequestError("client", "must be an agentcloud.sync client")
        return client._portal
    for value in kwargs.values():
        owner = getattr(value, "__self__", value)
        if isinstance(owner, Blocking):
            return owner._portal
    return None


class WebhookReceiver(Blocking):
    """The blocking face of :class:`agentcloud.WebhookReceiver`: ``next()`` and ``for event
    in receiver`` block until a verified event arrives. Made by :meth:`serve`."""

    def __init__(self, receiver: AsyncReceiver, portal: Portal) -> None:
        self._target = receiver
        self._portal = portal

    def __repr__(self) -> str:
        return repr(self._target)

    @property
    def url(self) -> str | None:
        """The URL to hand the vendor."""
        url: str | None = self._target.url
        return url

    @property
    def provider(self) -> str:
        """The registered name of the provider whose webhooks this receiver verifies."""
        provider: str = self._target.provider
        return provider

    @property
    def stats(self) -> WebhookStats:
        """Counters of accepted, duplicate, dropped and refused deliveries."""
        stats: WebhookStats = self._target.stats
        return stats

    def next(
        self,
        *,
        session_id: str | None = None,
        type: SessionEventType | str | None = None,
        timeout: float | None = None,
    ) -> SessionEvent:
        """The oldest queued event matching ``session_id`` and ``type``, waiting up to
        ``timeout`` seconds for one (None: as long as it takes); RequestTimeoutError when
        none came in time. Other events stay queued."""
        receiver: AsyncReceiver = self._target
        return self._portal.run(
            lambda: receiver.next(session_id=session_id, type=type, timeout=timeout)
        )

    def __iter__(self) -> Iterator[SessionEvent]:
        """Every event as it arrives, oldest first, forever (leave the loop to stop)."""
        while True:
            yield self.next()

    def put(self, event: SessionEvent) -> None:
        """Queues ``event`` as if it had been delivered (handy in tests)."""
        receiver: AsyncReceiver = self._target
        self._portal.run(lambda: receiver.put(event))

    @classmethod
    def serve(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client: SyncClient | None = None,
        path: str = "/webhooks",
        public_url: str | None = None,
        limits: ServerLimits | None = None,
        **kwargs: Any,
    ) -> ServingReceiver:
        """``with WebhookReceiver.serve(host, port, ...) as receiver`` serves a receiver
        standalone, as :meth:`agentcloud.webhooks.WebhookReceiver.serve` does, with the same
        arguments (key material, ``verify``, ``fleet``, limits ...), on the loop of
        ``client`` (or of the sync client whose method is passed, e.g. ``key_source=``)."""
        portal = _portal_of(client, kwargs)
        owned = portal is None
        if portal is None:
            portal = Portal("webhooks")
        _, unwrapped = _unwrapped((), kwargs, portal)
        serving = AsyncReceiver.serve(
            host, port, path=path, public_url=public_url, limits=limits, **unwrapped
        )
        return ServingReceiver(serving, portal, owned=owned)


class ServingReceiver:
    """``with`` it to serve the receiver; what :meth:`WebhookReceiver.serve` returns."""

    def __init__(self, serving: Any, portal: Portal, *, owned: bool) -> None:
        self._serving = serving
        self._portal = portal
        self._owned = owned

    def __enter__(self) -> WebhookReceiver:
        serving = self._serving
        try:
            receiver: AsyncReceiver = self._portal.run(serving.__aenter__)
        except BaseException:
            if self._owned:
                self._portal.close()
            raise
        return WebhookReceiver(receiver, self._portal)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        serving = self._serving
        try:
            self._portal.run(lambda: serving.__aexit__(exc_type, exc, tb))
        finally:
            if self._owned:
                self._portal.close()
