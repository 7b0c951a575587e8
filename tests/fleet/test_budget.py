"""The shared retry budget: one token bucket in Redis, taken from atomically."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.asyncio as aioredis

from agentcloud import RetryPolicy
from agentcloud.errors import InvalidRequestError, ServerError
from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator, FaultKind, FaultPlan

from .helpers import REDIS_URL, Silent, free_port


def bucket(namespace: str, name: str = "videosdk") -> str:
    return f"agentcloud:{{{namespace}}}:budget:{name}"


async def test_every_replica_takes_from_one_bucket(
    fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with Fleet(REDIS_URL, namespace=namespace) as other:
        budgets = [replica.budget("videosdk", rate=0.001, burst=5) for replica in (fleet, other)]
        answers = await asyncio.gather(*(budgets[n % 2].try_spend() for n in range(12)))
    assert sorted(answers) == [False] * 7 + [True] * 5
    # An idle bucket goes away once it would be full again.
    assert 0 < await redis.pttl(bucket(namespace)) <= 5 / 0.001 * 1000 + 1000


async def test_the_bucket_refills_at_its_rate_by_redis_time(
    fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    budget = fleet.budget("videosdk", rate=2.0, burst=3)
    assert [await budget.try_spend() for _ in range(4)] == [True, True, True, False]
    # Move the bucket's last visit 1.5 s into the past: 3 tokens earned, 3 at most kept.
    at = int(await redis.hget(bucket(namespace), "at") or 0)
    await redis.hset(bucket(namespace), "at", str(at - 1_500_000))
    assert [await budget.try_spend() for _ in range(4)] == [True, True, True, False]
    at = int(await redis.hget(bucket(namespace), "at") or 0)
    await redis.hset(bucket(namespace), "at", str(at - 500_000))  # one token's worth
    assert [await budget.try_spend() for _ in range(2)] == [True, False]


async def test_budgets_of_different_names_are_apart(fleet: Fleet) -> None:
    first = fleet.budget("videosdk", rate=0.001, burst=1)
    second = fleet.budget("pipecat", rate=0.001, burst=1)
    assert [await first.try_spend(), await second.try_spend()] == [True, True]
    assert await first.try_spend() is False


async def test_a_retry_policy_spends_the_fleet_budget(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    budget = fleet.budget("videosdk", rate=0.001, burst=2)
    policy = RetryPolicy(budget=budget, max_attempts=10, backoff_base=0.001, backoff_cap=0.001)
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR], methods=["GET"])
    async with emu.videosdk(retry=policy) as vs:
        with pytest.raises(ServerError, match="retry budget") as caught:
            await vs.sessions.get("s-1")
    assert caught.value.attempts == 3  # the first try and the bucket's two retries
    assert float(await redis.hget(bucket(namespace), "tokens") or 9) < 1


async def test_a_budget_whose_redis_is_down_answers_at_once_from_a_local_bucket(
    namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Fleet(f"redis://127.0.0.1:{free_port()}/0", namespace=namespace) as fleet:
        budget = fleet.budget("videosdk", rate=0.001, burst=2)
        with caplog.at_level(logging.WARNING, "agentcloud"):
            started = time.monotonic()
            answers = [await budget.try_spend() for _ in range(5)]
            elapsed = time.monotonic() - started
    assert answers == [True, True, False, False, False]
    assert elapsed < 2.0
    assert caplog.text.count("local bucket") == 1  # once, not once per retry


async def test_a_budget_whose_redis_hangs_answers_within_half_a_second(
    namespace: str,
) -> None:
    async with (
        Silent() as port,
        Fleet(f"redis://127.0.0.1:{port}/0", namespace=namespace) as fleet,
    ):
        budget = fleet.budget("videosdk", rate=0.001, burst=3)
        started = time.monotonic()
        first = await budget.try_spend()
        waited = time.monotonic() - started
        started = time.monotonic()
        rest = [await budget.try_spend() for _ in range(3)]
        then = time.monotonic() - started
    assert [first, *rest] == [True, True, True, False]
    assert waited < 1.0  # one short timeout...
    assert then < 0.2  # ...then none while Redis was slow moments ago


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"provider": "", "rate": 1.0, "burst": 1}, "provider"),
        ({"provider": "videosdk", "rate": 0, "burst": 1}, "rate"),
        ({"provider": "videosdk", "rate": float("inf"), "burst": 1}, "rate"),
        ({"provider": "videosdk", "rate": 1.0, "burst": 0.5}, "burst"),
        ({"provider": "videosdk", "rate": 1.0, "burst": True}, "burst"),
    ],
)
def test_bad_budgets_are_refused(kwargs: dict[str, object], argument: str) -> None:
    fleet = Fleet(REDIS_URL)
    provider = kwargs.pop("provider")
    with pytest.raises(InvalidRequestError) as caught:
        fleet.budget(provider, **kwargs)  # type: ignore[arg-type]
    assert caught.value.argument == argument
