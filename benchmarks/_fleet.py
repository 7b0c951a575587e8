"""Figures 8 and 9: the fleet on the machine's Redis (``AGENTCLOUD_REDIS_URL``, default
redis://127.0.0.1:6379/0), across processes.

8: a signed webhook POSTed to replica A's receiver, until a waiter's ``fleet.watch`` in
another process (replica B) hears of it: p50 and p99 over the events, against the same
delivery heard by a watcher of the receiver itself, in its own process (no Redis).

9: a process holding sessions under ``async with`` on a fleet-leased client is killed with
SIGKILL right after its leases are written (the worst moment: a full TTL to run); a reaper
here, reaping every 50 ms, ends them all. The time from the kill to the last end, against
the lease TTL, which no reaper can beat.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud import VideoSDK, WebhookReceiver
from agentcloud.fleet import Fleet

from ._config import Sizes
from ._results import Row, Target
from ._server import ROOT, EmulatorProcess

__all__ = ["figure_8", "figure_9"]

REDIS_URL = os.environ.get("AGENTCLOUD_REDIS_URL") or "redis://127.0.0.1:6379/0"
#: How often the reaper of figure 9 looks for expired leases.
REAP_EVERY = 0.05


class _Replica:
    """``benchmarks._fleet_replica ROLE`` in a process of its own, talking JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, role: str, config: dict[str, Any]) -> _Replica:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks._fleet_replica",
            role,
            json.dumps(config),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()

    async def read(self, timeout: float = 60.0) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("the fleet replica exited early")
        return json.loads(line)

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def _namespace() -> AsyncIterator[str]:
    name = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        client = aioredis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"agentcloud:{{{name}}}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


class _Signer:
    """Signs VideoSDK-shaped webhook bodies, as VideoSDK does (RSA-SHA256, base64)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def delivery(self, session_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"webhookType": "ai-deployment-session-started", "data": {"sessionId": session_id}}
        ).encode()
        signature = self._key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return body, {
            "videosdk-signature": base64.b64encode(signature).decode(),
            "Content-Type": "application/json",
        }


async def _post(
    http: aiohttp.ClientSession, url: str, delivery: tuple[bytes, dict[str, str]]
) -> None:
    body, headers = delivery
    async with http.post(url, data=body, headers=headers) as answer:
        if answer.status != 200:
            raise RuntimeError(f"the receiver answered {answer.status}")
        await answer.read()


async def figure_8(sizes: Sizes) -> list[Row]:
    """Webhook on replica A to a waiter on replica B, against a waiter beside the receiver."""
    signer = _Signer()
    count = sizes.fleet_events
    async with (
        _namespace() as namespace,
        Fleet(REDIS_URL, namespace=namespace) as fleet,
        WebhookReceiver.serve(public_key=signer.public_pem, fleet=fleet, max_queue=10) as a,
        aiohttp.ClientSession() as http,
    ):
        assert a.url is not None
        config = {"redis_url": REDIS_URL, "namespace": namespace}
        replica = await _Replica.start("watch", config)
        try:
            across: list[float] = []
            beside: list[float] = []
            for number in range(count + 10):  # the first ten warm both paths up
                session_id = f"bench-{number}"
                await replica.send(session_id)
                await replica.read()  # ready: B watches the session
                local = a.watch(session_id)
                stamps: list[float] = []
                local.add_done_callback(lambda _, stamps=stamps: stamps.append(time.time()))
                delivery = signer.delivery(session_id)
                sent = time.time()
                await _post(http, a.url, delivery)
                await local
                heard_here = stamps[0]
                heard_there = (await replica.read())["at"]
                if number >= 10:
                    beside.append(heard_here - sent)
                    across.append(heard_there - sent)
        finally:
            await replica.close()
    across_ms = [value * 1000 for value in across]
    beside_ms = [value * 1000 for value in beside]
    workload = f"{count:,} webhooks, replica A to a waiter on replica B"
    rows = []
    for key, percent in (("8a", 50), ("8b", 99)):
        sdk = _percentile(across_ms, percent)
        rows.append(
            Row(
                key=key,
                workload=f"{workload} (p{percent})",
                baseline_name="a watcher beside the receiver, on replica A",
                unit="ms",
                sdk=sdk,
                baseline=max(_percentile(beside_ms, percent), 1e-3),
                figure=sdk,
                figure_name=f"ms p{percent}",
                target=Target("<", 50.0),
                notes={"max_ms": max(across_ms), "events": float(count)},
            )
        )
    return rows


async def figure_9(sizes: Sizes) -> list[Row]:
    """A killed holder's sessions, ended by a reaper in another process."""
    count, ttl = sizes.reaped_sessions, sizes.reap_lease_ttl
    with EmulatorProcess() as server:
        info = server.info
        async with _namespace() as namespace, Fleet(REDIS_URL, namespace=namespace) as fleet:
            holder = await _Replica.start(
                "hold",
                {
                    "redis_url": REDIS_URL,
                    "namespace": namespace,
                    "ttl": ttl,
                    "count": count,
                    "url": info.url,
                    "api_key": info.videosdk_api_key,
                    "secret": info.videosdk_secret,
                    "deployment_id": info.deployment_id,
                },
            )
            async with VideoSDK(
                info.videosdk_api_key, info.videosdk_secret, base_url=info.url
            ) as reaper:
                try:
                    await holder.read(timeout=120)
                    killed = time.monotonic()
                    holder.kill()
                    await holder.process.wait()
                    ended = 0
                    give_up = killed + ttl + 60
                    while ended < count and time.monotonic() < give_up:
                        ended += sum(item.ended for item in await fleet.reap([reaper]))
                        if ended < count:
                            await asyncio.sleep(REAP_EVERY)
                    seconds = time.monotonic() - killed
                finally:
                    holder.kill()
                    await holder.process.wait()
            if ended < count:
                raise RuntimeError(f"only {ended} of {count} sessions were reaped")
    return [
        Row(
            key="9",
            workload=f"reaper: {count} sessions of a SIGKILLed holder, lease TTL {ttl:g} s",
            baseline_name="the lease TTL",
            unit="s",
            sdk=seconds,
            baseline=ttl,
            figure=seconds,
            figure_name="s kill to last end",
            target=Target("<=", ttl + 2.0),
            notes={"after_ttl_s": seconds - ttl, "reap_every_s": REAP_EVERY},
        )
    ]
