"""One private event loop on a daemon thread: how blocking code drives the async SDK.

A sync client owns one :class:`Portal`. Its loop and thread start on the first call (making
a client starts nothing) and stop in :meth:`Portal.close`. Any thread may call
:meth:`Portal.run` at once: the async client only ever runs on the portal's loop, so it never
meets a second loop, and a caller that itself runs inside an event loop (a notebook cell)
merely blocks, as any blocking call does, instead of failing with "this event loop is
already running".

When the waiting caller is interrupted (Ctrl-C, or an exception from a signal handler), the
call in flight is cancelled and the caller waits until nothing of it is left running: its
requests cut, its pages in flight cancelled, a start under way finished and its session
ended. Only then is the interruption re-raised. A second Ctrl-C stops that wait (the
clean-up then goes on in the background). A call that had already succeeded when the caller
gave up is undone if its value says how (:class:`Abandonable`): a started session the
caller never received is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable
from threading import Lock, get_ident
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from ..errors import InvalidRequestError

__all__ = ["Abandonable", "Portal"]

T = TypeVar("T")

#: Seconds a blocking caller waits at a time. Ctrl-C interrupts a lock's wait on POSIX,
#: but not one it lands just before (the thread has let go of the interpreter and not yet
#: gone to sleep): that wait would then run to its end, the call's whole deadline. In
#: slices, such a Ctrl-C is acted on when the slice ends (elsewhere nothing interrupts a
#: wait at all).
_WAIT_SLICE = 0.1


@runtime_checkable
class Abandonable(Protocol):
    """A call's value that knows how to undo itself when its caller gave up before
    receiving it (a started session that no one would ever end)."""

    async def _undo_abandoned(self) -> None: ...


def closed_error() -> InvalidRequestError:
    return InvalidRequestError("client", "this client is closed; create a new one")


def _own_loop_error() -> InvalidRequestError:
    return InvalidRequestError(
        "client",
        "a blocking call from the client's own event loop (a hook or a callback) would wait "
        "for itself; use the async client there",
    )


def _wait(lock: Lock) -> None:
    """Waits until ``lock`` is released by the loop's thread (and takes it)."""
    while not lock.acquire(timeout=_WAIT_SLICE):
        pass


def _wait_event(event: threading.Event) -> None:
    while not event.wait(_WAIT_SLICE):
        pass


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _closed_while_running() -> InvalidRequestError:
    return InvalidRequestError("client", "the client was closed while this call ran")


