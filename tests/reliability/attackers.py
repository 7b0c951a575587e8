"""Loopback attackers for the reliability suites: a raw HTTP server that sends what no
server library would, and a watch on how long the event loop was blocked.

They measure; they never sleep to make an assertion true.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any


class RawServer:
    """A loopback TCP server answering each request with bytes ``answer`` writes itself.

    For answers no HTTP server library would send: endless or lying bodies, odd encodings,
    raw heads. Each connection carries one request (its head and a Content-Length body are
    read first); ``answer(writer, head)`` writes the reply. ``requests`` counts requests,
    ``sent`` the bytes written through :meth:`write`.
    """

    def __init__(self, answer: Callable[[RawServer, asyncio.StreamWriter, bytes], Awaitable[None]]):
        self.answer = answer
        self.requests = 0
        self.heads: list[bytes] = []
        self.sent = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            self.heads.append(head)
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":", 1)[1]))
            await self.answer(self, writer, head)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.transport.abort()

    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        self.sent += len(data)
        await writer.drain()

    async def stream(
        self, writer: asyncio.StreamWriter, chunk: bytes, total: int, *, chunked: bool = False
    ) -> None:
        """Writes ``chunk`` until ``total`` bytes went out or the client hung up."""
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
        written = 0
        while written < total:
            await self.write(writer, framed)
            written += len(chunk)
        if chunked:
            await self.write(writer, b"0\r\n\r\n")

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def http_head(status: int, headers: dict[str, str], *, version: str = "1.1") -> bytes:
    lines = [f"HTTP/{version} {status} X", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class LoopWatch:
    """Ticks on the event loop and keeps the longest gap between ticks: how long the loop
    was blocked while the block ran (measured, not waited for)."""

    def __init__(self, step: float = 0.005) -> None:
        self.step = step
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.step)
            now = loop.time()
            self.longest = max(self.longest, now - last - self.step)
            last = now

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.ensure_future(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class ServerThread:
    """Runs an async server (an async context manager such as :class:`RawServer`) on an
    event loop of its own thread, for synchronous callers such as the CLI's ``main``."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Any:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(
            self.server.__aexit__(None, None, None), self._loop
        ).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
