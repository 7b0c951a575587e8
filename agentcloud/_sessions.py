"""Session lifecycles every provider shares: the one at-most-once start loop, the start
handle, held sessions and waiting.

Sessions bill by the minute, so:

- a start is sent at most once (:func:`start_at_most_once`): repeated only where the
  request provably had no effect, or where the provider's reconciler proved that the
  ambiguous attempt created nothing;
- a start that is under way finishes even when its caller is cancelled, or when
  ``asyncio.run`` cancels every task at interpreter shutdown; the session it made is then
  held by the client (so ``end_on_close`` or ``aclose()`` can end it), and ended at once if
  it was started under ``async with``;
- a session started under ``async with`` is ended on every way out of the block, and by
  ``aclose()`` if the client is closed while the block still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from ._checks import check_seconds, check_timeout
from ._redact import redact_known
from ._retry import RetryPolicy, spend
from ._tasks import finishing
from ._transport import Call, Reply, outcome_is_ambiguous, within_deadline
from .errors import (
    AgentCloudError,
    APIError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ResponseDecodeError,
    SessionFailedError,
    StartOutcomeUnknownError,
)
from .models import Session, SessionStatus

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = [
    "EventSource",
    "HeldSessions",
    "Inconclusive",
    "Reconciler",
    "Requeue",
    "SessionStart",
    "StartPlan",
    "end_shielded",
    "finish_shielded",
    "start_at_most_once",
    "wait_for_status",
]

logger = logging.getLogger("agentcloud")

S = TypeVar("S", bound=Session)
S_co = TypeVar("S_co", bound=Session, covariant=True)

_PROGRESS = {
    SessionStatus.QUEUED: 0,
    SessionStatus.STARTING: 1,
    SessionStatus.RUNNING: 2,
    SessionStatus.STOPPING: 3,
    SessionStatus.ENDED: 4,
}


class HoldListener(Protocol):
    """Told when a client starts holding a session and when it lets it go (the fleet's
    leases listen here)."""

    def held(self, session: Session, *, managed: bool) -> None: ...

    def released(self, session_id: str) -> None: ...


class HeldSessions:
    """The sessions a client started and has not ended, by id.

    ``managed`` ones were started under ``async with``: the client ends them when it is
    closed while their block still runs, ``end_on_close`` or not. Others are kept only
    with ``keep_unmanaged`` (a client that ends everything it started on close): a service
    that awaits a million starts and lets its bots end themselves would otherwise hold a
    million sessions no one will ever end through it.
    """

    def __init__(self, *, keep_unmanaged: bool = True) -> None:
        self._sessions: dict[str, Session] = {}
        self._managed: set[str] = set()
        self._keep_unmanaged = keep_unmanaged
        self.listeners: list[HoldListener] = []

    def add(self, session: Session, *, managed: bool = False) -> None:
        if managed or self._keep_unmanaged:
            self._sessions[session.id] = session
        if managed:
            self._managed.add(session.id)
        for listener in self.listeners:
            listener.held(session, managed=managed)

    def discard(self, session_id: str) -> None:
        if self._sessions.pop(session_id, None) is not None:
            self._managed.discard(session_id)
            for listener in self.listeners:
                listener.released(session_id)

    @property
    def keeps_unmanaged(self) -> bool:
        """Whether sessions that are not managed are held too (else forgotten)."""
        return self._keep_unmanaged

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def is_managed(self, session_id: str) -> bool:
        return session_id in self._managed

    def set_managed(self, session_id: str, managed: bool) -> None:
        """Makes a held session managed (ended on close) or merely held; listeners are told
        as when it was added. A session no longer held is left alone."""
        session = self._sessions.get(session_id)
        if session is None or (session_id in self._managed) == managed:
            return
        if managed:
            self._managed.add(session_id)
        else:
            self._managed.discard(session_id)
            if not self._keep_unmanaged:
                del self._sessions[session_id]
        for listener in self.listeners:
            listener.held(session, managed=managed)

    def snapshot(self, *, managed_only: bool = False) -> list[Session]:
        if managed_only:
            return [s for sid, s in self._sessions.items() if sid in self._managed]
        return list(self._sessions.values())


async def end_shielded(end: Callable[[], Awaitable[object]]) -> None:
    """Runs ``end`` to completion even if the caller is cancelled meanwhile.

    The cancellation is re-raised once the end has finished, so a cancelled task still
    stops, but never before its session stopped billing.
    """
    await finish_shielded(finishing(end()))


async def finish_shielded(task: asyncio.Future[Any]) -> None:
    """Waits for ``task`` (one that declines cancellation, see :func:`finishing`) to finish
    even if the caller is cancelled meanwhile, any number of times; then re-raises the
    cancellation, or else the task's error."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
        except BaseException:
            if task.done():
                break  # its own error, raised below
            raise  # not the task's (waiting from another loop, say): it is still running
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved here; the cancellation matters more
        raise asyncio.CancelledError
    task.result()


