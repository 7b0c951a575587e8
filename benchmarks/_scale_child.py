"""One run of figure 11 in a fresh interpreter: stream N sessions at concurrency C (the
server may hold more; the stream stops at N).

    python -m benchmarks._scale_child URL N C

prints ``{"items": N, "seconds": ..., "peak_rss_mb": ...}``: the wall time of the stream
(the client warmed first: connection and token) and the peak RSS of this process
(``ru_maxrss``, interpreter and imports included; figure 11 compares two sizes).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from agentcloud import VideoSDK

from ._memory_child import peak_rss_mb

__all__ = ["main"]


async def stream(url: str, count: int, concurrency: int) -> tuple[int, float]:
    seen = 0
    async with VideoSDK(
        api_key="fast", secret="the-fast-server-checks-no-secret-at-all", base_url=url
    ) as client:
        await client.sessions.list(per_page=1, max_items=1).collect()  # warm
        start = time.perf_counter()
        listing = client.sessions.list(per_page=100, max_items=count, concurrency=concurrency)
        async for _ in listing:
            seen += 1
        seconds = time.perf_counter() - start
    return seen, seconds


def main(argv: list[str]) -> int:
    url, count, concurrency = argv[0], int(argv[1]), int(argv[2])
    seen, seconds = asyncio.run(stream(url, count, concurrency))
    print(json.dumps({"items": seen, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))
    return 0 if seen == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
