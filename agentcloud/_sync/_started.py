"""What a blocking ``start`` returns: the started value, usable directly or under ``with``.

An async start handle (``agentcloud.SessionStart``, or any handle that is awaitable and an
async context manager) is entered on the client's loop when the blocking call is made, so
the call returns once the session exists, as ``open()`` returns an open file:

- ``s = client.sessions.start(...)`` gives a :class:`Started` whose attributes read through
  to the session (``s.id``, ``s.status``); ``s.value`` is the session itself. The session
  then runs on, held by the client as an awaited start's is.
- ``with client.sessions.start(...) as s:`` gives the session itself, and ends it on every
  way out of the block: normal exit, an exception, Ctrl-C. While the block runs the session
  is managed, so ``close()`` ends it too.

Ctrl-C while the start is under way, or as it returns, ends the session it makes (the
caller never got it), whichever of the two ways it was to be used. What Python cannot
guard is the handful of bytecodes between the call's return and a ``with`` statement's
entry: a Ctrl-C landing exactly there leaves the session as ``s = start(...)`` would.
A handle that can say whether its session is managed (``set_managed``, as
:class:`agentcloud.SessionStart` does) is told so; any other is treated as managed from
the start.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._portal import Portal

__all__ = ["AsyncStartHandle", "Started", "enter_handle", "is_start_handle"]

V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


class AsyncStartHandle(Protocol[V_co]):
    """An async start handle: awaitable, and an async context manager."""

    def __await__(self) -> Any: ...

    async def __aenter__(self) -> V_co: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> object: ...


def is_start_handle(value: object) -> bool:
    kind = type(value)
    return all(hasattr(kind, name) for name in ("__await__", "__aenter__", "__aexit__"))


def _set_managed(handle: Any, managed: bool) -> None:
    setter = getattr(handle, "set_managed", None)
    if setter is not None:
        setter(managed)


async def enter_handle(handle: AsyncStartHandle[V], portal: Portal) -> Started[V]:
    """Starts through ``handle`` (on the portal's loop) and returns the blocking handle."""
    value = await handle.__aenter__()
    _set_managed(handle, False)  # until a ``with`` block takes it
    return Started(handle, value, portal)


class Started(Generic[V]):
    """A started session (or other started value) that is also a context manager; see
    :mod:`agentcloud.sync`. Its attributes read through to ``value``."""

    __slots__ = ("_entered", "_exited", "_handle", "_portal", "value")

    def __init__(self, handle: AsyncStartHandle[V], value: V, portal: Portal) -> None:
        self._handle = handle
        self._portal = portal
        #: The started value itself (the session).
        self.value = value
        self._entered = False
        self._exited = False

    def __repr__(self) -> str:
        return f"Started({self.value!r})"

    if not TYPE_CHECKING:  # type checkers see each value's own attributes (the stubs)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return getattr(self.value, name)

    def __enter__(self) -> V:
        if self._entered:
            raise RuntimeError("a started session can be entered with `with` only once")
        self._entered = True

        async def manage() -> None:
            _set_managed(self._handle, True)

        try:
            self._portal.run(manage)
        except BaseException as error:
            # Interrupted on the way in (Ctrl-C): no block will end the session, so end it.
            self._leave(type(error), error, error.__traceback__, take_back=True)
            raise
        return self.value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave(exc_type, exc, tb, take_back=False)

    def _leave(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        *,
        take_back: bool,
    ) -> None:
        if self._exited:
            return
        self._exited = True

        async def leave() -> None:
            if take_back:
                _set_managed(self._handle, True)
            await self._handle.__aexit__(exc_type, exc, tb)

        self._portal.run(leave)

    async def _undo_abandoned(self) -> None:
        """The caller was interrupted before it got this handle: end what was started.

        Taken back first: until a ``with`` block takes the session it is unmanaged, and a
        client that does not end those on close (``end_on_close=False``) has let it go, so
        the handle would see nothing of its own to end."""
        self._exited = True
        _set_managed(self._handle, True)
        await self._handle.__aexit__(KeyboardInterrupt, KeyboardInterrupt(), None)