async def _reporting(
    start: Awaitable[S],
    answer: asyncio.Future[S],
    starts: set[asyncio.Task[Any]] | None,
    loop: asyncio.AbstractEventLoop,
) -> S | None:
    """Awaits ``start`` and settles ``answer`` with its outcome, unless the caller has
    given up on it (cancelled it), as ``asyncio.shield``'s outer future is settled.

    The task's own result is the session, or None when the start failed: its error went
    to ``answer``, so the task holds none that asyncio would report as never retrieved
    (no done callback needed). It leaves ``starts`` (the client's starts under way) as it
    ends, in the same step, rather than through a callback a loop turn later.
    """
    try:
        session = await start
    except asyncio.CancelledError:
        if not answer.done():
            answer.cancel()
        raise
    except Exception as error:
        if not answer.done():
            answer.set_exception(error)
        return None
    except BaseException as error:  # KeyboardInterrupt, SystemExit: they go on up
        if not answer.done():
            answer.set_exception(error)
        raise
    finally:
        if starts is not None:
            starts.discard(asyncio.current_task(loop))
    if not answer.done():
        answer.set_result(session)
    return session


class Inconclusive(Exception):
    """A reconciler could not tell whether the start created a session."""


class Reconciler(Protocol[S_co]):
    """Looks a start up by its marker after an ambiguous failure (a provider supplies it).

    The marker is whatever key the provider finds its starts by: a value it sent in the
    start's metadata, or the room a start went into. ``find`` returns the session the
    start made, None when it proves there is none (the listing reaches back past
    ``since``, the time the attempt was sent), or raises :class:`Inconclusive` (or an
    AgentCloudError) when it cannot tell.
    """

    async def find(self, marker: str, *, since: datetime) -> S_co | None: ...


@attrs.frozen(kw_only=True)
class Requeue:
    """Keeps re-sending a start that the vendor refused without acting on it (an agent at
    capacity), for up to ``seconds``: each pause is the refusal's Retry-After, else the
    retry policy's capped back-off. ``refused`` tells such a refusal from other errors.
    The pauses spend no retry budget: waiting for capacity is not a retry storm."""

    seconds: float
    refused: Callable[[AgentCloudError], bool]


@attrs.define(kw_only=True)
class StartPlan(Generic[S]):
    """What the start loop needs from a provider for one start (made for every start, so
    a plain slotted class, as :class:`~agentcloud._transport.Call` is).

    ``describe`` names the start in messages ("sessions.start of agent 'bot'"); ``hint``
    tells a caller what to check before starting again when the outcome is unknown.
    """

    call: Call
    structure: Callable[[Reply], S]
    describe: str
    hint: str
    reconciler: Reconciler[S] | None = None
    marker: str | None = None
    requeue: Requeue | None = None


_NEVER = datetime.min.replace(tzinfo=UTC)


