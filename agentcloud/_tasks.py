"""Tasks that finish what they started: starts and ends of billing sessions.

``asyncio.run`` cancels every task when its main coroutine returns, and a caller may be
cancelled at any moment; a start cancelled mid-request may leave a session billing that no
one can name, and an end cancelled mid-request leaves one billing on purpose. So starts and
ends run in a :class:`FinishingTask`, which declines ``cancel()`` from outside. It honours
its own deadlines: a timeout scope (``asyncio.timeout``) the task itself entered, such as
aiohttp's connect timeout or the wait for a pooled connection, and the deadline of the
attempt in flight (set by the transport, see :func:`honour_cancel_after`). Every request of
such a task is bounded by its call's deadline, so it always ends soon.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import sys
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, TypeVar

__all__ = [
    "EAGER_START",
    "Deadlines",
    "FinishingTask",
    "TimeoutScope",
    "finishing",
    "honour_cancel_after",
    "restore_cancel_after",
]

T = TypeVar("T")


class Deadlines:
    """The deadlines of one loop's timeout scopes, watched by a single timer.

    A scope per request attempt, each with its own ``loop.call_at`` timer, cost a
    ``TimerHandle`` made, pushed on the loop's heap (compared in Python), cancelled and
    later swept off it on every request: about 3 % of a pooled request. Here entering a
    scope stores its deadline (a dictionary entry and a tuple on a heap, compared in C)
    and leaving it drops the entry. The one timer is set for the earliest deadline; it
    is moved earlier only when a scope needs it to be (attempts with the same timeout,
    one after another, never move it), and when it fires it expires the scopes whose
    deadline has come and is set again for the earliest of the rest. Entries of scopes
    that were left stay on the heap until they come up or the heap is rebuilt (once it
    holds more than twice the scopes still watched), so every step is O(log n).
    """

    __slots__ = ("_active", "_heap", "_loop", "_order", "_resolution", "_timer", "_timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # asyncio runs a timer once its time is within the clock's resolution.
        self._resolution: float = getattr(loop, "_clock_resolution", 0.0)
        #: The scopes watched and their deadlines, by the number each was given when it
        #: was entered.
        self._active: dict[int, tuple[float, TimeoutScope]] = {}
        #: (deadline, number): numbers only, so a scope that was left is not kept alive
        #: here (nor its task, whose result may be a whole page) until it is swept off.
        self._heap: list[tuple[float, int]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        """How many scopes are watched (entered, not left, not expired)."""
        return len(self._active)

    def _add(self, scope: TimeoutScope, when: float) -> int:
        active, heap = self._active, self._heap
        number = next(self._order)
        active[number] = (when, scope)
        if len(heap) > 2 * len(active) + 64:  # mostly scopes left long ago: rebuild
            heap[:] = [(at, n) for n, (at, _) in active.items()]
            heapq.heapify(heap)
        else:
            heapq.heappush(heap, (when, number))
        if when < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(when, self._fire)
            self._timer_at = when
        return number

    def _discard(self, number: int) -> None:
        self._active.pop(number, None)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = self._loop.time() + self._resolution
        active, heap = self._active, self._heap
        due: list[TimeoutScope] = []
        while heap and heap[0][0] <= now:
            entry = active.pop(heapq.heappop(heap)[1], None)
            if entry is not None:
                due.append(entry[1])
        while heap and heap[0][1] not in active:
            heapq.heappop(heap)  # left already: nothing to wake up for
        if heap:
            self._timer_at = heap[0][0]
            self._timer = self._loop.call_at(self._timer_at, self._fire)
        for scope in due:
            scope._on_timeout()


class TimeoutScope:
    """``with TimeoutScope(deadlines, task, when):`` is ``async with asyncio.timeout_at(when):``
    for the ``task`` running it, cut to what one request attempt needs.

    An attempt enters a scope on every request, and ``asyncio.Timeout`` costs several
    times what this does (it asks asyncio for the running loop and task again, two system
    calls each on Python 3.11, is an async context manager, and sets a timer of its own;
    ``deadlines`` watches every scope of the loop with one). Same rules: when ``when``
    passes the task is cancelled, and the CancelledError leaves the scope as TimeoutError
    unless someone else cancelled the task too; ``when=None`` never expires.
    """

    __slots__ = ("_cancelling", "_deadlines", "_expired", "_number", "_task", "_when")

    def __init__(self, deadlines: Deadlines, task: asyncio.Task[Any], when: float | None) -> None:
        self._deadlines, self._task, self._when = deadlines, task, when
        self._expired = False
        self._cancelling = 0
        self._number = -1

    def expired(self) -> bool:
        """True once the deadline passed while the scope was entered."""
        return self._expired

    def __enter__(self) -> TimeoutScope:
        self._cancelling = self._task.cancelling()
        if self._when is not None:
            self._number = self._deadlines._add(self, self._when)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._expired:
            if self._when is not None:
                self._deadlines._discard(self._number)
        elif self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    def _on_timeout(self) -> None:
        self._expired = True
        self._task.cancel()


#: The code that cancels a task when a timeout scope it entered expires.
_TIMEOUT_EXPIRIES = tuple(
    code
    for code in (
        getattr(getattr(getattr(asyncio, "Timeout", None), "_on_timeout", None), "__code__", None),
        TimeoutScope._on_timeout.__code__,
    )
    if code is not None
)


class FinishingTask(asyncio.Task[T]):
    """A task whose ``cancel()`` is declined until the loop time ``cancel_after``, except
    when one of its own timeout scopes expires."""

    cancel_after: float = math.inf

    def cancel(self, msg: Any = None) -> bool:
        if self.get_loop().time() >= self.cancel_after or self._own_timeout():
            return super().cancel(msg)
        return False

    def _own_timeout(self) -> bool:
        # A scope only ever cancels the task that entered it, so a cancel coming from an
        # expiring scope of this task is this task's own deadline, never a caller's.
        try:
            caller = sys._getframe(2)
        except ValueError:  # called from the top of a stack: no scope of ours
            return False
        return (
            caller.f_code in _TIMEOUT_EXPIRIES
            and getattr(caller.f_locals.get("self"), "_task", None) is self
        )


#: Python 3.12 and later can start a task eagerly: its first step runs at once, in the
#: caller's step, rather than a loop turn later. A start then has its request on its way
#: before ``start()``'s caller even waits for it.
EAGER_START: dict[str, bool] = {"eager_start": True} if sys.version_info >= (3, 12) else {}


def finishing(coro: Awaitable[T], loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[T]:
    """Runs ``coro`` (a coroutine) in a :class:`FinishingTask` on the running loop
    (``loop``, when the caller has it at hand), its first step at once where Python can
    (3.12+)."""
    if loop is None:
        loop = asyncio.get_running_loop()
    return FinishingTask(coro, loop=loop, **EAGER_START)  # type: ignore[arg-type]


def honour_cancel_after(task: asyncio.Task[Any] | None, deadline: float) -> float | None:
    """Lets ``task`` (the current one) be cancelled from loop time ``deadline`` on (what a
    timeout needs), if it is a FinishingTask; returns the bound to restore afterwards."""
    if not isinstance(task, FinishingTask):
        return None
    previous = task.cancel_after
    task.cancel_after = deadline
    return previous


def restore_cancel_after(task: asyncio.Task[Any] | None, previous: float | None) -> None:
    if previous is not None and isinstance(task, FinishingTask):
        task.cancel_after = previous
