"""A minimal aiohttp server answering fixed, pre-encoded bodies: the "fast server".

    python -m benchmarks.fast_server --port 0 --sessions 100000

Against the emulator (about 280 µs of CPU a get, 0.5 ms a listing page) the server's share
hides the client's own cost; this server spends next to nothing, so a figure run against
it is the client's cost alone. It speaks the same protocol as ``emulator_server`` (one JSON
line with the URL and credentials, then ``stats`` and ``reset`` on standard input) and
answers, checking nothing (no credentials, no ids):

- ``GET /ai/v1/ai-deployment-sessions/{id}``: one fixed session (the emulator's own
  rendering of an ended one);
- ``GET /ai/v1/ai-deployment-sessions?page=&perPage=``: a page of a listing of
  ``--sessions`` sessions. Every page holds distinct session ids (the pager drops a
  repeated item and refuses a repeated page), so each page is a template encoded once
  with its page number joined in: a page costs one ``bytes.join``;
- ``POST /v1/public/{agent}/start``: a Pipecat start answer, one fixed body.

Bodies are the emulator's own views of seeded sessions, encoded the way it encodes them,
so the clients build exactly what they build from the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from aiohttp import web

from agentcloud.testing import Emulator
from agentcloud.testing.videosdk import _views as videosdk_views

from .emulator_server import ConnectionCounter, _announce, _commands

__all__ = ["Bodies", "main"]

SESSIONS = "/ai/v1/ai-deployment-sessions"
#: Replaced by each page's number (8 hex digits) in the ids of a page's template.
_MARK = "@@@@@@@@"
_JSON = "application/json"


def _encode(value: Any) -> bytes:
    # As the emulator writes its answers: compact.
    return json.dumps(value, separators=(",", ":")).encode()


class Bodies:
    """Every answer, encoded once; ``page(number, size)`` joins a page's number in."""

    def __init__(self, total: int) -> None:
        self.total = total
        emulator = Emulator(seed=0)
        emulator.seed_sessions("videosdk", 100)
        world = emulator.worlds["videosdk"]
        records = list(world.sessions.values())  # type: ignore[attr-defined]
        self._views = [videosdk_views.listed_view(record) for record in records]
        self.get = _encode(videosdk_views.detail_view(records[0]))
        self.start = _encode(
            {
                "sessionId": "6f1c2a57-9d3e-4b8a-a1f0-3c5e7d9b2a41",
                "dailyRoom": "https://cloud-0b7f3e2a9c4d.daily.co/6f1c2a579d3e4b8aa1f0",
                "dailyToken": (
                    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyIjoiNmYxYzJhNTc5ZDNlNGI4YWExZjAiLC"
                    "JkIjoiY2xvdWQtMGI3ZjNlMmE5YzRkIn0.c2lnbmF0dXJlLW9mLXRoZS1mYXN0LXNlcnZlcg"
                ),
            }
        )
        self._templates: dict[int, list[bytes]] = {}

    def _template(self, size: int) -> list[bytes]:
        parts = self._templates.get(size)
        if parts is None:
            items = []
            for index in range(size):
                view = dict(self._views[index % len(self._views)])
                view["sessionId"] = f"{_MARK}-0000-4000-8000-{index:012x}"
                items.append(view)
            text = _encode({"data": items, "pageInfo": {"totalItems": self.total}})
            parts = self._templates[size] = text.split(_MARK.encode())
        return parts

    def page(self, number: int, size: int) -> bytes:
        """Page ``number`` (from 1) of ``size`` items, the last one short."""
        start = (number - 1) * size
        count = max(0, min(size, self.total - start))
        return f"{number:08x}".encode().join(self._template(count))


async def _serve(args: argparse.Namespace) -> None:
    counter = ConnectionCounter()
    counter.install()
    bodies = Bodies(args.sessions)
    answered = 0

    def answer(body: bytes) -> web.Response:
        nonlocal answered
        answered += 1
        return web.Response(body=body, content_type=_JSON)

    async def get(request: web.Request) -> web.Response:
        return answer(bodies.get)

    async def listing(request: web.Request) -> web.Response:
        query = request.query
        try:
            number = max(1, int(query.get("page", "1")))
            size = max(1, min(1000, int(query.get("perPage", "20"))))
        except ValueError:
            return web.Response(status=400, body=b'{"message":"bad paging"}', content_type=_JSON)
        return answer(bodies.page(number, size))

    async def start(request: web.Request) -> web.Response:
        await request.read()
        return answer(bodies.start)

    def clear() -> None:
        nonlocal answered
        answered = 0

    app = web.Application()
    app.add_routes(
        [
            web.get(SESSIONS, listing),
            web.get(SESSIONS + "/{session_id}", get),
            web.post("/v1/public/{agent}/start", start),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    try:
        port = runner.addresses[0][1]
        _announce(
            {
                "url": f"http://{args.host}:{port}",
                "videosdk_api_key": "fast",
                "videosdk_secret": "the-fast-server-checks-no-secret-at-all",
                "pipecat_api_key": "sk_fast",
                "pipecat_public_key": "pk_fast",
                "deployment_id": "fast",
            }
        )
        await _commands(counter, lambda: answered, clear)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fast_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sessions", type=int, default=0, help="sessions in the listing")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
