"""The emulator in a process of its own, for the benchmarks.

    python -m benchmarks.emulator_server --port 0 --sessions 100000 --latency-ms 0

prints one JSON line (``url``, the four credentials, ``deployment_id``, ``pid``), then serves
until its standard input closes. Each line it reads on standard input is a command, answered
with one JSON line on standard output:

``stats``  the process's CPU seconds so far, the TCP connections accepted (and distinct client
           ports seen, connections open now, most open at once) since the last ``reset``, and
           the requests received since then.
``reset``  zeroes those counters and empties the emulator's request log.

The fast server (``fast_server``: fixed pre-encoded answers) measures what the
emulator's own work adds to a figure.

What differs from ``agentcloud emulator`` is for speed and invisible on the wire: the
quicker path of ``_speedups`` (ended VideoSDK sessions rendered once), and
``--instant-sessions``, which gives new sessions a zero-length life so that sessions started
by the thousand do not pile up in the emulator's active set, which it walks on every
request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agentcloud.testing import Emulator, Lifecycle

from . import _speedups as speedups

__all__ = ["ConnectionCounter", "main"]

class ConnectionCounter:
    """Counts the TCP connections the server accepts, by wrapping aiohttp's protocol hooks."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.peak_open = 0
        self.ports: set[int] = set()

    def install(self) -> None:
        made = web.RequestHandler.connection_made
        lost = web.RequestHandler.connection_lost
        counter = self

        def connection_made(handler: web.RequestHandler, transport: asyncio.BaseTransport) -> None:
            counter.accepted += 1
            counter.open += 1
            counter.peak_open = max(counter.peak_open, counter.open)
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple) and len(peer) >= 2:
                counter.ports.add(int(peer[1]))
            made(handler, transport)

        def connection_lost(handler: web.RequestHandler, exc: BaseException | None) -> None:
            counter.open -= 1
            lost(handler, exc)

        setattr(web.RequestHandler, "connection_made", connection_made)  # noqa: B010
        setattr(web.RequestHandler, "connection_lost", connection_lost)  # noqa: B010

    def reset(self) -> None:
        self.accepted = 0
        self.peak_open = self.open
        self.ports = set()


async def _commands(
    counter: ConnectionCounter, requests: Callable[[], int], clear: Callable[[], None]
) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = line.decode().strip()
        answer: dict[str, Any]
        if command == "stats":
            answer = {
                "cpu": time.process_time(),
                "accepted": counter.accepted,
                "ports": len(counter.ports),
                "open": counter.open,
                "peak_open": counter.peak_open,
                "requests": requests(),
            }
        elif command == "reset":
            counter.reset()
            clear()
            answer = {"ok": True}
        else:
            answer = {"error": f"unknown command {command!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def _announce(info: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({**info, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()


async def _serve(args: argparse.Namespace) -> None:
    counter = ConnectionCounter()
    counter.install()
    emulator = Emulator(
        host=args.host,
        port=args.port,
        seed=0,
        latency=args.latency_ms / 1000.0,
        lifecycle=Lifecycle(start_delay=0.0, run_duration=0.0) if args.instant_sessions else None,
    )
    if args.sessions:
        emulator.seed_sessions("videosdk", args.sessions)
    if args.pipecat_sessions:
        emulator.seed_sessions("pipecat", args.pipecat_sessions)
    speedups.install(emulator)
    await emulator.start()
    try:
        _announce(
            {
                "url": emulator.url,
                "videosdk_api_key": emulator.videosdk_api_key,
                "videosdk_secret": emulator.videosdk_secret,
                "pipecat_api_key": emulator.pipecat_api_key,
                "pipecat_public_key": emulator.pipecat_public_key,
                "deployment_id": emulator.videosdk_deployment_id,
            }
        )
        log = emulator.requests
        await _commands(counter, lambda: len(log) + log.dropped, emulator.clear_requests)
    finally:
        await emulator.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sessions", type=int, default=0, help="VideoSDK sessions to seed")
    parser.add_argument("--pipecat-sessions", type=int, default=0, help="Pipecat sessions")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--instant-sessions", action="store_true", help="new sessions end as they start"
    )
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
