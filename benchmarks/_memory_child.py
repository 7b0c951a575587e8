"""One run of figure 4 in a fresh interpreter: stream N sessions, print the peak RSS.

    VIDEOSDK_API_KEY=... VIDEOSDK_SECRET_KEY=... python -m benchmarks._memory_child URL N

prints ``{"items": N, "peak_rss_mb": ...}``. Peak RSS is ``ru_maxrss`` of this process, so
it includes the interpreter and the imports; figure 4 compares two sizes.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from agentcloud import VideoSDK

__all__ = ["main", "peak_rss_mb"]


def peak_rss_mb() -> float:
    # Linux reports KiB (macOS bytes; the benchmarks run on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def stream(url: str, count: int) -> int:
    seen = 0
    async with VideoSDK(base_url=url) as client:
        async for _ in client.sessions.list(per_page=100, max_items=count):
            seen += 1
    return seen


def main(argv: list[str]) -> int:
    url, count = argv[0], int(argv[1])
    seen = asyncio.run(stream(url, count))
    print(json.dumps({"items": seen, "peak_rss_mb": peak_rss_mb()}))
    return 0 if seen == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
