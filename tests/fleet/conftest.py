from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator, Lifecycle

from .helpers import REDIS_HOST, REDIS_PORT, REDIS_URL, new_namespace, redis_answers, wipe

#: Sessions that run until ended, so a reaper has something to end.
RUNNING = Lifecycle(start_delay=0.05, run_duration=None, stop_delay=0.0)


@pytest.fixture(scope="session", autouse=True)
def machine_redis() -> None:
    if not redis_answers():
        pytest.fail(
            f"the fleet's tests need a Redis server on {REDIS_HOST}:{REDIS_PORT} "
            "(start one: redis-server --daemonize yes)",
            pytrace=False,
        )


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    name = new_namespace()
    yield name
    await wipe(name)


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def fleet(namespace: str) -> AsyncIterator[Fleet]:
    async with Fleet(REDIS_URL, namespace=namespace, lease_ttl=1.0, heartbeat=0.25) as shared:
        yield shared


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(lifecycle=RUNNING) as emulator:
        yield emulator
