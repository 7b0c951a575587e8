"""The base every provider resource builds on (``client.sessions``, ``client.agents``...).

A resource binds its client's transport once and describes calls; the transport sends
them. Reads, writes and deletes are one line each (:meth:`Resource._get` and friends), a
listing is data (:class:`Listing`: path, paging style, structurer, key) turned into a
:class:`~agentcloud.Pager` by :meth:`Resource._list`, and every provider's sessions share
one ``wait`` and one start loop (:class:`SessionsResource`).
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, Unpack

import attrs

from ._checks import check_timeout
from ._sessions import EventSource, SessionStart, StartPlan, start_at_most_once, wait_for_status
from ._transport import Call, Reply, RetryMode
from .models import Session, SessionStatus
from .pagination import MAX_PER_PAGE, Pager, PagingStyle

if TYPE_CHECKING:
    from ._client import BaseClient

__all__ = ["Listing", "Resource", "SessionsResource", "WaitOptions", "by_id"]

T = TypeVar("T")
S = TypeVar("S", bound=Session)


#: The key most listings de-duplicate by: the item's ``id`` (an attrgetter: it is called
#: once per listed item, and costs a third of a Python function's call).
by_id: Callable[[Any], Hashable] = operator.attrgetter("id")


@attrs.frozen(kw_only=True)
class Listing(Generic[T]):
    """A listing as data: where it is, how it pages, how an item is built and keyed.

    ``path`` may hold ``{name}`` fields filled per call (already percent-encoded values).
    """

    operation: str
    path: str
    style: PagingStyle
    structure: Callable[[Any], T]
    key: Callable[[T], Hashable] = by_id
    max_per_page: int = MAX_PER_PAGE


class Resource:
    """A group of a provider's calls, bound to one client."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json: Any = None,
        auth: Any = None,
        mode: RetryMode = RetryMode.IDEMPOTENT,
        timeout: float | None = None,
        **options: Any,
    ) -> Reply:
        """Sends one call; ``auth`` is the scope the client's credentials are asked for."""
        call = self._client._call(
            operation, method, path, auth=auth, query=query, json=json, mode=mode, **options
        )
        return await self._client._send(call, timeout=check_timeout("timeout", timeout))

    async def _get(
        self,
        operation: str,
        path: str,
        structure: Callable[[Any], T],
        *,
        query: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: float | None = None,
    ) -> T:
        reply = await self._request(operation, "GET", path, query=query, auth=auth, timeout=timeout)
        return structure(reply.data)

    async def _post(
        self,
        operation: str,
        path: str,
        structure: Callable[[Any], T],
        *,
        json: Any = None,
        mode: RetryMode = RetryMode.IDEMPOTENT,
        auth: Any = None,
        timeout: float | None = None,
    ) -> T:
        reply = await self._request(
            operation, "POST", path, json=json, auth=auth, mode=mode, timeout=timeout
        )
        return structure(reply.data)

    async def _delete(
        self,
        operation: str,
        path: str,
        structure: Callable[[Any], T],
        *,
        auth: Any = None,
        timeout: float | None = None,
    ) -> T:
        reply = await self._request(operation, "DELETE", path, auth=auth, timeout=timeout)
        return structure(reply.data)

    def _list(
        self,
        listing: Listing[T],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        structure: Callable[[Any], T] | None = None,
        per_page: int,
        max_items: int | None,
        concurrency: int = 1,
        auth: Any = None,
        timeout: float | None = None,
    ) -> Pager[T]:
        """A pager over ``listing``; ``timeout`` bounds each page's request."""
        client = self._client
        authorization = client._authorization(auth)
        limit = check_timeout("timeout", timeout)
        where = listing.path.format_map(path) if path else listing.path
        fixed = dict(query or {})

        async def request(paging: Mapping[str, str]) -> Any:
            call = Call(
                operation=listing.operation,
                method="GET",
                path=where,
                query={**fixed, **paging},
                authorization=authorization,
            )
            return (await client._send(call, timeout=limit)).data

        return Pager.of_style(
            request,
            listing.style,
            what=listing.operation,
            structure=structure or listing.structure,
            key=listing.key,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            max_per_page=listing.max_per_page,
        )


class WaitOptions(TypedDict, total=False):
    """What every provider's ``sessions.wait`` takes besides the session.

    - ``until``: the status to wait for (default RUNNING; a later stage counts too).
    - ``timeout``: seconds for the whole wait (default 120; None waits as long as it takes).
    - ``poll_interval`` / ``max_poll_interval``: the first pause between polls and the cap
      it grows to (defaults 0.5 and 5).
    - ``receiver``: a WebhookReceiver or fleet whose news of the session ends a pause early.
    """

    until: SessionStatus | str
    timeout: float | None
    poll_interval: float
    max_poll_interval: float
    receiver: EventSource | None


class SessionsResource(Resource, Generic[S]):
    """``client.sessions``: what every provider's sessions share.

    Providers add ``start``, ``get``, ``end`` and ``list``; ``wait`` is built on ``get``
    here, with the same arguments everywhere (a provider whose ``get`` needs more than the
    id, such as an agent or a room, adds them to its own ``wait`` and calls ``_wait``).
    """

    async def _get_session(self, session_id: str, **locator: Any) -> S:
        # Each provider's ``get`` takes the id and its own locator (agent=, room=...).
        get: Callable[..., Awaitable[S]] = self.get  # type: ignore[attr-defined]
        return await get(session_id, **locator)

    async def wait(self, session_id: str, **options: Unpack[WaitOptions]) -> S:
        """Polls until the session reaches ``until`` (default RUNNING, or a later stage) and
        returns it.

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``
        seconds (default 120; the whole wait: polls, pauses and retries). Pass the
        WebhookReceiver (or fleet) the session's webhooks reach as ``receiver``, and a
        delivered event ends the current pause at once instead of waiting it out. See
        :class:`WaitOptions` for every option.
        """
        return await self._wait(session_id, {}, options)

    async def _wait(self, session_id: str, locator: Mapping[str, Any], options: WaitOptions) -> S:
        async def get() -> S:
            return await self._get_session(session_id, **locator)

        return await wait_for_status(
            get,
            session_id,
            until=options.get("until", SessionStatus.RUNNING),
            timeout=options.get("timeout", 120.0),
            retry=self._client._retry,
            poll_interval=options.get("poll_interval", 0.5),
            max_poll_interval=options.get("max_poll_interval", 5.0),
            events=options.get("receiver"),
        )

    def _start(self, plan: StartPlan[S], *, timeout: float | None) -> SessionStart[S]:
        """The start handle for ``plan``: sent by the core's at-most-once start loop."""
        client = self._client
        limit = check_timeout("timeout", timeout)

        async def start(managed: bool) -> S:
            return await start_at_most_once(
                client._transport, plan, held=client._held, managed=managed, timeout=limit
            )

        return SessionStart(
            start,
            client._end_session,
            held=client._held,
            starts=client._starts,
            running_loop=client._transport.running_loop,
        )
