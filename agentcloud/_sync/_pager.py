"""Listings for blocking code: ``for item in client.sessions.list(): ...``.

A blocking :class:`Pager` walks the async :class:`agentcloud.Pager` on its client's loop, one
page per hop between threads: the async pager's prefetch, ``concurrency`` and bounded memory
are kept as they are (better, even: the next pages are fetched while the caller works, since
the caller's work does not hold up the loop). Leaving a ``for`` loop early (``break``, an
exception, Ctrl-C) closes the walk at once: the pages in flight are cancelled before the loop
statement is left.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Generic, TypeVar

from ..models import Page
from ..pagination import Pager as AsyncPager
from ._portal import Portal

__all__ = ["Pager", "blocking_iterator"]

T = TypeVar("T")


def _close_walk(portal: Portal, walk: AsyncIterator[Any]) -> None:
    """Closes an async generator on the portal's loop and waits for it (its ``finally``
    cancels what it has in flight), unless that cannot be waited for from here."""
    closer = getattr(walk, "aclose", None)
    if closer is None:
        return
    if portal.closed:
        return  # the loop is gone: it cancelled everything it ran
    if portal.on_own_thread():
        portal.loop().create_task(closer())
        return
    portal.run(closer)


def blocking_iterator(walk: AsyncIterator[T], portal: Portal) -> Generator[T, None, None]:
    """Iterates ``walk`` (an async iterator living on ``portal``'s loop) from this thread,
    one item per hop; closing the iterator closes ``walk`` there."""
    try:
        while True:
            try:
                item = portal.run(walk.__anext__)
            except StopAsyncIteration:
                return
            yield item
    finally:
        _close_walk(portal, walk)


class Pager(Generic[T]):
    """An iterable over every item of a listing, in the vendor's order (blocking).

    Iterate it (``for item in pager``), walk ``pages()``, or ``collect()`` it; each
    iteration walks the listing anew. ``max_items`` stops early, ``per_page`` sets the page
    size and ``concurrency`` the pages in flight, as in :class:`agentcloud.Pager`.
    """

    def __init__(self, pager: AsyncPager[T], portal: Portal) -> None:
        self._pager = pager
        self._portal = portal

    @property
    def per_page(self) -> int:
        """Items asked for per page request."""
        return self._pager.per_page

    @property
    def max_items(self) -> int | None:
        """The most items a walk yields (``None``: every item of the listing)."""
        return self._pager.max_items

    @property
    def concurrency(self) -> int:
        """The most page requests in flight at once during a walk."""
        return self._pager.concurrency

    def __repr__(self) -> str:
        return repr(self._pager)

    def __iter__(self) -> Iterator[T]:
        with contextlib.closing(blocking_iterator(self._pager.pages(), self._portal)) as pages:
            for page in pages:
                yield from page.items

    def pages(self) -> Iterator[Page[T]]:
        """Yields the listing page by page (pages reduced by de-duplication and
        ``max_items``). Close the iterator (or leave its ``for`` loop) to stop the walk."""
        return blocking_iterator(self._pager.pages(), self._portal)

    def collect(self) -> list[T]:
        """Every item of the listing (up to ``max_items``) as a list."""
        return self._portal.run(self._pager.collect)
