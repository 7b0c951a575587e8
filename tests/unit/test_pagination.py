"""Pager: order, stop rules, de-duplication, guards, prefetch and bounded concurrency."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

from agentcloud import InvalidRequestError, Page, Pager, ResponseDecodeError, VideoSDK
from tests.helpers import API_KEY, SECRET, FakeTime


class Listing:
    """A vendor listing of ``total`` items, newest first, that counts what it was asked."""

    def __init__(self, total: int, *, report_total: bool = True) -> None:
        self.items = [f"s{n}" for n in range(total)]
        self.report_total = report_total
        self.requested: list[int] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.gate: asyncio.Event | None = None

    async def fetch(self, index: int, per_page: int) -> Page[str]:
        self.requested.append(index)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            start = index * per_page
            return Page(
                items=tuple(self.items[start : start + per_page]),
                number=index + 1,
                total=len(self.items) if self.report_total else None,
            )
        finally:
            self.in_flight -= 1


def pager(listing: Listing, **kwargs: Any) -> Pager[str]:
    kwargs.setdefault("per_page", 10)
    return Pager(listing.fetch, key=lambda item: item, **kwargs)


@pytest.mark.parametrize("concurrency", [1, 3, 8])
@pytest.mark.parametrize(("total", "per_page"), [(95, 10), (100, 10), (1, 100), (250, 100)])
async def test_exact_item_sequence_across_pages(
    total: int, per_page: int, concurrency: int
) -> None:
    listing = Listing(total)
    items = await pager(listing, per_page=per_page, concurrency=concurrency).collect()
    assert items == listing.items
    # Last-page arithmetic: exactly ceil(total / per_page) requests, none past the end.
    assert sorted(listing.requested) == list(range(math.ceil(total / per_page)))


async def test_without_a_total_the_walk_stops_on_a_short_page() -> None:
    listing = Listing(25, report_total=False)
    assert await pager(listing).collect() == listing.items
    assert listing.requested == [0, 1, 2]


async def test_without_a_total_a_full_last_page_ends_on_the_empty_page() -> None:
    listing = Listing(20, report_total=False)
    assert await pager(listing).collect() == listing.items
    assert listing.requested == [0, 1, 2]


async def test_empty_listing() -> None:
    listing = Listing(0)
    pages = [page async for page in pager(listing).pages()]
    assert [page.items for page in pages] == [()]
    assert pages[0].total == 0
    assert await pager(listing).collect() == []


@pytest.mark.parametrize("max_items", [0, 1, 9, 10, 11, 37])
async def test_max_items_stops_early_and_fetches_no_more_than_needed(max_items: int) -> None:
    listing = Listing(100)
    items = await pager(listing, max_items=max_items, concurrency=4).collect()
    assert items == listing.items[:max_items]
    assert len(listing.requested) == math.ceil(max_items / 10)


async def test_each_iteration_walks_anew() -> None:
    listing = Listing(15)
    walk = pager(listing)
    assert await walk.collect() == await walk.collect()
    assert listing.requested == [0, 1, 0, 1]


async def test_items_shifted_by_a_new_session_are_not_yielded_twice() -> None:
    listing = Listing(30)

    async def shifting_fetch(index: int, per_page: int) -> Page[str]:
        page = await listing.fetch(index, per_page)
        if index == 0:
            listing.items.insert(0, "new")  # a start lands while page 0 is being read
        return page

    items = await Pager(shifting_fetch, key=lambda s: s, per_page=10).collect()
    assert items == [f"s{n}" for n in range(30)]
    assert len(items) == len(set(items))


async def test_a_repeated_page_ends_the_walk_with_an_error() -> None:
    async def stuck(index: int, per_page: int) -> Page[str]:
        return Page(items=tuple(f"s{n}" for n in range(per_page)), number=1, total=1000)

    with pytest.raises(ResponseDecodeError, match="same page twice"):
        await Pager(stuck, key=lambda s: s, per_page=10).collect()


async def test_concurrency_is_bounded_and_output_ordered() -> None:
    listing = Listing(400)
    listing.gate = asyncio.Event()
    seen: list[str] = []

    async def consume() -> None:
        async for item in pager(listing, concurrency=5):
            seen.append(item)

    task = asyncio.ensure_future(consume())
    for _ in range(5):
        await asyncio.sleep(0)
    listing.gate.set()
    await task
    assert seen == listing.items
    assert listing.peak_in_flight <= 5


async def test_prefetch_requests_the_next_page_before_the_caller_finishes() -> None:
    listing = Listing(30)
    requested_when_first_item_arrived: list[int] = []
    async for item in pager(listing):
        if item == "s0":
            await asyncio.sleep(0)
            requested_when_first_item_arrived = list(listing.requested)
    assert requested_when_first_item_arrived == [0, 1]


async def test_pages_held_in_memory_are_bounded() -> None:
    listing = Listing(2000)
    concurrency = 4
    position = 0
    async for _ in pager(listing, concurrency=concurrency):
        pages_reached = position // 10 + 1
        # Fetched but not yet consumed: at most `concurrency` pages beside the current one.
        assert len(listing.requested) <= pages_reached + concurrency
        position += 1
    assert listing.peak_in_flight <= concurrency


async def test_breaking_out_cancels_pages_in_flight() -> None:
    listing = Listing(1000)
    walk = pager(listing, concurrency=8).pages()
    first = await walk.__anext__()
    assert first.number == 1
    await walk.aclose()
    await asyncio.sleep(0)
    assert listing.in_flight == 0
    assert len(listing.requested) <= 1 + 8


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"max_items": -1}, "max_items"),
        ({"max_items": "5"}, "max_items"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 1.5}, "concurrency"),
    ],
)
def test_bad_pager_arguments(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        pager(Listing(1), **kwargs)
    assert caught.value.argument == argument


async def test_videosdk_list_walks_page_and_per_page_over_the_wire() -> None:
    total, per_page = 23, 5
    sessions = [{"sessionId": f"id{n}", "status": "completed"} for n in range(total)]
    asked: list[dict[str, str]] = []

    def page(url: Any, **kwargs: Any) -> CallbackResult:
        params = kwargs["params"]
        asked.append(params)
        number, size = int(params["page"]), int(params["perPage"])
        chunk = sessions[(number - 1) * size : number * size]
        return CallbackResult(
            payload={
                "data": chunk,
                "pageInfo": {
                    "totalItems": total,
                    "currentPage": number,
                    "perPage": size,
                    "total": total,
                },
            }
        )

    clock = FakeTime()
    with aioresponses() as mocked:
        mocked.get(re.compile(r".*/ai/v1/ai-deployment-sessions\?.*"), callback=page, repeat=True)
        async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
            ids = [s.id async for s in vs.sessions.list(per_page=per_page, concurrency=3)]
    assert ids == [f"id{n}" for n in range(total)]
    assert sorted(int(p["page"]) for p in asked) == [1, 2, 3, 4, 5]
    assert {p["perPage"] for p in asked} == {"5"}


def reference_walk(pages: list[list[tuple[int, int]]], max_items: int | None) -> list[Any]:
    """What a walk over ``pages`` yields, item by item as the pager's rules say: an item
    whose key an earlier page of the walk had, or this page before it, is dropped (the
    walks here are shorter than the pager's window)."""
    out: list[Any] = []
    previous: set[int] = set()
    fingerprints: set[frozenset[int]] = set()
    for number, page in enumerate(pages):
        if not page and number:
            break
        budget = None if max_items is None else max_items - len(out)
        items: list[Any] = []
        keys: list[int] = []
        complete = True
        for raw in page:
            if budget is not None and len(items) >= budget:
                complete = False
                break
            keys.append(raw[0])
            if raw[0] not in previous and raw[0] not in {item[1][0] for item in items}:
                items.append(("built", raw))
        if complete and keys:
            if frozenset(keys) in fingerprints:
                raise ResponseDecodeError("same page twice")
            fingerprints.add(frozenset(keys))
        out += items
        if (max_items is not None and len(out) >= max_items) or not keys:
            break
        previous |= set(keys)
    return out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    per_page=st.integers(1, 5),
    data=st.data(),
    max_items=st.one_of(st.none(), st.integers(0, 20)),
)
async def test_de_duplication_and_max_items_follow_the_rules_on_any_pages(
    per_page: int, data: st.DataObject, max_items: int | None
) -> None:
    # Keys repeat within pages, across boundaries and across the walk; the page is built
    # at once and repeats dropped after: the result must be the item-by-item rule's.
    count = data.draw(st.integers(0, 5))
    pages = [
        [(data.draw(st.integers(0, 6)), 100 * page + n) for n in range(per_page)]
        for page in range(count)
    ]

    async def fetch(index: int, size: int) -> Page[tuple[int, int]]:
        return Page(items=tuple(pages[index]) if index < len(pages) else (), number=index + 1)

    walk = Pager(
        fetch,
        key=lambda item: item[1][0],
        structure=lambda raw: ("built", raw),
        per_page=per_page,
        max_items=max_items,
    )
    try:
        expected: Any = reference_walk(pages, max_items)
    except ResponseDecodeError:
        expected = ResponseDecodeError
    try:
        got: Any = await walk.collect()
    except ResponseDecodeError:
        got = ResponseDecodeError
    assert got == expected
