"""The other processes of the fleet's tests: ``python -m tests.fleet.child ROLE CONFIG``.

Each role talks JSON lines: what it did on stdout, orders (or end of input) on stdin.

- ``hold``: starts ``count`` sessions under ``async with`` with a fleet, prints their ids
  once their leases are in Redis, then waits to be killed.
- ``reap``: reaps every ``interval`` seconds until its input ends, printing what it reaped.
- ``wait``: starts a session whose webhooks go to ``webhook_url``, prints every fleet event
  of it, waits for it to run with ``receiver=fleet`` (polling too rarely to matter), and
  stops at the first event named ``fence``.
- ``budget``: on "go", calls ``sessions.get`` for ``seconds`` with a fleet budget, then
  prints how many calls it made and how many retries the budget refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import redis.asyncio as aioredis

from agentcloud import RetryPolicy, VideoSDK, Webhook
from agentcloud.errors import AgentCloudError
from agentcloud.fleet import Fleet


def say(message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def orders() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def fleet_of(config: dict[str, Any]) -> Fleet:
    return Fleet(
        config["redis_url"],
        namespace=config["namespace"],
        lease_ttl=config.get("ttl", 30.0),
        heartbeat=config.get("heartbeat"),
    )


def client_of(config: dict[str, Any], **options: Any) -> VideoSDK:
    return VideoSDK(config["api_key"], config["secret"], base_url=config["base_url"], **options)


async def hold(config: dict[str, Any]) -> None:
    fleet = fleet_of(config)
    async with client_of(config, fleet=fleet) as client, contextlib.AsyncExitStack() as stack:
        ids = []
        for _ in range(config["count"]):
            start = client.sessions.start(deployment_id=config["deployment_id"], tag="v1.0")
            ids.append((await stack.enter_async_context(start)).id)
        probe = aioredis.Redis.from_url(config["redis_url"])
        records = f"agentcloud:{{{config['namespace']}}}:leases"
        deadline = time.monotonic() + 10
        while await probe.hlen(records) < len(ids) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # nothing here to wait on: the leases are in Redis
        await probe.aclose()
        say({"ready": ids})
        await asyncio.Event().wait()  # until SIGKILL


async def reap(config: dict[str, Any]) -> None:
    reader = await orders()
    stop = asyncio.ensure_future(reader.read())  # end of input stops the loop
    async with fleet_of(config) as fleet, client_of(config) as client:
        say({"started": True})
        while not stop.done():
            for item in await fleet.reap({"videosdk": client}):
                say({**item.to_dict(), "at": time.time()})
            await asyncio.wait({stop}, timeout=config["interval"])
    say({"done": True})


async def wait(config: dict[str, Any]) -> None:
    async with fleet_of(config) as fleet, client_of(config) as client:
        session = await client.sessions.start(
            deployment_id=config["deployment_id"],
            tag="v1.0",
            webhook=Webhook(config["webhook_url"]),
        )
        say({"session_id": session.id})
        fenced = asyncio.Event()

        async def listen() -> None:
            async for event in fleet.events(session_id=session.id):
                say({"event": event.name, "delivery_id": event.delivery_id})
                if event.name == "fence":
                    fenced.set()
                    return

        listening = asyncio.ensure_future(listen())
        started = time.monotonic()
        running = await client.sessions.wait(
            session.id, until="running", receiver=fleet, poll_interval=60, timeout=30
        )
        say({"waited": running.status.value, "seconds": time.monotonic() - started})
        await asyncio.wait_for(fenced.wait(), 30)
        await listening
        await client.sessions.end(session.id)


async def budget(config: dict[str, Any]) -> None:
    reader = await orders()
    async with fleet_of(config) as fleet:
        shared = fleet.budget("videosdk", rate=config["rate"], burst=config["burst"])
        policy = RetryPolicy(budget=shared, max_attempts=50, backoff_base=0.001, backoff_cap=0.002)
        async with client_of(config, retry=policy) as client:
            say({"ready": True})
            await reader.readline()
            calls = refused = 0
            until = time.monotonic() + config["seconds"]
            while time.monotonic() < until:
                calls += 1
                try:
                    await client.sessions.get(config["session_id"])
                except AgentCloudError as error:
                    refused += "retry budget" in str(error)
            say({"calls": calls, "refused": refused})


ROLES = {"hold": hold, "reap": reap, "wait": wait, "budget": budget}

if __name__ == "__main__":
    asyncio.run(ROLES[sys.argv[1]](json.loads(sys.argv[2])))