def _may_still_appear(error: AgentCloudError) -> bool:
    """True when a start missing from the listing may yet be created, so "not listed"
    does not prove "not created": the vendor accepted it (a 2xx we could not read), or
    something gave up waiting while the vendor may still be working on it (our timeout, a
    gateway's 504). After a 5xx of the vendor's own, or a reset, it has finished with it."""
    if isinstance(error, (RequestTimeoutError, ResponseDecodeError)):
        return True
    return isinstance(error, APIError) and error.status == 504


async def start_at_most_once(
    transport: Transport,
    plan: StartPlan[S],
    *,
    held: HeldSessions,
    managed: bool,
    timeout: float | None,
) -> S:
    """Sends ``plan``'s start at most once and returns the session it made.

    The transport retries what provably had no effect (429, a connection never made, an
    answer saying the vendor did not act). After an ambiguous failure the provider's
    reconciler looks for the start's marker: found, that session is returned; proven
    absent, the start is tried again (spending the retry budget and within the deadline,
    like any retry); otherwise StartOutcomeUnknownError. With no reconciler every
    ambiguous failure is StartOutcomeUnknownError.
    """
    policy = transport.retry
    started = policy.clock()
    patience = plan.requeue.seconds if plan.requeue is not None else 0.0
    bound = max(policy.deadline, patience)
    deadline = started + bound
    label = f"the retry deadline of {bound:g}s"
    if timeout is not None and timeout < bound:
        deadline, label = started + timeout, f"the call's {timeout:g}s"
    queue_until = started + patience
    reconciler = plan.reconciler
    attempts = 0

    def unknown(error: AgentCloudError, why: str) -> StartOutcomeUnknownError:
        marker = plan.marker if plan.reconciler is not None else None
        outcome = StartOutcomeUnknownError(
            f"{plan.describe} failed ambiguously ({type(error).__name__}: {error}); {why} "
            f"{plan.hint}",
            marker=marker,
        )
        outcome.attempts = attempts
        return outcome

    async def run() -> S:
        nonlocal attempts
        tries = 0
        while True:
            tries += 1
            # When it was sent, for the reconciler's lookup (read only where there is one).
            sent_at = datetime.now(UTC) if reconciler is not None else _NEVER
            try:
                reply = await transport.request(plan.call)
                attempts += reply.attempts
                session = plan.structure(reply)
            except AgentCloudError as error:
                # The transport counts its requests on its errors; a 2xx the provider could
                # not read was counted with its reply above.
                attempts += error.attempts or 0
                if not outcome_is_ambiguous(error):
                    pause = _requeue_pause(plan.requeue, error, policy, tries, queue_until)
                    if pause is not None:
                        await policy.sleep(pause)
                        continue
                    error.attempts = attempts
                    raise
                if reconciler is None or plan.marker is None:
                    raise unknown(error, "a session may or may not exist.") from error
                try:
                    found = await reconciler.find(plan.marker, since=sent_at)
                except (Inconclusive, AgentCloudError) as lookup:
                    raise unknown(
                        error, f"looking it up did not settle it ({_reason(lookup)})."
                    ) from error
                if found is not None:
                    held.add(found, managed=managed)
                    return found
                if _may_still_appear(error):
                    raise unknown(
                        error, "it is not listed yet, and the vendor may still create it."
                    ) from error
                # The marker is nowhere: that attempt created nothing, so another is safe.
                delay = policy.backoff(tries - 1)
                if tries >= policy.max_attempts or policy.clock() + delay >= deadline:
                    error.attempts = attempts
                    raise
                if not await spend(transport.budget):
                    error.attempts = attempts
                    raise
                await policy.sleep(delay)
                continue
            held.add(session, managed=managed)
            return session

    return await within_deadline(deadline, run(), label=label)


