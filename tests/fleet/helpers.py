"""What the fleet's tests share: the machine's Redis, Redis servers of a test's own,
child processes, and bounded waiting."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis

from agentcloud.models import SessionEvent, SessionEventType

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"

T = TypeVar("T")


def redis_answers(host: str = REDIS_HOST, port: int = REDIS_PORT, timeout: float = 1.0) -> bool:
    """True when a Redis server on ``host:port`` answers PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def new_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def keys_of(namespace: str) -> str:
    """The pattern matching every key of ``namespace``."""
    return f"agentcloud:{{{namespace}}}:*"


async def namespace_keys(namespace: str, url: str = REDIS_URL) -> list[bytes]:
    client = aioredis.Redis.from_url(url)
    try:
        return [key async for key in client.scan_iter(match=keys_of(namespace), count=1000)]
    finally:
        await client.aclose()


async def wipe(namespace: str, url: str = REDIS_URL) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=keys_of(namespace), count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((REDIS_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of the test's own on a free port: ``start()``, ``stop()``, again."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                REDIS_HOST,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not redis_answers(port=self.port, timeout=0.2):
            assert self._process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer within 10s"
            time.sleep(0.02)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def eventually(
    check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Polls ``check`` (sync or async) until it returns something truthy, at most
    ``timeout`` seconds; returns it, or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {what or check}")
        await asyncio.sleep(interval)


def event(
    session_id: str | None = "s-1",
    *,
    kind: SessionEventType = SessionEventType.STARTED,
    name: str = "session-started",
    provider: str = "videosdk",
    **fields: Any,
) -> SessionEvent:
    return SessionEvent(
        type=kind,
        name=name,
        session_id=session_id,
        status=kind.status,
        received_at=datetime.now(UTC),
        provider=provider,
        **fields,
    )


class Child:
    """A Python process running ``tests.fleet.child ROLE``, talking JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process, role: str) -> None:
        self.process = process
        self.role = role

    @classmethod
    async def start(cls, role: str, **config: Any) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fleet.child",
            role,
            json.dumps(config),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        return cls(process, role)

    async def read(self, timeout: float = 20.0) -> Any:
        """The next JSON line the child prints."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise AssertionError(f"the {self.role} child exited: {await self.errors()}")
        return json.loads(line)

    async def read_until(self, stop: Callable[[Any], bool], timeout: float = 20.0) -> list[Any]:
        """Every line up to and including the first for which ``stop`` is true."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            line = await self.read(max(0.01, deadline - time.monotonic()))
            lines.append(line)
            if stop(line):
                return lines

    async def send(self, message: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()

    def close_input(self) -> None:
        """End of input: the child's signal to stop."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()

    def kill(self) -> None:
        """SIGKILL: no finally block, no aclose, nothing runs."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def errors(self) -> str:
        assert self.process.stderr is not None
        with contextlib.suppress(TimeoutError):
            return (await asyncio.wait_for(self.process.stderr.read(), 5)).decode()[-3000:]
        return ""

    async def finish(self, timeout: float = 20.0) -> int:
        """Closes its stdin (the signal to stop) and waits for it to exit; kills it after
        ``timeout``."""
        self.close_input()
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


class Silent:
    """A TCP server that accepts connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> int:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._held:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


class Garbled(Silent):
    """A Redis that answers every command with an integer (``:5``), except TIME, which it
    answers as Redis does: a reply of a shape no reader of the fleet expects."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[str] = []

    async def _command(self, reader: asyncio.StreamReader) -> list[bytes] | None:
        head = await reader.readline()
        if not head.startswith(b"*"):
            return None
        words = []
        for _ in range(min(int(head[1:]), 10_000)):
            size = int((await reader.readline())[1:])
            words.append((await reader.readexactly(size + 2))[:-2])
        return words

    async def __aenter__(self) -> int:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)
            with contextlib.suppress(ConnectionError, ValueError, asyncio.IncompleteReadError):
                while (words := await self._command(reader)) is not None and words:
                    name = words[0].decode().upper()
                    self.commands.append(name)
                    if name == "TIME":
                        now = time.time()
                        seconds, micros = str(int(now)).encode(), str(int(now % 1 * 1e6)).encode()
                        writer.write(
                            b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                            % (len(seconds), seconds, len(micros), micros)
                        )
                    else:
                        writer.write(b":5\r\n")
                    await writer.drain()

        self._server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port


class LoopThread:
    """An event loop on a thread of its own, as the sync client runs one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.submit(coroutine).result(10)  # type: ignore[no-any-return]


async def orphan(client: Any) -> None:
    """Stops the client's heartbeat and closes it without ending its sessions, as a
    process that died would."""
    listener = client._fleet_listener
    listener._closed = True
    if listener._task is not None:
        listener._task.cancel()
    client._held = type(client._held)()  # forget them: a dead process ends nothing
    await client.aclose()
