"""A vendor that ignores paging cannot make a walk loop, repeat items, or cost more than
what was asked for.

A loopback vendor answers every page request with pages it chooses: two full pages in
turn (with no total, or a total of a million), an earlier page again in another order, a
page holding one item a hundred times, a single page of 200,000 items. The walk either
yields each item once or ends with ResponseDecodeError, in bounded time and memory; with
``max_items=10`` only ten items are ever built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from agentcloud import ResponseDecodeError, RetryPolicy, VideoSDK
from agentcloud._convert import WireStructurer

from .support import ScriptedServer

PER_PAGE = 100


def session(number: int) -> dict[str, Any]:
    return {
        "sessionId": f"s-{number:07d}",
        "status": "running",
        "createdAt": "2024-06-01T00:00:00Z",
    }


def pages(choose: Callable[[int], tuple[list[dict[str, Any]], int | None]]) -> ScriptedServer:
    """A vendor answering page N (1-based) with ``choose(N)``: (items, total or None)."""

    async def respond(request: web.Request) -> web.StreamResponse:
        number = int(request.query.get("page", "1"))
        items, total = choose(number)
        info: dict[str, Any] = {"currentPage": number, "perPage": PER_PAGE}
        if total is not None:
            info["totalItems"] = total
        return web.json_response({"data": items, "pageInfo": info})

    return ScriptedServer(respond)


PAGE_A = [session(n) for n in range(PER_PAGE)]
PAGE_B = [session(n) for n in range(PER_PAGE, 2 * PER_PAGE)]
PAGE_C = [session(n) for n in range(2 * PER_PAGE, 3 * PER_PAGE)]

HOSTILE: dict[str, Callable[[int], tuple[list[dict[str, Any]], int | None]]] = {
    "A, B, A, B ... with no total": lambda n: ([PAGE_A, PAGE_B][(n - 1) % 2], None),
    "A, B, A, B ... of a million": lambda n: ([PAGE_A, PAGE_B][(n - 1) % 2], 1_000_000),
    "A, B, C, A ...": lambda n: ([PAGE_A, PAGE_B, PAGE_C][(n - 1) % 3], None),
    "A, B, A reversed ...": lambda n: ([PAGE_A, PAGE_B, PAGE_A[::-1]][(n - 1) % 3], None),
    "A, B, A rotated by one ...": lambda n: (
        [PAGE_A, PAGE_B, PAGE_A[1:] + PAGE_A[:1]][(n - 1) % 3],
        None,
    ),
}


def client(url: str, **options: Any) -> VideoSDK:
    return VideoSDK(
        "vsk_pages_api_key_0123456789",
        "vsk_pages_secret_0123456789abcdef",
        base_url=url,
        retry=RetryPolicy(max_attempts=1),
        **options,
    )


@pytest.mark.parametrize("shape", list(HOSTILE))
async def test_a_vendor_ignoring_paging_is_caught(shape: str) -> None:
    async with pages(HOSTILE[shape]) as server, client(server.url) as vs:
        seen: list[str] = []

        async def walk() -> None:
            async for item in vs.sessions.list(per_page=PER_PAGE):
                seen.append(item.id)
                assert len(seen) <= 10_000, "the walk goes on and on"

        with pytest.raises(ResponseDecodeError):
            await walk()
        assert len(seen) == len(set(seen)), "an item was yielded twice"
        # Nothing is asked for past the page that repeats, but for the one page the
        # prefetch may already have asked for (it is cancelled).
        assert len(server.seen) <= first_repeat(HOSTILE[shape]) + 1


def first_repeat(choose: Callable[[int], tuple[list[dict[str, Any]], int | None]]) -> int:
    """The number of the first page whose set of sessions an earlier page had."""
    earlier: list[set[str]] = []
    for number in range(1, 100):
        ids = {item["sessionId"] for item in choose(number)[0]}
        if ids in earlier:
            return number
        earlier.append(ids)
    raise AssertionError("no page repeats")


async def test_an_item_repeated_within_a_page_is_yielded_once() -> None:
    def choose(number: int) -> tuple[list[dict[str, Any]], int | None]:
        return ([session(1)] * PER_PAGE, PER_PAGE) if number == 1 else ([], PER_PAGE)

    async with pages(choose) as server, client(server.url) as vs:
        ids = [item.id async for item in vs.sessions.list(per_page=PER_PAGE)]
    assert ids == ["s-0000001"]


async def test_max_items_builds_only_what_it_yields(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = [session(n) for n in range(200_000)]
    built = [0]
    structure = WireStructurer.__call__

    def counting(self: Any, wire: Any) -> Any:
        built[0] += 1
        return structure(self, wire)

    monkeypatch.setattr(WireStructurer, "__call__", counting)
    async with (
        pages(lambda number: (huge, len(huge))) as server,
        client(server.url, max_response_bytes=64 << 20) as vs,
    ):
        ids = [item.id for item in await vs.sessions.list(max_items=10).collect()]
    assert ids == [f"s-{n:07d}" for n in range(10)]
    assert built[0] <= 10, f"{built[0]} models built for max_items=10"


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("back", [2, 5, 16])
async def test_items_an_earlier_page_had_are_not_yielded_again(back: int, concurrency: int) -> None:
    """A listing that shifted by several pages (many sessions made while a window of
    pages was in flight) re-serves items of a page ``back`` pages before: each is yielded
    once, and the walk is otherwise whole and in order."""
    pages_in_all = back + 3

    def choose(number: int) -> tuple[list[dict[str, Any]], int | None]:
        total = pages_in_all * PER_PAGE
        if number > pages_in_all:
            return [], total
        fresh = [session(n) for n in range((number - 1) * PER_PAGE, number * PER_PAGE)]
        if number == back + 1:  # half of page 1 again, then half of this page's own
            return PAGE_A[PER_PAGE // 2 :] + fresh[: PER_PAGE // 2], total
        return fresh, total

    async with pages(choose) as server, client(server.url) as vs:
        ids = [item.id async for item in vs.sessions.list(concurrency=concurrency)]
    assert len(ids) == len(set(ids)), "an item was yielded twice"
    expected = [
        item["sessionId"]
        for number in range(1, pages_in_all + 1)
        for item in choose(number)[0]
        if number != back + 1 or item not in PAGE_A
    ]
    assert ids == expected


def test_a_walk_remembers_a_bounded_window_of_keys() -> None:
    """However long the walk, the keys it remembers stay within twice its window, and
    the last window's worth are always among them."""
    from agentcloud.pagination import RecentKeys

    window = 20 * PER_PAGE
    seen = RecentKeys(window)
    for index in range(1, 2_001):
        seen.add((index, n) for n in range(PER_PAGE))
        assert len(seen) <= 2 * window
        assert all((earlier, 0) in seen for earlier in range(max(1, index - 19), index + 1))
        assert not seen.isdisjoint({(index, PER_PAGE - 1)})
        assert seen.isdisjoint({(index + 1, 0)})