def _requeue_pause(
    requeue: Requeue | None,
    error: AgentCloudError,
    policy: RetryPolicy,
    tries: int,
    until: float,
) -> float | None:
    """Seconds to wait before sending a refused start again, or None to give up."""
    if requeue is None or not requeue.refused(error):
        return None
    retry_after = error.retry_after if isinstance(error, APIError) else None
    pause = retry_after if retry_after is not None else policy.backoff(tries - 1)
    if policy.clock() + pause > until:
        return None
    return pause


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class SessionStart(Generic[S]):
    """What ``sessions.start(...)`` returns: await it for the session, or use it as
    ``async with`` to have the session ended on the way out (also on error or cancel).

    Either way the start itself runs to its end (bounded by its deadline) even if the
    caller is cancelled meanwhile: the session it made is then held by the client, and
    ended at once under ``async with``. A handle that is neither awaited nor entered warns
    like an un-awaited coroutine.
    """

    def __init__(
        self,
        start: Callable[[bool], Awaitable[S]],
        end: Callable[[S], Awaitable[object]],
        *,
        held: HeldSessions | None = None,
        starts: set[asyncio.Task[Any]] | None = None,
        what: str = "sessions.start(...)",
        running_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.get_running_loop,
    ) -> None:
        self._start = start
        self._running_loop = running_loop
        self._end = end
        self._held = held
        self._starts = starts
        # The call that made the handle, for its warnings (a start may be named otherwise).
        self._what = what
        self._session: S | None = None
        self._used = False
        self._let_go = False

    def __del__(self) -> None:
        if not self._used:
            import warnings

            warnings.warn(
                f"a {self._what} handle was never awaited or entered with async with; "
                "no session was started",
                RuntimeWarning,
                stacklevel=2,
            )

    def _claim(self) -> None:
        if self._used:
            raise RuntimeError(f"a {self._what} handle can be used only once")
        self._used = True

    def _begin(self, *, managed: bool) -> tuple[asyncio.Task[S | None], asyncio.Future[S]]:
        """The start's task, and the future its caller awaits.

        The future is a shield, as ``asyncio.shield`` makes one: once the request is out
        the vendor may create the session whether or not we still listen, so a cancelled
        caller cancels only the future, the start goes on, and the session it makes is held
        by the client. The task settles the future itself as it finishes (``_reporting``),
        so the caller wakes in the same loop turn as the task ends, not two turns later
        through the task's done callbacks.
        """
        loop = self._running_loop()
        answer: asyncio.Future[S] = loop.create_future()
        starts = self._starts
        task = finishing(_reporting(self._start(managed), answer, starts, loop), loop)
        if starts is not None and not task.done():  # done already: it failed at once
            starts.add(task)  # so that the client's aclose() waits for what it makes
        return task, answer

    async def _run(self) -> S:
        self._claim()
        _, answer = self._begin(managed=False)
        return await answer

    def __await__(self) -> Generator[Any, None, S]:
        return self._run().__await__()

    async def __aenter__(self) -> S:
        self._claim()
        starting, answer = self._begin(managed=True)
        try:
            self._session = await answer
        except asyncio.CancelledError:
            try:
                await end_shielded(lambda: self._abandon(starting))
            except AgentCloudError:
                logger.warning("could not end a session whose start was cancelled", exc_info=True)
            raise
        return self._session

    def set_managed(self, managed: bool) -> None:
        """After ``__aenter__``: whether the client still ends the session when it closes
        (managed, as under ``async with``) or merely holds it (as after ``await``).
        ``__aexit__`` ends it either way. Blocking callers (``agentcloud.sync``) start with
        ``__aenter__``, so that a start they abandon is ended, and learn only afterwards
        whether a ``with`` block takes the session."""
        held, session = self._held, self._session
        if held is None or session is None:
            return
        if managed and self._let_go and session.id not in held:
            # Let go by this handle and forgotten (see HeldSessions): taken back, not lost.
            held.add(session, managed=True)
        else:
            held.set_managed(session.id, managed)
        self._let_go = not managed and not held.keeps_unmanaged

    async def _abandon(self, starting: asyncio.Future[S | None]) -> None:
        session = await starting
        if session is None:
            return  # the start failed: there is nothing to end
        await self._end_if_held(session)

    async def _end_if_held(self, session: S) -> None:
        if self._held is not None and session.id not in self._held:
            return  # ended already (by the caller, or by the client's aclose)
        with contextlib.suppress(NotFoundError):
            await self._end(session)

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
            await end_shielded(lambda: self._end_if_held(session))
        except AgentCloudError:
            if exc_type is None:
                raise
            logger.warning(
                "could not end session %s while leaving its block after %s",
                redact_known(session.id),
                exc_type.__name__,
                exc_info=True,
            )


