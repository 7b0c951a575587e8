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
import concurrent.futures
import contextlib
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from ..errors import InvalidRequestError

__all__ = ["Abandonable", "Portal"]

T = TypeVar("T")

# Lock waits are interrupted by Ctrl-C on POSIX; elsewhere they are made in slices.
_WAIT_SLICE: float | None = 0.2 if sys.platform == "win32" else None


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


def _wait_result(future: concurrent.futures.Future[T]) -> T:
    if _WAIT_SLICE is None:
        return future.result()
    while True:
        try:
            return future.result(timeout=_WAIT_SLICE)
        except TimeoutError:
            if future.done():
                raise  # the call's own timeout, not the slice's
            continue


def _wait_event(event: threading.Event) -> None:
    while not event.wait(_WAIT_SLICE):
        pass


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class _Call(Generic[T]):
    """One blocking call: a task on the portal's loop and the future its caller waits on."""

    __slots__ = ("_abandoned", "_function", "_portal", "_released", "_task", "result")

    def __init__(self, function: Callable[[], Awaitable[T]], portal: Portal) -> None:
        self._function = function
        self._portal = portal
        self.result: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._released = threading.Event()
        self._task: asyncio.Future[T] | None = None
        self._abandoned = False

    # ---- on the portal's thread

    def begin(self) -> None:
        try:
            self._task = asyncio.ensure_future(self._function())
        except BaseException as error:
            self.result.set_exception(error)
            self._released.set()
            return
        self._portal._calls.add(self)
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Future[T]) -> None:
        self._portal._calls.discard(self)
        if task.cancelled():
            # Cancelled by close() (an abandoning caller no longer listens).
            self.result.set_exception(
                InvalidRequestError("client", "the client was closed while this call ran")
            )
        elif (error := task.exception()) is not None:
            self.result.set_exception(error)
        else:
            self.result.set_result(task.result())
        if self._abandoned:
            self._release(task)

    def abandon(self) -> None:
        """The caller gave up: cancel the call, and undo it if it had already succeeded."""
        self._abandoned = True
        task = self._task
        if task is None:
            self._released.set()
        elif not task.done():
            task.cancel()  # _settle releases the caller once the task has wound down
        else:
            self._release(task)

    def cancel_for_close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _release(self, task: asyncio.Future[T]) -> None:
        undo = None
        if not task.cancelled() and task.exception() is None:
            value = task.result()
            if isinstance(value, Abandonable):
                undo = value._undo_abandoned
        if undo is None:
            self._released.set()
            return
        cleanup = asyncio.ensure_future(undo())
        cleanup.add_done_callback(_retrieve)
        cleanup.add_done_callback(lambda _: self._released.set())

    # ---- on the caller's thread

    def run(self, loop: asyncio.AbstractEventLoop) -> T:
        """Schedules the call on ``loop`` and waits for it. An interruption from the moment
        it is scheduled on (if only just) abandons it: nothing runs unwatched."""
        try:
            loop.call_soon_threadsafe(self.begin)
            return _wait_result(self.result)
        except BaseException as error:
            future = self.result
            if future.done() and not future.cancelled() and future.exception() is error:
                raise  # the call's own error
            # Interrupted: nothing of the call may outlive the interruption.
            try:
                loop.call_soon_threadsafe(self.abandon)
            except RuntimeError:  # the loop is closed, and whatever ran on it with it
                if isinstance(error, RuntimeError):  # closed by another thread just now
                    raise closed_error() from None
                raise
            _wait_event(self._released)
            raise


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

    def run(self, function: Callable[[], Awaitable[T]]) -> T:
        """Runs ``function()`` on the loop and blocks until it is done; its result or
        error is the caller's. ``function`` is called on the loop's thread."""
        loop = self.loop()
        if self.on_own_thread():
            raise _own_loop_error()
        return _Call(function, self).run(loop)

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
