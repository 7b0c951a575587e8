"""Walking long listings: ``async for``, whole pages, prefetch and bounded concurrency.

A :class:`Pager` is returned at once by ``list()`` calls (nothing is sent until it is
iterated) and each iteration walks the listing anew. While the caller works on one page the
next is already in flight; with ``concurrency=N``, up to N pages are in flight once the
listing's total is known, and pages are still yielded in order. At most N+1 pages are held.

How a vendor pages is data a provider declares, one of the paging styles:

- :class:`PageNumbers`: ``page=1, 2, ...`` and a page size, with a total count;
- :class:`Offsets`: ``offset=0, n, 2n, ...`` and a limit, with a total count (which may be
  only a lower bound, then not trusted as the end);
- :class:`Cursor`: an opaque token from each page fetches the next (one page in flight);
- :class:`OneAnswer`: one answer holds every item.

Without a total the walk goes on until a short or empty page. Listings shift while they are
walked (newest first, a new session pushes every item down), so an item that reappears is
dropped, and so is one a page holds twice. Pages fetched at once may shift by several
pages against an earlier one (many sessions made while the window was in flight), so the
keys of the last ``REPEAT_WINDOW`` pages (plus the concurrency) are remembered, and
no more: memory stays bounded however long the listing. A page that repeats any
earlier page of the walk, in any order, means the vendor ignores the paging parameters: the
walk ends with ResponseDecodeError instead of looping, remembering pages by fingerprint (a
hash of their set of keys), never by their items.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ._checks import check_count
from ._convert import WireStructurer, expect_count, expect_list, expect_object
from .errors import ResponseDecodeError
from .models import Page

__all__ = [
    "MAX_PER_PAGE",
    "Cursor",
    "OneAnswer",
    "Offsets",
    "PageFetcher",
    "PageNumbers",
    "Pager",
    "PagingStyle",
]

T = TypeVar("T")

MAX_PER_PAGE = 100
"""The largest page size the SDK asks for by default, as the vendors' own tools do."""

REPEAT_WINDOW = 16
"""Pages whose items a walk still recognises when they come again (beyond its concurrency)."""

PageFetcher = Callable[[int, int], Awaitable[Page[T]]]
"""Fetches the page at a zero-based index with a page size: ``fetch(index, per_page)``."""

