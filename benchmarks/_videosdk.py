"""Figures 1, 2, 3 and 7: VideoSDK gets and listings, against hand-written aiohttp code.

Each baseline is hand-written aiohttp code (``_handwritten``). The SDK does more for the
same answer (retries, error mapping, typed models with aware datetimes), and the figure is
what that costs. Figures 1, 2 and 7 run twice: against the emulator, and against the fast
server (``fast_server``: fixed pre-encoded answers), where the client's own cost is most of
the time; their "c" rows judge the client's CPU time itself.
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
from ._results import (
    Row,
    Sample,
    Target,
    cpu_ratio,
    interleaved,
    measure,
    median,
    notes_for,
    paired,
)
from ._server import EmulatorProcess, ServerInfo
from ._switch import ORJSON_INSTALLED, without_orjson

__all__ = ["FAST", "figure_1", "figure_2", "figure_3", "figure_7", "sdk_client"]


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
    *,
    server: str = "emulator",
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
        notes=notes_for(sdk, baseline, server=server),
    )


def _cpu_row(
    key: str,
    workload: str,
    baseline_name: str,
    sdk: list[Sample],
    baseline: list[Sample],
    limit: float,
    *,
    server: str = "server",
) -> Row:
    """A row judging the client's CPU time (this process's), SDK over baseline."""
    sdk_ms = median([s.cpu for s in sdk]) * 1000.0
    base_ms = median([s.cpu for s in baseline]) * 1000.0
    ratio = cpu_ratio(sdk, baseline)
    return Row(
        key=key,
        workload=workload,
        baseline_name=baseline_name,
        unit="cpu ms",
        sdk=sdk_ms,
        baseline=base_ms,
        figure=ratio if ratio is not None else float("inf"),
        figure_name="client CPU ratio",
        target=Target("<=", limit),
        notes=notes_for(sdk, baseline, server=server),
    )


FAST = "fast server"


async def _sequential_gets(sizes: Sizes, *, fast: bool) -> tuple[list[Sample], list[Sample]]:
    """Sequential gets by the SDK and by a hand-written loop, side by side."""
    with EmulatorProcess(sessions=0 if fast else sizes.gets, fast=fast) as server:
        info = server.info
        if fast:  # the fast server answers any id with the same session
            ids = [f"session-{n:06d}" for n in range(sizes.gets)]
        else:
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

        return await paired(sizes.rounds, sdk, baseline)


async def figure_1(sizes: Sizes) -> list[Row]:
    """Sequential ``sessions.get`` against a hand-written loop: on the emulator (time), on
    the fast server (time, and the client's CPU)."""
    emulated = await _sequential_gets(sizes, fast=False)
    fast = await _sequential_gets(sizes, fast=True)
    workload = f"{sizes.gets:,} sequential sessions.get"
    baseline = "aiohttp loop + json.loads"
    return [
        _ratio_row("1a", workload, baseline, *emulated, 1.15),
        _ratio_row("1b", f"{workload}, {FAST}", baseline, *fast, 1.2, server="server"),
        _cpu_row("1c", f"{workload}, {FAST}", baseline, *fast, 1.2),
    ]


async def _streams(
    sizes: Sizes, *, fast: bool, plain: bool
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """A long listing streamed by the SDK (and, with ``plain``, by the SDK without the
    speedups extra) and by a hand-written page loop, side by side."""
    with EmulatorProcess(sessions=sizes.stream, fast=fast) as server:
        info = server.info

        async def stream() -> Sample:
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

        async def stream_plain() -> Sample:
            with without_orjson():
                return await stream()

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

        if not plain:
            sdk, base = await paired(sizes.rounds, stream, baseline)
            return sdk, sdk, base
        sdk, sdk_plain, base = await interleaved(sizes.rounds, stream, stream_plain, baseline)
        return sdk, sdk_plain, base


async def figure_2(sizes: Sizes) -> list[Row]:
    """Streaming a long listing against a hand-written page loop: on the emulator (time),
    on the fast server (time, and the client's CPU with and without the speedups extra)."""
    sdk, _, base = await _streams(sizes, fast=False, plain=False)
    fast_sdk, fast_plain, fast_base = await _streams(sizes, fast=True, plain=ORJSON_INSTALLED)
    workload = f"stream {sizes.stream:,} sessions, per_page {PER_PAGE}"
    baseline = "aiohttp page loop yielding json.loads dicts"
    fast_workload = f"{workload}, {FAST}"
    rows = [
        _ratio_row("2a", workload, baseline, sdk, base, 1.3),
        _ratio_row("2b", fast_workload, baseline, fast_sdk, fast_base, 2.0, server="server"),
        _cpu_row("2c", f"{fast_workload}, json", baseline, fast_plain, fast_base, 2.0),
    ]
    if ORJSON_INSTALLED:
        with_speedups = f"{fast_workload}, speedups (orjson)"
        rows.append(_cpu_row("2d", with_speedups, baseline, fast_sdk, fast_base, 1.6))
    return rows


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


async def _concurrent_gets(
    sizes: Sizes, *, fast: bool
) -> tuple[list[Sample], list[Sample], list[int], list[int]]:
    """Many concurrent gets by one SDK client and by a gather on one ClientSession; also
    the connections each opened."""
    with EmulatorProcess(sessions=0 if fast else sizes.concurrent_gets, fast=fast) as server:
        info = server.info
        if fast:
            ids = [f"session-{n:06d}" for n in range(sizes.concurrent_gets)]
        else:
            ids = await session_ids(info, sizes.concurrent_gets)
        sdk_connections: list[int] = []
        base_connections: list[int] = []

        async def sdk() -> Sample:
            # A fresh client per round: every connection it uses is opened in the run.
            async with sdk_client(info, max_connections=CONNECTIONS) as client:

                async def body() -> None:
                    await asyncio.gather(*(client.sessions.get(sid) for sid in ids))

                sample = await measure(server, body)
            sdk_connections.append(server.stats().accepted)
            return sample

        async def baseline() -> Sample:
            headers = raw_headers(info)
            base = f"{info.url}{SESSIONS}/"
            connector = aiohttp.TCPConnector(limit=CONNECTIONS)
            async with aiohttp.ClientSession(connector=connector) as http:

                async def body() -> None:
                    await asyncio.gather(*(raw_get_json(http, base + sid, headers) for sid in ids))

                sample = await measure(server, body)
            base_connections.append(server.stats().accepted)
            return sample

        sdk_samples, base_samples = await paired(sizes.rounds, sdk, baseline)
    return sdk_samples, base_samples, sdk_connections, base_connections


CONNECTIONS = 100


async def figure_7(sizes: Sizes) -> list[Row]:
    """Many concurrent gets on one client, against ``asyncio.gather`` on one ClientSession,
    on the emulator and on the fast server."""
    sdk_samples, base_samples, sdk_connections, base_connections = await _concurrent_gets(
        sizes, fast=False
    )
    fast_sdk, fast_base, _, _ = await _concurrent_gets(sizes, fast=True)
    workload = f"{sizes.concurrent_gets:,} concurrent sessions.get, one client"
    baseline = "asyncio.gather on one ClientSession"
    return [
        _ratio_row("7a", workload, baseline, sdk_samples, base_samples, 1.15),
        Row(
            key="7b",
            workload=workload,
            baseline_name="the client's max_connections",
            unit="connections",
            sdk=float(max(sdk_connections)),
            baseline=float(CONNECTIONS),
            figure=float(max(sdk_connections)),
            figure_name="connections opened",
            target=Target("<=", float(CONNECTIONS)),
            notes={"baseline_connections": float(max(base_connections))},
        ),
        _ratio_row(
            "7c", f"{workload}, {FAST}", baseline, fast_sdk, fast_base, 1.15, server="server"
        ),
    ]


def _expect(count: int, wanted: int) -> None:
    if count != wanted:
        raise RuntimeError(f"expected {wanted} items, got {count}")
