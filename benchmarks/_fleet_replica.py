"""The other replica of figures 8 and 9: ``python -m benchmarks._fleet_replica ROLE CONFIG``.

``watch``: for each session id it reads on stdin, sets ``fleet.watch`` on it, answers
``ready``, and once the event comes prints the wall time it came (``time.time()``, which
every process on the machine shares).

``hold``: starts ``count`` sessions under ``async with`` on a fleet-leased client, prints
``ready`` once every lease is in Redis, and waits to be killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import redis.asyncio as aioredis

from agentcloud import VideoSDK
from agentcloud.fleet import Fleet


def say(message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def watch(config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with Fleet(config["redis_url"], namespace=config["namespace"]) as fleet:
        while line := (await reader.readline()).strip():
            waiting = fleet.watch(line.decode())
            say({"ready": True})
            await asyncio.wait_for(waiting, 10)
            say({"at": time.time()})


async def hold(config: dict[str, Any]) -> None:
    fleet = Fleet(
        config["redis_url"],
        namespace=config["namespace"],
        lease_ttl=config["ttl"],
        heartbeat=config["ttl"] / 3,
    )
    client = VideoSDK(config["api_key"], config["secret"], base_url=config["url"], fleet=fleet)
    async with client, contextlib.AsyncExitStack() as stack:
        for _ in range(config["count"]):
            start = client.sessions.start(deployment_id=config["deployment_id"], tag="v1.0")
            await stack.enter_async_context(start)
        probe = aioredis.Redis.from_url(config["redis_url"])
        records = f"agentcloud:{{{config['namespace']}}}:leases"
        deadline = time.monotonic() + 30
        while await probe.hlen(records) < config["count"] and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the leases are in Redis: nothing here to wait on
        await probe.aclose()
        say({"ready": True})
        await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    roles = {"watch": watch, "hold": hold}
    asyncio.run(roles[sys.argv[1]](json.loads(sys.argv[2])))
