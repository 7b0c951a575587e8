"""A standalone receiver keeps taking valid deliveries through a slowloris attack.

The receiver runs in a child process whose file-descriptor limit is 1,024, served with
its default limits. A second child opens 1,100 connections that send half a request head,
or a whole signed head and no body, and then nothing (each reconnecting when cut, after a
pause, up to five times). Meanwhile this process posts signed deliveries on fresh
connections, retrying a refused one as a vendor does (at most three tries): every one must
be accepted, each within a few seconds, although the attackers alone would hold every
descriptor the receiver has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers import rsa_keypair, rsa_sign

ATTACKERS = 1_100
DELIVERIES = 30
TRIES = 3
FD_LIMIT = 1_024
KEY, PUBLIC = rsa_keypair()
ROOT = str(Path(__file__).resolve().parents[2])

CHILD = """
import asyncio, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))
sys.path.insert(0, {root!r})
from agentcloud import WebhookReceiver

async def main():
    async with WebhookReceiver.serve("127.0.0.1", 0, public_key={pem!r}) as hooks:
        print(hooks.url, flush=True)
        # Serve until the parent closes our stdin (bounded: the test's own timeout).
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), 120)
        print("accepted", hooks.stats.accepted, flush=True)

asyncio.run(main())
"""


ATTACKER = """
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
sys.path.insert(0, {root!r})
from tests.reliability.test_webhook_server import ATTACKERS, STALLS, slowloris

async def main():
    stop, counts = asyncio.Event(), [0, 0]
    attackers = [asyncio.ensure_future(slowloris({port}, stop, counts, STALLS[{attack!r}]))
                 for _ in range(ATTACKERS)]
    for _ in range(1000):  # until every attacker has connected once (bounded)
        if counts[0] >= ATTACKERS:
            break
        await asyncio.sleep(0.01)
    print("ready", counts[0], flush=True)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), 120)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*attackers, return_exceptions=True), 20)
    print("connections", counts[0], "cut", counts[1], flush=True)

asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def child(script: str, log: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Python child running ``script``; its stdin closed (its signal to stop) on exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # A file, not a pipe: a child blocked on a full stderr pipe would look like a DoS.
        stderr=log,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.communicate(b""), 30)
        if process.returncode is None:
            process.kill()
            await process.wait()


#: What an attacker sends before it goes quiet: half a head, or a whole signed head whose
#: body never comes (the receiver is then busy reading it).
STALLS = {
    "slow heads": b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Le",
    "slow bodies": (
        b"POST /webhooks HTTP/1.1\r\nHost: x\r\nvideosdk-signature: AAAA\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    ),
}


async def slowloris(port: int, stop: asyncio.Event, counts: list[int], stall: bytes) -> None:
    """Holds a connection with half a request head; reconnects when dropped (bounded).
    ``counts`` is [connections made, reconnects]."""
    reconnects = counts
    for _ in range(5):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            reconnects[1] += 1
            await asyncio.sleep(0.05)
            continue
        counts[0] += 1
        try:
            writer.write(stall)
            await writer.drain()
            stop_wait = asyncio.ensure_future(stop.wait())
            dropped = asyncio.ensure_future(reader.read(1))
            await asyncio.wait({stop_wait, dropped}, return_when=asyncio.FIRST_COMPLETED)
            for pending in (stop_wait, dropped):
                pending.cancel()
            if stop.is_set():
                return
            reconnects[1] += 1
            await asyncio.sleep(0.2)  # cut: come back for more, a moment later
        except OSError:
            reconnects[1] += 1
        finally:
            writer.transport.abort()


async def deliver(http: aiohttp.ClientSession, url: str, number: int) -> tuple[bool, float]:
    """Posts one signed delivery, trying again when refused; (accepted, seconds taken)."""
    body = json.dumps(
        {"webhookType": "ai-deployment-session-started", "data": {"sessionId": f"s{number}"}}
    ).encode()
    began = time.monotonic()
    for _ in range(TRIES):
        try:
            async with http.post(
                url,
                data=body,
                headers={"videosdk-signature": rsa_sign(body, KEY)},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                if response.status == 200:
                    return True, time.monotonic() - began
        except aiohttp.ClientError:
            continue
    return False, time.monotonic() - began


@pytest.mark.parametrize("attack", list(STALLS))
async def test_valid_deliveries_get_through_1100_slowloris_connections(attack: str) -> None:
    root = ROOT
    server_script = textwrap.dedent(CHILD.format(limit=FD_LIMIT, root=root, pem=PUBLIC))
    with tempfile.TemporaryFile() as log, tempfile.TemporaryFile() as attacker_log:
        async with child(server_script, log) as server:
            assert server.stdout is not None
            line = await asyncio.wait_for(server.stdout.readline(), 30)
            url = line.decode().strip()
            assert url.startswith("http://127.0.0.1:"), url
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            attack_script = textwrap.dedent(ATTACKER.format(root=root, port=port, attack=attack))
            async with child(attack_script, attacker_log) as attackers:
                assert attackers.stdout is not None
                ready = await asyncio.wait_for(attackers.stdout.readline(), 30)
                assert ready.split()[:1] == [b"ready"], ready
                connector = aiohttp.TCPConnector(force_close=True)
                async with aiohttp.ClientSession(connector=connector) as http:
                    results = [await deliver(http, url, n) for n in range(DELIVERIES)]
        log.seek(0)
        errors = log.read().decode(errors="replace")
    accepted = sum(ok for ok, _ in results)
    slowest = max(seconds for _, seconds in results)
    assert accepted == DELIVERIES, f"{accepted} of {DELIVERIES} got through; {errors[-2000:]}"
    assert "Error handling request" not in errors, errors[-2000:]
    assert slowest < 5.0, f"a delivery took {slowest:.1f}s"