#: Sends one page request with these query parameters and returns the decoded answer.
PageRequest = Callable[[Mapping[str, str]], Awaitable[Any]]


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _dig(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested objects, or None where any step is absent."""
    if not path:
        return data
    for step in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def _items(data: Any, path: str, what: str) -> tuple[Any, ...]:
    if path:
        data = expect_object(data, what)
    return tuple(expect_list(_dig(data, path), f"{what} {path or 'answer'}"))


def _total(data: Any, paths: tuple[str, ...], what: str) -> int | None:
    for path in paths:
        value = _dig(data, path)
        if value is not None:
            return expect_count(value, f"{what} {path}")
    return None


class PagingStyle(Protocol):
    """How a vendor pages: the query that asks for a page and how to read the answer."""

    @property
    def indexed(self) -> bool:
        """Whether a page may be fetched before the previous one arrived (its position is
        known in advance)."""
        ...

    def query(self, index: int, size: int, cursor: str | None) -> dict[str, str]:
        """The query parameters asking for the page at ``index`` of ``size`` items (``cursor`` is
        the previous page's token, for styles that use one).
        """
        ...

    def read(self, data: Any, index: int, size: int, cursor: str | None, what: str) -> Page[Any]:
        """A page of raw items from the decoded answer."""
        ...


@attrs.frozen(kw_only=True)
class PageNumbers:
    """``page=1, 2, ...`` with a page size; ``total`` lists where the item count may be."""

    items: str
    total: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    page_param: str = "page"
    size_param: str = "perPage"
    indexed: bool = attrs.field(default=True, init=False)

    def query(self, index: int, size: int, cursor: str | None) -> dict[str, str]:
        """``page`` (counted from 1) and the page size."""
        return {self.page_param: str(index + 1), self.size_param: str(size)}

    def read(self, data: Any, index: int, size: int, cursor: str | None, what: str) -> Page[Any]:
        """The page's items, its number and the total the answer states."""
        return Page(
            items=_items(data, self.items, what),
            number=index + 1,
            total=_total(data, self.total, what),
        )


@attrs.frozen(kw_only=True)
class Offsets:
    """``offset=0, n, 2n, ...`` with a limit. When the answer marks its count as a lower
    bound (``lower_bound=(path, value)``, e.g. ``("total.relation", "gte")``), the count is
    not trusted as the end: the walk goes on until a short or empty page."""

    items: str
    total: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    lower_bound: tuple[str, str] | None = None
    limit_param: str = "limit"
    offset_param: str = "offset"
    indexed: bool = attrs.field(default=True, init=False)

    def query(self, index: int, size: int, cursor: str | None) -> dict[str, str]:
        """The limit and the offset of the page's first item."""
        return {self.limit_param: str(size), self.offset_param: str(index * size)}

    def read(self, data: Any, index: int, size: int, cursor: str | None, what: str) -> Page[Any]:
        """The page's items, its offset and the total, unless the answer marks it a lower bound."""
        total = _total(data, self.total, what)
        if self.lower_bound is not None and _dig(data, self.lower_bound[0]) == self.lower_bound[1]:
            total = None
        return Page(items=_items(data, self.items, what), offset=index * size, total=total)


@attrs.frozen(kw_only=True)
class Cursor:
    """An opaque token in each answer (at one of the ``next`` paths) fetches the next page;
    none, or an empty one, ends the walk. One page is in flight at a time."""

    items: str
    next: tuple[str, ...] = attrs.field(converter=_strings)
    cursor_param: str = "cursor"
    size_param: str | None = "limit"
    indexed: bool = attrs.field(default=False, init=False)

    def query(self, index: int, size: int, cursor: str | None) -> dict[str, str]:
        """The page size and, after the first page, the token the previous page named."""
        query = {} if self.size_param is None else {self.size_param: str(size)}
        if cursor is not None:
            query[self.cursor_param] = cursor
        return query

    def read(self, data: Any, index: int, size: int, cursor: str | None, what: str) -> Page[Any]:
        """The page's items and the token of the next page (None at the end)."""
        token: Any = None
        for path in self.next:
            token = _dig(data, path)
            if token is not None:
                break
        if token is not None and not isinstance(token, str):
            raise ResponseDecodeError(f"{what}: the next-page token is not a string")
        return Page(items=_items(data, self.items, what), cursor=cursor, next_cursor=token or None)


@attrs.frozen(kw_only=True)
class OneAnswer:
    """One answer holds every item; the listing does not page."""

    items: str
    # One page, never a next one: walked like a cursor listing whose first page has none.
    indexed: bool = attrs.field(default=False, init=False)

    def query(self, index: int, size: int, cursor: str | None) -> dict[str, str]:
        """No paging parameters: the one answer holds every item."""
        return {}

    def read(self, data: Any, index: int, size: int, cursor: str | None, what: str) -> Page[Any]:
        """Every item, as one page whose total is its length."""
        items = _items(data, self.items, what)
        return Page(items=items, offset=0, total=len(items))


class Pager(Generic[T]):
    """An async iterable over every item of a listing, in the vendor's order.

    Built by a provider's ``list()``; iterate it (``async for``), walk ``pages()``, or
    ``await collect()``. ``max_items`` stops early (items past it are never built),
    ``per_page`` sets the page size and ``concurrency`` the pages in flight.
    """

    def __init__(
        self,
        fetch: PageFetcher[Any],
        *,
        key: Callable[[T], Hashable],
        per_page: int,
        max_items: int | None = None,
        concurrency: int = 1,
        structure: Callable[[Any], T] | None = None,
        max_per_page: int = MAX_PER_PAGE,
        walk: Callable[[], PageFetcher[Any]] | None = None,
        sequential: bool = False,
    ) -> None:
        self._fetch = fetch
        # Each page names the next (cursors): one page in flight, and no next one without.
        self._sequential = sequential
        # A fresh fetch per walk, for styles that keep state along a walk (cursors).
        self._walk = walk
        self._key = key
        # Given, ``fetch`` returns the vendor's raw items and the pager builds each with it.
        self._structure = structure
        self._structure_many = None if structure is None else _structure_many(structure)
        self.per_page = check_count("per_page", per_page, minimum=1, maximum=max_per_page)
        self.max_items = (
            None if max_items is None else check_count("max_items", max_items, minimum=0)
        )
        self.concurrency = check_count("concurrency", concurrency, minimum=1, maximum=64)

    @classmethod
    def of_style(
        cls,
        request: PageRequest,
        style: PagingStyle,
        *,
        what: str,
        structure: Callable[[Any], T],
        key: Callable[[T], Hashable],
        per_page: int,
        max_items: int | None = None,
        concurrency: int = 1,
        max_per_page: int = MAX_PER_PAGE,
    ) -> Pager[T]:
        """A pager over a listing that pages in ``style``; ``request(query)`` sends one
        page request and returns the decoded answer."""

        def walk() -> PageFetcher[Any]:
            cursors: dict[int, str | None] = {0: None}

            async def fetch(index: int, size: int) -> Page[Any]:
                cursor = cursors.pop(index, None)
                data = await request(style.query(index, size, cursor))
                page = style.read(data, index, size, cursor, what)
                if not style.indexed:
                    cursors[index + 1] = page.next_cursor
                return page

            return fetch

        return cls(
            walk(),
            walk=walk,
            key=key,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency if style.indexed else 1,
            structure=structure,
            max_per_page=max_per_page,
            sequential=not style.indexed,
        )

    def __repr__(self) -> str:
        return (
            f"Pager(per_page={self.per_page}, max_items={self.max_items}, "
            f"concurrency={self.concurrency})"
        )

    def __aiter__(self) -> AsyncGenerator[T, None]:
        return self._items()

    async def _items(self) -> AsyncGenerator[T, None]:
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
        fetch = self._walk() if self._walk is not None else self._fetch
        per_page = self.per_page
        wanted = self._pages_wanted()
        in_flight: deque[asyncio.Task[Page[Any]]] = deque()
        next_index = 1
        last_index: int | None = None
        emitted = 0
        seen = RecentKeys((REPEAT_WINDOW + self.concurrency) * per_page)
        fingerprints: set[int] = set()

        sequential = self._sequential

        def has_more(index: int, page: Page[Any]) -> bool:
            if sequential:
                return page.next_cursor is not None and bool(page.items)
            if last_index is not None:
                return index <= last_index
            return len(page.items) >= per_page

        try:
            page = await fetch(0, per_page)
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
                    and not (sequential and in_flight)
                ):
                    in_flight.append(asyncio.ensure_future(fetch(next_index, per_page)))
                    next_index += 1
                    launched = True
                if launched:
                    # Let the new fetches send their requests now, so the vendor works on
                    # them while the caller works on this page (a task only starts running
                    # when the loop gets control, which a busy caller may not give it).
                    await asyncio.sleep(0)
                if not page.items and _counted_beyond(page, per_page):
                    # Stopping here would be a silent short listing: refuse it.
                    raise ResponseDecodeError(
                        f"the listing's page at {_position(page)} is empty, yet the vendor "
                        f"counts {page.total} items in all"
                    )
                if not page.items and not first:
                    return
                budget = None if self.max_items is None else self.max_items - emitted
                items, keys, complete = self._build(page.items, seen, budget)
                if complete and keys:
                    # By the set of keys: a vendor may serve an earlier page reordered.
                    fingerprint = hash(frozenset(keys))
                    if fingerprint in fingerprints:
                        raise ResponseDecodeError(
                            f"the listing returned the same page twice (page at "
                            f"{_position(page)} repeats an earlier one); the vendor may be "
                            f"ignoring paging"
                        )
                    fingerprints.add(fingerprint)
                emitted += len(items)
                yield Page(
                    items=items,
                    number=page.number,
                    offset=page.offset,
                    total=page.total,
                    cursor=page.cursor,
                    next_cursor=page.next_cursor,
                )
                if (self.max_items is not None and emitted >= self.max_items) or not keys:
                    return
                seen.add(keys)
                first = False
                if not in_flight:
                    # Pages dropped items, so max_items needs one more than planned.
                    if not has_more(next_index, page):
                        return
                    in_flight.append(asyncio.ensure_future(fetch(next_index, per_page)))
                    next_index += 1
                page = await in_flight.popleft()
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    def _build(
        self, raw_items: tuple[Any, ...], previous: RecentKeys, budget: int | None
    ) -> tuple[tuple[T, ...], list[Hashable], bool]:
        """The page's new items (built only while ``budget`` lasts; an item the walk's
        recent pages or this one already had is dropped), every key seen, and whether the
        whole page was read."""
        structure, key = self._structure, self._key
        # The first ``budget`` items are built whatever repeats they hold; only past them
        # is the budget checked before each item (repeats dropped leave room for more).
        count = len(raw_items)
        first = count if budget is None else min(budget, count)
        head = raw_items if first == count else raw_items[:first]
        many = self._structure_many
        built = head if many is None else many(head)
        keys = list(map(key, built))
        here = set(keys)
        items: list[T]
        if len(here) == len(keys) and previous.isdisjoint(here):
            items = list(built)  # the usual page: nothing repeats
        else:
            items, here = [], set()
            for item, item_key in zip(built, keys, strict=True):
                if item_key not in previous and item_key not in here:
                    here.add(item_key)
                    items.append(item)
        for raw in raw_items[first:]:
            if budget is not None and len(items) >= budget:
                return tuple(items), keys, False
            item = structure(raw) if structure is not None else raw
            item_key = key(item)
            keys.append(item_key)
            if item_key not in previous and item_key not in here:
                here.add(item_key)
                items.append(item)
        return tuple(items), keys, True


class RecentKeys:
    """The keys of a walk's last pages: at least ``limit`` keys' worth of pages, at most
    twice that. Two sets: new keys go into the newer; once it holds ``limit`` it becomes
    the older and the older is forgotten (every step a set operation, in C)."""

    __slots__ = ("_limit", "_newer", "_older")

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._newer: set[Hashable] = set()
        self._older: set[Hashable] = set()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._newer or key in self._older

    def __len__(self) -> int:
        return len(self._newer) + len(self._older)

    def isdisjoint(self, keys: set[Hashable]) -> bool:
        return keys.isdisjoint(self._newer) and keys.isdisjoint(self._older)

    def add(self, keys: Iterable[Hashable]) -> None:
        self._newer.update(keys)
        if len(self._newer) >= self._limit:
            self._older, self._newer = self._newer, set()


def _structure_many(structure: Callable[[Any], T]) -> Callable[[Sequence[Any]], Sequence[T]]:
    """Builds a page's items at once (a structurer has its own way; any other callable is
    called item by item)."""
    if isinstance(structure, WireStructurer):
        return structure.many

    def many(raw_items: Sequence[Any]) -> Sequence[T]:
        return list(map(structure, raw_items))

    return many


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
    if page.offset is not None:
        return f"offset {page.offset}"
    return "a cursor"
