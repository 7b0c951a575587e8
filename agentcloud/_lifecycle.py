"""What every provider's sessions share: the start handle, held sessions, waiting.

Sessions bill by the minute, so a session started under ``async with`` is ended on every
way out of the block, cancellation included, and a client can end all it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from ._retry import RetryPolicy
from ._transport import within_deadline
from .errors import (
    AgentCloudError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    SessionFailedError,
)
from .models import Session, SessionStatus

__all__ = ["EventSource", "HeldSessions", "SessionStart", "end_shielded", "wait_for_status"]

logger = logging.getLogger("agentcloud")

S = TypeVar("S", bound=Session)

_PROGRESS = {
    SessionStatus.QUEUED: 0,
    SessionStatus.STARTING: 1,
    SessionStatus.RUNNING: 2,
    SessionStatus.STOPPING: 3,
    SessionStatus.ENDED: 4,
}


class HeldSessions:
    """The sessions a client started and has not ended, by id."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session

    def discard(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def snapshot(self) -> list[Session]:
        return list(self._sessions.values())


async def end_shielded(end: Callable[[], Awaitable[object]]) -> None:
    """Runs ``end`` to completion even if the caller is cancelled meanwhile.

    The cancellation is re-raised once the end has finished, so a cancelled task still
    stops, but never before its session stopped billing.
    """
    task = asyncio.ensure_future(end())
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
        except BaseException:
            break
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved here; the cancellation matters more
        raise asyncio.CancelledError
    task.result()


class SessionStart(Generic[S]):
    """What ``sessions.start(...)`` returns: await it for the session, or use it as
    ``async with`` to have the session ended on the way out (also on error or cancel)."""

    def __init__(
        self,
        start: Callable[[], Awaitable[S]],
        end: Callable[[str], Awaitable[object]],
    ) -> None:
        self._start = start
        self._end = end
        self._session: S | None = None
        self._used = False

    def _claim(self) -> None:
        if self._used:
            raise RuntimeError("a sessions.start(...) handle can be used only once")
        self._used = True

    async def _run(self) -> S:
        self._claim()
        return await self._start()

    def __await__(self) -> Generator[Any, None, S]:
        return self._run().__await__()

    async def __aenter__(self) -> S:
        self._claim()
        # Shielded: once the start request is out, the vendor may create the session
        # whether or not we are still listening, so a cancelled caller must not simply walk
        # away from it. The start runs to its end, and what it created is ended.
        starting = asyncio.ensure_future(self._start())
        try:
            self._session = await asyncio.shield(starting)
        except asyncio.CancelledError:
            try:
                await end_shielded(lambda: self._abandon(starting))
            except AgentCloudError:
                logger.warning("could not end a session whose start was cancelled", exc_info=True)
            raise
        return self._session

    async def _abandon(self, starting: asyncio.Future[S]) -> None:
        try:
            session = await starting
        except Exception:
            return  # the start failed: there is nothing to end
        with contextlib.suppress(NotFoundError):
            await self._end(session.id)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        if session is None:
            return
        try:
            await end_shielded(lambda: self._end(session.id))
        except NotFoundError:
            pass  # already gone: the goal of ending it holds
        except AgentCloudError:
            if exc_type is None:
                raise
            logger.warning(
                "could not end session %s while leaving its block after %s",
                session.id,
                exc_type.__name__,
                exc_info=True,
            )


class EventSource(Protocol):
    """Something that can wake a waiter when news of a session arrives (a WebhookReceiver)."""

    def watch(self, session_id: str) -> asyncio.Future[Any]: ...


async def _pause(
    sleep: Callable[[float], Awaitable[None]],
    seconds: float,
    session_id: str,
    events: EventSource | None,
) -> None:
    """Sleeps ``seconds``, or less when ``events`` brings news of the session."""
    if events is None:
        await sleep(seconds)
        return
    watcher = events.watch(session_id)
    sleeper = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait({watcher, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (watcher, sleeper):
            waiting.cancel()
        await asyncio.gather(sleeper, return_exceptions=True)


def _seconds(value: object) -> bool:
    """True for a number of seconds > 0 (infinity included, NaN and booleans not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value > 0


def _reached(status: SessionStatus, until: SessionStatus) -> bool:
    if until is SessionStatus.FAILED:
        return status is SessionStatus.FAILED
    if status in _PROGRESS and until in _PROGRESS:
        return _PROGRESS[status] >= _PROGRESS[until]
    return status is until


async def wait_for_status(
    get: Callable[[str], Awaitable[S]],
    session_id: str,
    *,
    until: SessionStatus | str,
    timeout: float | None,
    retry: RetryPolicy,
    poll_interval: float,
    max_poll_interval: float,
    events: EventSource | None = None,
) -> S:
    """Polls ``get`` with capped backoff until the session reaches ``until`` (or a later
    stage). Raises SessionFailedError if it fails first, RequestTimeoutError on timeout.
    With ``events``, news of the session (a webhook) ends a pause early."""
    try:
        target = SessionStatus.parse(until)
    except ValueError as error:
        raise InvalidRequestError("until", str(error)) from None
    # "not x > 0" rather than "x <= 0": NaN compares false with everything, and a NaN
    # timeout or interval would otherwise never end the wait.
    if timeout is not None and not _seconds(timeout):
        raise InvalidRequestError("timeout", "must be seconds > 0 or None")
    if not _seconds(poll_interval) or poll_interval == math.inf:
        raise InvalidRequestError("poll_interval", "must be seconds > 0")
    if not _seconds(max_poll_interval):
        raise InvalidRequestError("max_poll_interval", "must be seconds > 0")
    clock, sleep = retry.clock, retry.sleep
    give_up = None if timeout is None else clock() + timeout
    interval = float(poll_interval)
    last: S | None = None
    while True:
        # No poll outlives the wait: a request that stalls is cut when the timeout comes.
        try:
            session = await within_deadline(give_up, get(session_id))
        except RequestTimeoutError:
            if last is None or give_up is None or clock() < give_up:
                raise
            session = last  # no time left for this poll: the last one seen decides
        last = session
        if _reached(session.status, target):
            return session
        if session.status is SessionStatus.FAILED:
            raise SessionFailedError(session)
        if give_up is not None:
            left = give_up - clock()
            if left <= 0:
                raise RequestTimeoutError(
                    f"session {session_id} did not reach {target.value} within {timeout:g}s "
                    f"(last status {session.status.value})"
                )
            await _pause(sleep, min(interval, left), session_id, events)
        else:
            await _pause(sleep, interval, session_id, events)
        interval = min(interval * 1.5, max_poll_interval)
