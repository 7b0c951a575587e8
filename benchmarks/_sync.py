"""Figure 10: what the blocking client costs per call over the async client it drives.

Both sides make the same sequential ``sessions.get`` calls against the same emulator. The
blocking side (``agentcloud.sync``) runs each call on its client's private loop thread and
waits for it, so the figure is the price of that hop between threads: scheduling the call
on the other loop, and waking the caller when it is done. The blocking calls are made from
inside the benchmark's own event loop, as a notebook cell makes them.
"""

from __future__ import annotations

import time

from agentcloud._sync._portal import Portal
from agentcloud.sync import VideoSDK as BlockingVideoSDK

from ._config import Sizes
from ._handwritten import session_ids
from ._results import Row, Sample, measure, paired
from ._server import EmulatorProcess, ServerInfo
from ._videosdk import FAST, _ratio_row, sdk_client

__all__ = ["figure_10"]


def blocking_client(info: ServerInfo) -> BlockingVideoSDK:
    return BlockingVideoSDK(
        api_key=info.videosdk_api_key, secret=info.videosdk_secret, base_url=info.url
    )


async def _gets(sizes: Sizes, *, fast: bool) -> tuple[list[Sample], list[Sample]]:
    with EmulatorProcess(sessions=0 if fast else sizes.gets, fast=fast) as server:
        info = server.info
        if fast:  # the fast server answers any id with the same session
            ids = [f"session-{n:06d}" for n in range(sizes.gets)]
        else:
            ids = await session_ids(info, sizes.gets)

        async def blocking() -> Sample:
            with blocking_client(info) as client:
                client.sessions.get(ids[0])  # warm: the loop's thread, connection, token

                async def body() -> None:
                    for session_id in ids:
                        client.sessions.get(session_id)

                return await measure(server, body)

        async def asynchronous() -> Sample:
            async with sdk_client(info) as client:
                await client.sessions.get(ids[0])

                async def body() -> None:
                    for session_id in ids:
                        await client.sessions.get(session_id)

                return await measure(server, body)

        return await paired(sizes.rounds, blocking, asynchronous)


#: Blocking calls of nothing timed for the bare hop's note.
_HOPS = 2_000


async def _nothing() -> None:
    return None


def bare_hop_us(count: int = _HOPS) -> float:
    """Microseconds of wall time a blocking call of a coroutine that does nothing takes:
    the hop to the client's loop thread and back, alone (the best of three runs). On a VM
    a wake of the other CPU is most of it."""
    portal = Portal("benchmark")
    try:
        portal.run(_nothing)  # the loop's thread started
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(count):
                portal.run(_nothing)
            best = min(best, time.perf_counter() - start)
        return best / count * 1e6
    finally:
        portal.close()


async def figure_10(sizes: Sizes) -> list[Row]:
    """Sequential ``sessions.get`` through the blocking client and through the async one,
    on the emulator and on the fast server."""
    emulated = await _gets(sizes, fast=False)
    fast = await _gets(sizes, fast=True)
    workload = f"{sizes.gets:,} sequential sessions.get, blocking client"
    baseline = "the async client, the same gets"
    rows = [
        _ratio_row("10a", workload, baseline, *emulated, 1.3),
        _ratio_row("10b", f"{workload}, {FAST}", baseline, *fast, 1.3, server="server"),
    ]
    hop = bare_hop_us(max(100, sizes.gets))
    for row in rows:
        row.notes["bare_hop_us"] = hop
        # What the gets cost each over the async client's, beside the bare hop.
        row.notes["extra_us_per_get"] = (row.sdk - row.baseline) * 1000.0 / sizes.gets
    return rows
