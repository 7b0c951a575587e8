"""Helpers of the sync suites: counting connections, interrupting a blocking call, and
looking into a blocking client's loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any


class Connections:
    """The TCP connections the emulator's server accepts (its handlers' hooks, patched)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.peak = 0
        self.changed = threading.Condition()

    def made(self) -> None:
        with self.changed:
            self.accepted += 1
            self.open += 1
            self.peak = max(self.peak, self.open)

    def lost(self) -> None:
        with self.changed:
            self.open -= 1
            self.changed.notify_all()

    def wait_closed(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.open == 0, timeout)


@contextlib.contextmanager
def sigint_when(event: threading.Event, *, timeout: float = 10.0) -> Iterator[None]:
    """Sends SIGINT to this (the main) thread once ``event`` is set, as Ctrl-C does; the
    default handler turns it into KeyboardInterrupt wherever the thread then is."""
    main = threading.main_thread()
    assert threading.current_thread() is main, "signals reach the main thread only"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def press() -> None:
        if event.wait(timeout) and main.ident is not None:
            signal.pthread_kill(main.ident, signal.SIGINT)

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    try:
        yield
    finally:
        event.set()  # never press later than the block
        presser.join()
        signal.signal(signal.SIGINT, previous)


def idle_until_interrupted(limit: float = 10.0) -> None:
    """Blocks, as a bot's work in a ``with`` block would, until Ctrl-C (at most ``limit``
    seconds). In short slices: a signal that lands just as a wait begins, after the thread
    let go of the interpreter but before it sleeps, is only acted on when that wait ends."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.02)


def tasks_left(client: Any) -> list[asyncio.Task[Any]]:
    """The tasks running on a blocking client's loop, besides the one asking."""

    async def others() -> list[asyncio.Task[Any]]:
        here = asyncio.current_task()
        return [task for task in asyncio.all_tasks() if task is not here and not task.done()]

    result: list[asyncio.Task[Any]] = client._portal.run(others)
    return result


class OnRequest:
    """A client hook: sets ``event`` when the ``count``-th request of ``operation`` goes out,
    and runs ``then`` (on the client's loop) when the first answer of it comes back."""

    def __init__(self, operation: str, *, count: int = 1, then: Any = None) -> None:
        self.operation = operation
        self.count = count
        self.then = then
        self.seen = 0
        self.event = threading.Event()

    def on_request(self, info: Any) -> None:
        if info.operation == self.operation:
            self.seen += 1
            if self.seen >= self.count:
                self.event.set()

    def on_response(self, info: Any) -> None:
        if info.operation == self.operation and self.then is not None:
            then, self.then = self.then, None
            then()
