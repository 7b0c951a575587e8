"""Walking long listings: ``async for``, whole pages, prefetch and bounded concurrency.

A :class:`Pager` is returned at once by ``list()`` calls (nothing is sent until it is
iterated) and each iteration walks the listing anew. While the caller works on one page the
next is already in flight; with ``concurrency=N``, up to N pages are in flight once the
listing's total is known, and pages are still yielded in order. At most N+1 pages are held.

Listings shift while they are walked (newest first, a new session pushes every item down),
so an item that reappears at a page boundary is dropped; a page identical to the one before
means the vendor ignored the paging parameters, and ends the walk with an error instead of
looping or quietly yielding a short listing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from .errors import InvalidRequestError, ResponseDecodeError
from .models import Page

__all__ = ["MAX_PER_PAGE", "PageFetcher", "Pager"]

T = TypeVar("T")

#: The largest page size the SDK asks for; VideoSDK's own tools ask for 100.
MAX_PER_PAGE = 100

#: Fetches the page at a zero-based index with a page size: ``fetch(index, per_page)``.
PageFetcher = Callable[[int, int], Awaitable[Page[T]]]


def _check_count(argument: str, value: object, *, minimum: int, maximum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(argument, f"must be an integer, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidRequestError(argument, f"must be {bounds}, got {value}")
    return value


class Pager(Generic[T]):
    """An async iterable over every item of a listing, in the vendor's order."""

    def __init__(
        self,
        fetch: PageFetcher[T],
        *,
        key: Callable[[T], Hashable],
        per_page: int,
        max_items: int | None = None,
        concurrency: int = 1,
        structure: Callable[[Any], T] | None = None,
    ) -> None:
        self._fetch = fetch
        self._key = key
        # Given, ``fetch`` returns the vendor's raw items and the pager builds each with it.
        self._structure = structure
        self.per_page = _check_count("per_page", per_page, minimum=1, maximum=MAX_PER_PAGE)
        self.max_items = (
            None
            if max_items is None
            else _check_count("max_items", max_items, minimum=0, maximum=None)
        )
        self.concurrency = _check_count("concurrency", concurrency, minimum=1, maximum=64)

    def __repr__(self) -> str:
        return (
            f"Pager(per_page={self.per_page}, max_items={self.max_items}, "
            f"concurrency={self.concurrency})"
        )

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """Every item of the listing (up to ``max_items``) as a list."""
        return [item async for item in self]

    def _pages_wanted(self) -> int | None:
        """How many pages ``max_items`` needs if no item is dropped; None when unbounded."""
        if self.max_items is None:
            return None
        return -(-self.max_items // self.per_page)  # ceil in integers: no float overflow

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yields the listing page by page (pages reduced by de-duplication and max_items)."""
        if self.max_items == 0:
            return
        per_page = self.per_page
        wanted = self._pages_wanted()
        in_flight: deque[asyncio.Task[Page[T]]] = deque()
        next_index = 1
        last_index: int | None = None
        emitted = 0
        previous_keys: list[Hashable] | None = None

        def has_more(index: int, page: Page[T]) -> bool:
            if last_index is not None:
                return index <= last_index
            return len(page.items) >= per_page

        try:
            page = await self._fetch(0, per_page)
            first = True
            while True:
                if page.total is not None:
                    # Integer ceil: a vendor's 10**400 must not overflow a float division.
                    last_index = max(-(-page.total // per_page) - 1, 0)
                window = self.concurrency if last_index is not None else 1
                launched = False
                while (
                    len(in_flight) < window
                    and has_more(next_index, page)
                    and (wanted is None or next_index < wanted)
                ):
                    in_flight.append(asyncio.ensure_future(self._fetch(next_index, per_page)))
                    next_index += 1
                    launched = True
                if launched:
                    # Let the new fetches send their requests now, so the vendor works on
                    # them while the caller works on this page (a task only starts running
                    # when the loop gets control, which a busy caller may not give it).
                    await asyncio.sleep(0)
                if self._structure is not None:
                    # Built now that the next requests are out: the vendor answers them
                    # while this page is built, rather than after.
                    page = Page(
                        items=tuple(map(self._structure, page.items)),
                        number=page.number,
                        offset=page.offset,
                        total=page.total,
                    )

                keys = [self._key(item) for item in page.items]
                if previous_keys is not None and keys and keys == previous_keys:
                    raise ResponseDecodeError(
                        f"the listing returned the same page twice (page at "
                        f"{_position(page)}); the vendor may be ignoring paging"
                    )
                if not page.items and _counted_beyond(page, per_page):
                    # Stopping here would be a silent short listing: refuse it.
                    raise ResponseDecodeError(
                        f"the listing's page at {_position(page)} is empty, yet the vendor "
                        f"counts {page.total} items in all"
                    )
                if not page.items and not first:
                    return
                items = page.items
                if previous_keys:
                    seen = set(previous_keys)
                    items = tuple(
                        item for item, key in zip(items, keys, strict=True) if key not in seen
                    )
                if self.max_items is not None and emitted + len(items) > self.max_items:
                    items = items[: self.max_items - emitted]
                emitted += len(items)
                yield Page(items=items, number=page.number, offset=page.offset, total=page.total)
                if (self.max_items is not None and emitted >= self.max_items) or not keys:
                    return
                previous_keys = keys
                first = False
                if not in_flight:
                    # Pages dropped items, so max_items needs one more than planned.
                    if not has_more(next_index, page):
                        return
                    in_flight.append(asyncio.ensure_future(self._fetch(next_index, per_page)))
                    next_index += 1
                page = await in_flight.popleft()
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)


def _counted_beyond(page: Page[Any], per_page: int) -> bool:
    """True when the page's own total says items exist from where the page starts."""
    if page.total is None:
        return False
    if page.offset is not None:
        start = page.offset
    elif page.number is not None:
        start = (page.number - 1) * per_page
    else:
        return False
    return start < page.total


def _position(page: Page[Any]) -> str:
    if page.number is not None:
        return f"number {page.number}"
    return f"offset {page.offset}"
