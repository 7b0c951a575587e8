"""A standalone receiver keeps taking valid deliveries through a slowloris attack.

The receiver runs in a child process whose file-descriptor limit is 1,024, served with
its default limits. This process opens 1,100 connections that send half a request head
and then nothing (reconnecting when dropped, up to a bounded number of times), and
meanwhile posts signed deliveries on fresh connections: every one must be accepted, each
within a few seconds, although 1,100 attackers alone would hold every descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator

import aiohttp
import pytest

from tests.helpers import rsa_keypair, rsa_sign

ATTACKERS = 1_100
DELIVERIES = 30
FD_LIMIT = 1_024
KEY, PUBLIC = rsa_keypair()

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


@contextlib.contextmanager
def descriptors(wanted: int) -> Iterator[None]:
    """Raises this process's soft fd limit for the attackers, and restores it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.fail(f"the attack needs {wanted} descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


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
        except OSError:
            reconnects[1] += 1
        finally:
            writer.transport.abort()


@pytest.mark.parametrize("attack", list(STALLS))
async def test_valid_deliveries_get_through_1100_slowloris_connections(attack: str) -> None:
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    script = textwrap.dedent(CHILD.format(limit=FD_LIMIT, root=root, pem=PUBLIC))
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # A file, not a pipe: a child blocked on a full stderr pipe would look like a DoS.
        stderr=log,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        url = line.decode().strip()
        assert url.startswith("http://127.0.0.1:"), url
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with descriptors(ATTACKERS + 256):
            stop = asyncio.Event()
            counts = [0, 0]
            attackers = [
                asyncio.ensure_future(slowloris(port, stop, counts, STALLS[attack]))
                for _ in range(ATTACKERS)
            ]
            for _ in range(1000):  # until every attacker has connected once (bounded)
                if counts[0] >= ATTACKERS:
                    break
                await asyncio.sleep(0.01)
            slowest = 0.0
            accepted = 0
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as http:
                for number in range(DELIVERIES):
                    body = json.dumps(
                        {
                            "webhookType": "ai-deployment-session-started",
                            "data": {"sessionId": f"s{number}"},
                        }
                    ).encode()
                    began = time.monotonic()
                    async with http.post(
                        url,
                        data=body,
                        headers={"videosdk-signature": rsa_sign(body, KEY)},
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        accepted += response.status == 200
                    slowest = max(slowest, time.monotonic() - began)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*attackers, return_exceptions=True), 20)
        log.seek(0)
        errors = log.read().decode(errors="replace")
        assert accepted == DELIVERIES, f"{accepted} of {DELIVERIES} got through; {errors[-2000:]}"
        assert "Error handling request" not in errors, errors[-2000:]
        assert slowest < 5.0, f"a delivery took {slowest:.1f}s"
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(child.communicate(b""), 30)
        if child.returncode is None:
            child.kill()
            await child.wait()
        log.close()