class _Call(Generic[T]):
    """One blocking call: a task on the portal's loop, and the lock its caller waits on.

    The caller takes ``_done`` (made held) and so sleeps until the loop's thread releases
    it, once, when the call is settled: its value or error is then in ``_value`` or
    ``_error``. One lock, not a future and an event: a blocking call's hop between threads
    is most of what it costs over an async call. A caller that gives up waits instead on
    ``_released``, made only then (see :meth:`abandon`)."""

    __slots__ = (
        "_abandoned",
        "_args",
        "_done",
        "_error",
        "_function",
        "_portal",
        "_released",
        "_settled",
        "_task",
        "_value",
    )

    def __init__(
        self, function: Callable[..., Awaitable[T]], args: tuple[Any, ...], portal: Portal
    ) -> None:
        self._function = function
        self._args = args
        self._portal = portal
        done = Lock()
        done.acquire()
        self._done = done
        self._value: T | None = None
        self._error: BaseException | None = None
        self._released: threading.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled = False
        self._abandoned = False

    # ---- on the portal's thread

    def begin(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            # The coroutine settles the call itself as it ends (no done callback, which
            # would take another turn of the loop); the callback only catches a task
            # cancelled before its first step, whose coroutine never runs at all.
            task = self._task = asyncio.Task(self._drive(), loop=loop)
        except BaseException as error:
            self._error = error
            self._settle()
            return
        self._portal._calls.add(self)
        task.add_done_callback(self._never_ran)

    async def _drive(self) -> None:
        try:
            self._value = await self._function(*self._args)
        except asyncio.CancelledError:
            # Cancelled by close() (an abandoning caller no longer listens).
            self._error = _closed_while_running()
        except GeneratorExit:
            # The task was dropped unfinished (its loop closed): the caller is not left
            # waiting.
            self._error = _closed_while_running()
            raise
        except BaseException as error:
            self._error = error
        finally:
            self._settle()

    def _never_ran(self, task: asyncio.Task[None]) -> None:
        if not self._settled:
            self._error = _closed_while_running()
            self._settle()

    def _settle(self) -> None:
        self._settled = True
        task = self._task
        if task is not None:
            self._portal._calls.discard(self)
            task.remove_done_callback(self._never_ran)
        self._done.release()
        if self._abandoned:
            self._release()

    def abandon(self) -> None:
        """The caller gave up: cancel the call, and undo it if it had already succeeded."""
        self._abandoned = True
        if self._settled or self._task is None:  # (None: given up before it was scheduled)
            self._release()
        else:
            self._task.cancel()  # _settle releases the caller once the task has wound down

    def cancel_for_close(self) -> None:
        if self._task is not None and not self._settled:
            self._task.cancel()

    def _release(self) -> None:
        released = self._released
        assert released is not None  # made by the caller before it schedules abandon
        value = self._value
        if self._error is not None or not isinstance(value, Abandonable):
            released.set()
            return
        cleanup = asyncio.ensure_future(value._undo_abandoned())
        cleanup.add_done_callback(_retrieve)
        cleanup.add_done_callback(lambda _: released.set())

    # ---- on the caller's thread

    def run(self, loop: asyncio.AbstractEventLoop) -> T:
        """Schedules the call on ``loop`` and waits for it. An interruption from the moment
        it is scheduled on (if only just) abandons it: nothing runs unwatched."""
        try:
            loop.call_soon_threadsafe(self.begin, loop)
            _wait(self._done)
        except BaseException as error:
            # Interrupted (the call's own error is raised below, not here): nothing of the
            # call may outlive the interruption. Even if the call was settled as the
            # interruption came, its caller never received it: it is undone.
            self._released = threading.Event()
            try:
                loop.call_soon_threadsafe(self.abandon)
            except RuntimeError:  # the loop is closed, and whatever ran on it with it
                if isinstance(error, RuntimeError):  # closed by another thread just now
                    raise closed_error() from None
                raise
            _wait_event(self._released)
            raise
        failure = self._error
        if failure is not None:
            self._error = None
            try:
                raise failure
            finally:
                del failure  # no cycle between the error's traceback and this frame
        return self._value  # type: ignore[return-value]


class Portal:
    """A private event loop on a daemon thread, started on first use; see the module."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        #: The calls running on the loop (touched on the loop's thread only).
        self._calls: set[_Call[Any]] = set()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._loop else "not started"
        return f"<Portal {self._name} {state}>"

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def on_own_thread(self) -> bool:
        """True when the current thread is the portal's (a blocking call would deadlock)."""
        thread = self._thread
        return thread is not None and thread.ident == threading.get_ident()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, started (with its thread) on first use."""
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._closed:
                raise closed_error()
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._serve, args=(loop,), name=f"agentcloud-sync-{self._name}"
                )
                thread.daemon = True
                thread.start()
                self._thread = thread
                self._loop = loop
            return self._loop

    def run(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Runs ``function(*args)`` on the loop and blocks until it is done; its result or
        error is the caller's. ``function`` is called on the loop's thread."""
        loop = self._loop
        if loop is None:
            loop = self.loop()
        thread = self._thread
        if thread is not None and thread.ident == get_ident():
            raise _own_loop_error()
        return _Call(function, args, self).run(loop)

    def close(self, final: Callable[[], Awaitable[object]] | None = None) -> None:
        """Runs ``final()`` on the loop if it ever started (the client's ``aclose``), then
        cancels what other threads still run on it and stops the loop and its thread.
        Idempotent. From the loop's own thread (a finalizer run there) nothing blocks: the
        same happens in the background."""
        with self._lock:
            if self._closed:
                return
            started = self._loop is not None
        if self.on_own_thread():
            self._close_in_background(final)
            return
        try:
            if final is not None and started:
                self.run(final)
        finally:
            with self._lock:
                self._closed = True
                loop, thread = self._loop, self._thread
                self._loop = None
            if loop is not None and thread is not None:
                with contextlib.suppress(RuntimeError):  # already stopped
                    loop.call_soon_threadsafe(self._stop, loop)
                thread.join()

    def _close_in_background(self, final: Callable[[], Awaitable[object]] | None) -> None:
        with self._lock:
            self._closed = True
            loop, self._loop = self._loop, None
        if loop is None:
            return

        async def wind_down() -> None:
            try:
                if final is not None:
                    await final()
            finally:
                self._stop(loop)

        loop.create_task(wind_down())

    def _stop(self, loop: asyncio.AbstractEventLoop) -> None:
        for call in list(self._calls):
            call.cancel_for_close()
        loop.stop()

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        if hasattr(signal, "pthread_sigmask"):
            # Ctrl-C is for the main thread: delivered to this one, it would not wake a
            # main thread blocked waiting for a call, and the call would run on unheeded.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