class EventSource(Protocol):
    """Something that can wake a waiter when news of a session arrives (a WebhookReceiver,
    or a fleet that hears every replica's receivers)."""

    def watch(self, session_id: str) -> asyncio.Future[Any]: ...


async def _pause(
    sleep: Callable[[float], Awaitable[None]],
    seconds: float,
    watcher: asyncio.Future[Any] | None,
) -> None:
    """Sleeps ``seconds``, or less when ``watcher`` (news of the session) completes."""
    if watcher is None:
        await sleep(seconds)
        return
    sleeper = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait({watcher, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        await asyncio.gather(sleeper, return_exceptions=True)


def _reached(status: SessionStatus, until: SessionStatus) -> bool:
    if until is SessionStatus.FAILED:
        return status is SessionStatus.FAILED
    if status in _PROGRESS and until in _PROGRESS:
        return _PROGRESS[status] >= _PROGRESS[until]
    return status is until


def check_wait_arguments(
    until: object, timeout: object, poll_interval: object, max_poll_interval: object
) -> tuple[SessionStatus, float | None, float, float]:
    """``wait()``'s arguments checked, before anything is sent."""
    try:
        target = SessionStatus.parse(until)  # type: ignore[arg-type]
    except ValueError as error:
        raise InvalidRequestError("until", str(error)) from None
    limit = check_timeout("timeout", timeout)
    interval = check_seconds("poll_interval", poll_interval, allow_infinite=False)
    ceiling = check_seconds("max_poll_interval", max_poll_interval)
    return target, limit, interval, ceiling


async def wait_for_status(
    get: Callable[[], Awaitable[S]],
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
    target, limit, interval, ceiling = check_wait_arguments(
        until, timeout, poll_interval, max_poll_interval
    )
    clock, sleep = retry.clock, retry.sleep
    give_up = None if limit is None or limit == math.inf else clock() + limit
    last: S | None = None
    label = f"the wait's {limit:g}s" if limit is not None else ""
    watcher: asyncio.Future[Any] | None = None
    try:
        while True:
            if events is not None and (watcher is None or watcher.done()):
                # Watched before the poll, so news that lands while it is answered (or
                # before the pause begins) still ends the pause at once.
                watcher = events.watch(session_id)
            # No poll outlives the wait: a request that stalls is cut when the timeout comes.
            try:
                session = await within_deadline(give_up, get(), label=label)
            except RequestTimeoutError:
                if last is None or give_up is None or clock() < give_up:
                    raise
                session = last  # no time left for this poll: the last one seen decides
            last = session
            if _reached(session.status, target):
                return session
            if session.status is SessionStatus.FAILED:
                raise SessionFailedError(session)
            pause = interval
            if give_up is not None:
                left = give_up - clock()
                if left <= 0:
                    raise RequestTimeoutError(
                        f"session {session_id} did not reach {target.value} within {label} "
                        f"(last status {session.status.value})"
                    )
                pause = min(interval, left)
            await _pause(sleep, pause, watcher)
            interval = min(interval * 1.5, ceiling)
    finally:
        if watcher is not None:
            watcher.cancel()
