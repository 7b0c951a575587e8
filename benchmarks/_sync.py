"""Figure 8: what the blocking client costs per call over the async client it drives.

Both sides make the same sequential ``sessions.get`` calls against the same emulator. The
blocking side (``agentcloud.sync``) runs each call on its client's private loop thread and
waits for it, so the figure is the price of that hop between threads: scheduling the call
on the other loop, and waking the caller when it is done. The blocking calls are made from
inside the benchmark's own event loop, as a notebook cell makes them.
"""

from __future__ import annotations

from agentcloud.sync import VideoSDK as BlockingVideoSDK

from ._config import Sizes
from ._handwritten import session_ids
from ._results import Row, Sample, measure, paired
from ._server import EmulatorProcess, ServerInfo
from ._videosdk import _ratio_row, sdk_client

__all__ = ["figure_10"]


def blocking_client(info: ServerInfo) -> BlockingVideoSDK:
    return BlockingVideoSDK(
        api_key=info.videosdk_api_key, secret=info.videosdk_secret, base_url=info.url
    )


async def figure_10(sizes: Sizes) -> list[Row]:
    """Sequential ``sessions.get`` through the blocking client and through the async one."""
    with EmulatorProcess(sessions=sizes.gets) as server:
        info = server.info
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

        blocking_samples, async_samples = await paired(sizes.rounds, blocking, asynchronous)
    return [
        _ratio_row(
            "10",
            f"{sizes.gets:,} sequential sessions.get, blocking client",
            "the async client, the same gets",
            blocking_samples,
            async_samples,
            1.3,
        )
    ]
