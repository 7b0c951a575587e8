"""Figures 1, 2, 3 and 7: VideoSDK gets and listings, against hand-written aiohttp code.

Each baseline is hand-written aiohttp code (``_handwritten``). The SDK does more for the
same answer (retries, error mapping, typed models with aware datetimes), and the figure is
what that costs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from agentcloud import VideoSDK

from ._config import Sizes
from ._handwritten import (
    PER_PAGE,
    SESSIONS,
    raw_get_json,
    raw_headers,
    raw_pages,
    raw_window,
    session_ids,
)
from ._results import Row, Sample, Target, interleaved, measure, median, notes_for, paired
from ._server import EmulatorProcess, ServerInfo

__all__ = ["figure_1", "figure_2", "figure_3", "figure_7"]


def sdk_client(info: ServerInfo, **kwargs: Any) -> VideoSDK:
    return VideoSDK(
        api_key=info.videosdk_api_key, secret=info.videosdk_secret, base_url=info.url, **kwargs
    )


def _ms(samples: list[Sample]) -> float:
    return median([s.wall for s in samples]) * 1000.0


def _ratio_row(
    key: str,
    workload: str,
    baseline_name: str,
    sdk: list[Sample],
    baseline: list[Sample],
    limit: float,
) -> Row:
    sdk_ms, base_ms = _ms(sdk), _ms(baseline)
    return Row(
        key=key,
        workload=workload,
        baseline_name=baseline_name,
        unit="ms",
        sdk=sdk_ms,
        baseline=base_ms,
        figure=sdk_ms / base_ms,
        figure_name="time ratio",
        target=Target("<=", limit),
        notes=notes_for(sdk, baseline),
    )


async def figure_1(sizes: Sizes) -> list[Row]:
    """Sequential ``sessions.get`` against a hand-written loop."""
    with EmulatorProcess(sessions=sizes.gets) as server:
        info = server.info
        ids = await session_ids(info, sizes.gets)

        async def sdk() -> Sample:
            async with sdk_client(info) as client:
                await client.sessions.get(ids[0])  # warm: connection, token

                async def body() -> None:
                    for session_id in ids:
                        await client.sessions.get(session_id)

                return await measure(server, body)

        async def baseline() -> Sample:
            headers = raw_headers(info)
            base = f"{info.url}{SESSIONS}/"
            async with aiohttp.ClientSession() as http:
                await raw_get_json(http, base + ids[0], headers)

                async def body() -> None:
                    for session_id in ids:
                        await raw_get_json(http, base + session_id, headers)

                return await measure(server, body)

        sdk_samples, base_samples = await paired(sizes.rounds, sdk, baseline)
    return [
        _ratio_row(
            "1",
            f"{sizes.gets:,} sequential sessions.get",
            "aiohttp loop + json.loads",
            sdk_samples,
            base_samples,
            1.15,
        )
    ]


async def figure_2(sizes: Sizes) -> list[Row]:
    """Streaming a long listing against a hand-written page loop."""
    with EmulatorProcess(sessions=sizes.stream) as server:
        info = server.info

        async def sdk() -> Sample:
            async with sdk_client(info) as client:
                await client.sessions.list(per_page=1, max_items=1).collect()  # warm
                count = 0

                async def body() -> None:
                    nonlocal count
                    async for _ in client.sessions.list(per_page=PER_PAGE):
                        count += 1

                sample = await measure(server, body)
            _expect(count, sizes.stream)
            return sample

        async def baseline() -> Sample:
            headers = raw_headers(info)
            async with aiohttp.ClientSession() as http:
                await raw_get_json(http, info.url + SESSIONS, headers, {"perPage": "1"})
                count = 0

                async def body() -> None:
                    nonlocal count
                    async for _ in raw_pages(http, info, headers, PER_PAGE):
                        count += 1

                sample = await measure(server, body)
            _expect(count, sizes.stream)
            return sample

        sdk_samples, base_samples = await paired(sizes.rounds, sdk, baseline)
    return [
        _ratio_row(
            "2",
            f"stream {sizes.stream:,} sessions, per_page {PER_PAGE}",
            "aiohttp page loop yielding dicts",
            sdk_samples,
            base_samples,
            1.3,
        )
    ]


async def figure_3(sizes: Sizes) -> list[Row]:
    """A listing under latency, walked with ``concurrency=N`` and with 1."""
    pages = sizes.pages
    latency = sizes.latency_ms / 1000.0
    with EmulatorProcess(sessions=pages * PER_PAGE, latency_ms=sizes.latency_ms) as server:
        info = server.info
        first_page: list[float] = []

        def walk(concurrency: int) -> Callable[[], Awaitable[Sample]]:
            async def run() -> Sample:
                async with sdk_client(info) as client:
                    await client.sessions.list(per_page=1, max_items=1).collect()  # warm
                    if concurrency > 1:
                        one = await measure(
                            None,
                            lambda: client.sessions.list(
                                per_page=PER_PAGE, max_items=PER_PAGE
                            ).collect(),
                        )
                        first_page.append(one.wall)
                    count = 0

                    async def body() -> None:
                        nonlocal count
                        pager = client.sessions.list(per_page=PER_PAGE, concurrency=concurrency)
                        async for _ in pager:
                            count += 1

                    sample = await measure(server, body)
                _expect(count, pages * PER_PAGE)
                return sample

            return run

        async def hand_written() -> Sample:
            headers = raw_headers(info)
            async with aiohttp.ClientSession() as http:
                await raw_get_json(http, info.url + SESSIONS, headers, {"perPage": "1"})
                count = 0

                async def body() -> None:
                    nonlocal count
                    async for item in raw_window(http, info, headers, sizes.concurrency):
                        count += len(item)

                sample = await measure(server, body)
            _expect(count, pages * PER_PAGE)
            return sample

        concurrent, sequential, floor = await interleaved(
            sizes.rounds, walk(sizes.concurrency), walk(1), hand_written
        )
    concurrent_ms, sequential_ms = _ms(concurrent), _ms(sequential)
    ideal_ms = (median(first_page) + math.ceil((pages - 1) / sizes.concurrency) * latency) * 1000
    workload = f"{pages} pages, {sizes.latency_ms:g} ms latency, concurrency={sizes.concurrency}"
    return [
        Row(
            key="3a",
            workload=workload,
            baseline_name="same SDK, concurrency=1",
            unit="ms",
            sdk=concurrent_ms,
            baseline=sequential_ms,
            figure=sequential_ms / concurrent_ms,
            figure_name="times faster",
            target=Target(">=", 5.0),
            notes=notes_for(concurrent, sequential),
        ),
        Row(
            key="3b",
            workload=workload,
            baseline_name=(
                f"ideal: first page + ceil({pages - 1}/{sizes.concurrency}) x "
                f"{sizes.latency_ms:g} ms"
            ),
            unit="ms",
            sdk=concurrent_ms,
            baseline=ideal_ms,
            figure=concurrent_ms / ideal_ms,
            figure_name="time ratio",
            target=Target("<=", 1.3),
            notes={
                "first_page_ms": median(first_page) * 1000,
                # The same walk hand-written on aiohttp: what this emulator allows at best.
                "hand_written_window_ratio": _ms(floor) / ideal_ms,
            },
        ),
    ]


async def figure_7(sizes: Sizes) -> list[Row]:
    """Many concurrent gets on one client, against ``asyncio.gather`` on one ClientSession."""
    with EmulatorProcess(sessions=sizes.concurrent_gets) as server:
        info = server.info
        ids = await session_ids(info, sizes.concurrent_gets)
        sdk_connections: list[int] = []
        base_connections: list[int] = []
        limit = 100

        async def sdk() -> Sample:
            # A fresh client per round: every connection it uses is opened in the run.
            async with sdk_client(info, max_connections=limit) as client:

                async def body() -> None:
                    await asyncio.gather(*(client.sessions.get(sid) for sid in ids))

                sample = await measure(server, body)
            sdk_connections.append(server.stats().accepted)
            return sample

        async def baseline() -> Sample:
            headers = raw_headers(info)
            base = f"{info.url}{SESSIONS}/"
            connector = aiohttp.TCPConnector(limit=limit)
            async with aiohttp.ClientSession(connector=connector) as http:

                async def body() -> None:
                    await asyncio.gather(*(raw_get_json(http, base + sid, headers) for sid in ids))

                sample = await measure(server, body)
            base_connections.append(server.stats().accepted)
            return sample

        sdk_samples, base_samples = await paired(sizes.rounds, sdk, baseline)
    workload = f"{sizes.concurrent_gets:,} concurrent sessions.get, one client"
    return [
        _ratio_row(
            "7a",
            workload,
            "asyncio.gather on one ClientSession",
            sdk_samples,
            base_samples,
            1.15,
        ),
        Row(
            key="7b",
            workload=workload,
            baseline_name="the client's max_connections",
            unit="connections",
            sdk=float(max(sdk_connections)),
            baseline=float(limit),
            figure=float(max(sdk_connections)),
            figure_name="connections opened",
            target=Target("<=", float(limit)),
            notes={"baseline_connections": float(max(base_connections))},
        ),
    ]


def _expect(count: int, wanted: int) -> None:
    if count != wanted:
        raise RuntimeError(f"expected {wanted} items, got {count}")
