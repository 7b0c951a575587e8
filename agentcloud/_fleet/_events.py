"""Webhook events shared through one Redis Stream: how they are written, and the reader
each event loop runs to wake its watchers and feed its iterators.

One reader (one blocking ``XREAD`` at a time) serves every watcher and iterator of its
loop. Each of them hears only events published after it registered, judged by the
stream's ids (Redis's clock, corrected by the skew measured against this machine's), so
an event already handed out never wakes a later watcher, and an event published while the
reader was between two reads is not missed. A reader with nobody to serve stops after a
while; the next watcher starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from ..errors import FleetUnavailableError
from ..models import SessionEvent, SessionEventType, SessionStatus
from ._link import BLOCK_SECONDS, Core, Link

__all__ = ["Subscription", "Tail", "decode_event", "encode_event"]

#: Entries one read takes at most.
BATCH = 512
#: Seconds a reader with nobody to serve goes on reading before it stops.
LINGER = 30.0
#: Milliseconds of clock error tolerated: an event this much older than a watcher may
#: still wake it (one poll too many, never one missed).
TOLERANCE_MS = 5.0
#: The longest pause (seconds) between reads while Redis fails.
RETRY_CAP = 2.0
#: The stream entry's field holding the event.
FIELD = b"event"


def encode_event(event: SessionEvent) -> bytes:
    """The event as the stream keeps it: ``to_dict(raw=True)`` as JSON."""
    return json.dumps(event.to_dict(raw=True), separators=(",", ":")).encode()


def decode_event(data: object) -> SessionEvent:
    """The event ``encode_event`` wrote; ValueError when ``data`` is not one."""
    if not isinstance(data, (bytes, str)):
        raise ValueError("the stream entry holds no event")
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("the event is not a JSON object")
    received = value.get("received_at")
    if not isinstance(received, str):
        raise ValueError("the event has no received_at")
    received_at = datetime.fromisoformat(received)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    raw = value.get("raw")
    return SessionEvent(
        type=_member(SessionEventType, value.get("type"), SessionEventType.UNKNOWN),
        name=_text(value, "name", required=True) or "",
        session_id=_text(value, "session_id"),
        status=_member(SessionStatus, value.get("status"), SessionStatus.UNKNOWN),
        received_at=received_at,
        provider=_text(value, "provider", required=True) or "",
        room=_text(value, "room"),
        delivery_id=_text(value, "delivery_id"),
        raw=raw if isinstance(raw, dict) else {},
    )


def _text(value: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    found = value.get(name)
    if found is None and not required:
        return None
    if not isinstance(found, str):
        raise ValueError(f"the event's {name} is not text")
    return found


def _member(kind: Any, value: object, unknown: Any) -> Any:
    # A replica running a newer SDK may know a status this one does not: UNKNOWN, as from
    # a vendor, never an error.
    try:
        return kind(value)
    except ValueError:
        return unknown


def _now_ms() -> float:
    return time.time() * 1000.0


def _entry_ms(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    millis, _, sequence = text.partition("-")
    return int(millis), int(sequence or 0)


class Subscription:
    """One ``fleet.events(...)`` iteration: a bounded queue of the events it matches.

    When it is full the oldest event is dropped (and counted): a consumer that fell behind
    wants the newest news of its sessions.
    """

    def __init__(
        self,
        *,
        session_id: str | None,
        kind: SessionEventType | str | None,
        max_queue: int,
    ) -> None:
        self.session_id = session_id
        self.kind = kind
        self.since_ms = _now_ms()
        self.dropped = 0
        self._max = max_queue
        self._queue: deque[SessionEvent] = deque()
        self._ready = asyncio.Event()
        self._error: FleetUnavailableError | None = None

    def matches(self, event: SessionEvent) -> bool:
        if self.session_id is not None and event.session_id != self.session_id:
            return False
        kind = self.kind
        return kind is None or event.type is kind or event.name == kind

    def offer(self, event: SessionEvent) -> None:
        if len(self._queue) >= self._max:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    def fail(self, error: FleetUnavailableError) -> None:
        self._error = error
        self._ready.set()

    async def next(self) -> SessionEvent:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._error is not None:
                raise self._error
            self._ready.clear()
            await self._ready.wait()


class Tail:
    """The reader of the event stream for one event loop."""

    def __init__(self, core: Core, link: Link) -> None:
        self._core = core
        self._link = link
        self._watchers: dict[str, list[tuple[float, asyncio.Future[SessionEvent]]]] = {}
        self._subscriptions: set[Subscription] = set()
        self._position: tuple[int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, core: Core) -> Tail:
        """The current loop's reader (made on first use)."""
        link = core.links.current()
        tail = link.tail
        if tail is None:
            tail = link.tail = cls(core, link)
        assert isinstance(tail, Tail)
        return tail

    def watch(self, session_id: str) -> asyncio.Future[SessionEvent]:
        future: asyncio.Future[SessionEvent] = asyncio.get_running_loop().create_future()
        entry = (_now_ms(), future)
        self._watchers.setdefault(session_id, []).append(entry)
        future.add_done_callback(lambda _: self._forget(session_id, entry))
        self._ensure_running()
        return future

    def _forget(self, session_id: str, entry: tuple[float, asyncio.Future[SessionEvent]]) -> None:
        watchers = self._watchers.get(session_id)
        if watchers is not None and entry in watchers:
            watchers.remove(entry)
            if not watchers:
                del self._watchers[session_id]

    def subscribe(self, subscription: Subscription) -> None:
        subscription.since_ms = _now_ms()  # it hears what is published from now on
        self._subscriptions.add(subscription)
        self._ensure_running()

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def _busy(self) -> bool:
        return bool(self._watchers or self._subscriptions)

    def _ensure_running(self) -> None:
        if self._core.closed:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # (it reports its own failures as they come)
        closed = FleetUnavailableError("fleet events: the fleet is closed")
        for subscription in list(self._subscriptions):
            subscription.fail(closed)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        idle_since: float | None = None
        failures = 0
        measured = False
        while True:
            if self._busy():
                idle_since = None
            elif idle_since is None:
                idle_since = loop.time()
            elif loop.time() - idle_since >= LINGER:
                return
            try:
                if not measured:
                    await self._measure_skew()
                    measured = True
                self._dispatch(await self._read(self._start()))
            except Exception as caught:  # the reader must outlive any failure
                if self._core.closed:
                    return
                # An answer the reader cannot take apart is no better than no answer; a
                # reader that died of it would leave every iteration waiting forever.
                error = (
                    caught
                    if isinstance(caught, FleetUnavailableError)
                    else self._core.health.failure("event read", caught)
                )
                # Iterations learn of it (fleet operations raise); watchers stay pending,
                # so a wait() falls back on its polling.
                for subscription in list(self._subscriptions):
                    subscription.fail(error)
                failures += 1
                await asyncio.sleep(min(RETRY_CAP, 0.05 * 2 ** min(failures, 10)))
                continue
            failures = 0

    async def _measure_skew(self) -> None:
        """Redis's clock against this machine's: of a few round trips, the quickest says
        it best (the first may include opening the connection)."""

        async def samples(link: Link) -> list[tuple[float, float]]:
            found = []
            for _ in range(3):
                before = _now_ms()
                seconds, micros = await link.commands.time()
                after = _now_ms()
                found.append((after - before, seconds * 1000.0 + micros / 1000.0 - after))
            return found

        round_trip, offset = min(await self._core.call("clock", samples))
        self._core.skew_ms = offset + round_trip / 2.0

    def _start(self) -> str:
        """Where the next read starts: after the last entry read, or just before the
        oldest registration when that is later (older entries interest nobody)."""
        skew = self._core.skew_ms or 0.0
        registered = [since for entries in self._watchers.values() for since, _ in entries]
        registered += [subscription.since_ms for subscription in self._subscriptions]
        earliest = min(registered) if registered else _now_ms()
        floor = (max(0, int(earliest + skew - TOLERANCE_MS) - 1), 0)
        position = floor if self._position is None else max(self._position, floor)
        return f"{position[0]}-{position[1]}"

    async def _read(self, start: str) -> Any:
        stream = self._core.keys.events
        return await self._core.call(
            "event read",
            lambda link: link.blocking.xread(
                {stream: start}, count=BATCH, block=int(BLOCK_SECONDS * 1000)
            ),
            extra=BLOCK_SECONDS,
        )

    def _dispatch(self, reply: Any) -> None:
        skew = (self._core.skew_ms or 0.0) - TOLERANCE_MS
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                position = _entry_ms(entry_id)
                self._position = position
                try:
                    event = decode_event(fields.get(FIELD))
                except (ValueError, TypeError, KeyError):
                    self._core.health.warn(
                        "event decode", "fleet events: skipped a stream entry that is no event"
                    )
                    continue
                published = position[0]
                if event.session_id is not None:
                    for since, future in list(self._watchers.get(event.session_id, ())):
                        if since + skew <= published and not future.done():
                            future.set_result(event)
                for subscription in list(self._subscriptions):
                    if subscription.since_ms + skew <= published and subscription.matches(event):
                        subscription.offer(event)
