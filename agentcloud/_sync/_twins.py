"""Blocking twins, derived from the async classes at run time so that the two cannot drift.

For an async client class (any provider's, built in or registered later), :func:`twin_class`
builds a class of the same name whose constructor takes the same arguments and whose
public methods and properties are the async class's own: same names, parameters,
docstrings and type hints, each method blocking until the async one is done on the client's
private loop (:class:`~agentcloud._sync._portal.Portal`). Resources (the client's public
attributes that are :class:`~agentcloud._resource.Resource` s, nested ones included) get
twins the same way. What a method returns is made blocking by what it is, not by what its
annotation says:

- a coroutine's value is awaited; a :class:`agentcloud.Pager` becomes a blocking
  :class:`~agentcloud._sync._pager.Pager`; any other async iterator a blocking iterator;
- a start handle (awaitable and an async context manager, such as
  :class:`agentcloud.SessionStart`) is entered, and becomes a
  :class:`~agentcloud._sync._started.Started`;
- a resource becomes its twin; anything else (models, errors) is returned as it is.

Arguments that are twins (a sync client, a sync webhook receiver, a twin's bound method such
as ``key_source=client.webhook_public_key``) are handed to the async side as the async
objects they stand for, provided they live on the same loop.
"""

from __future__ import annotations

import inspect
import textwrap
import threading
import types
import typing
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
)
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from .._client import BaseClient
from .._resource import Resource
from .._sessions import EventSource, SessionStart
from ..errors import InvalidRequestError
from ..pagination import Pager as AsyncPager
from ._pager import Pager, blocking_iterator
from ._portal import Portal
from ._started import Started, enter_handle, is_start_handle

__all__ = [
    "Blocking",
    "SyncClient",
    "TwinResource",
    "bind",
    "blocking_signature",
    "public_members",
    "sync_type",
    "twin_class",
    "type_bindings",
    "wrap",
]

T = TypeVar("T")
C = TypeVar("C", bound="SyncClient")

#: The module twins say they come from.
PUBLIC_MODULE = "agentcloud.sync"

_twins: dict[type, type[Blocking]] = {}
_twins_lock = threading.Lock()


class Blocking:
    """What every blocking object has: the async object it stands for, and its portal."""

    _target: Any
    _portal: Portal


# ---- arguments in, results out -------------------------------------------------------------


def _unwrap(value: Any, portal: Portal, argument: str) -> Any:
    owner: Any = None
    if isinstance(value, Blocking):
        owner, target = value, value._target
    elif inspect.ismethod(value) and isinstance(value.__self__, Blocking):
        owner = value.__self__
        target = getattr(owner._target, value.__name__)
    else:
        return value
    if owner._portal is not portal:
        raise InvalidRequestError(
            argument,
            "belongs to another sync client, whose event loop is not this one's; use one "
            "client for both (e.g. WebhookReceiver.serve(..., client=...))",
        )
    return target


#: What a twin (or a twin's bound method) may be; anything else is handed on untouched.
_MAYBE_TWIN = (Blocking, types.MethodType)


def _unwrapped(
    args: tuple[Any, ...], kwargs: dict[str, Any], portal: Portal
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # Most calls pass no twin at all: they are looked at once and passed on as they came.
    for value in args:
        if isinstance(value, _MAYBE_TWIN):
            args = tuple(
                _unwrap(value, portal, f"argument {index + 1}") for index, value in enumerate(args)
            )
            break
    for value in kwargs.values():
        if isinstance(value, _MAYBE_TWIN):
            kwargs = {name: _unwrap(value, portal, name) for name, value in kwargs.items()}
            break
    return args, kwargs


#: Types whose values :func:`_adapt` found to be returned as they are (models, strings...).
#: What it does is decided by a value's type, except for a generator's (awaitable or not by
#: its flags), so a type seen once need not be looked at again.
_PLAIN: set[type] = set()


async def _adapt(result: Any, portal: Portal) -> Any:
    """The blocking form of what an async method returned (see the module)."""
    if isinstance(result, AsyncPager):
        return Pager(result, portal)
    if is_start_handle(result):
        return await enter_handle(result, portal)
    if inspect.isawaitable(result):
        return await _adapt(await result, portal)
    if isinstance(result, Resource):
        return twin_class(type(result))(result, portal)
    if isinstance(result, AsyncIterator):
        return blocking_iterator(result, portal)
    if not isinstance(result, types.GeneratorType):
        _PLAIN.add(type(result))
    return result


async def _invoke(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], portal: Portal
) -> Any:
    result = function(*args, **kwargs)
    if type(result) is types.CoroutineType:  # none of the other kinds: awaited at once
        result = await result
    if type(result) in _PLAIN:
        return result
    return await _adapt(result, portal)


# ---- types: what a blocking signature says -------------------------------------------------


def sync_type(annotation: Any) -> Any:
    """The blocking counterpart of a type from an async signature: ``Pager[T]`` is the
    blocking ``Pager[T]``, an async iterator of ``T`` an ``Iterator[T]``, a start handle's
    ``SessionStart[S]`` is ``Started[S]``, an ``EventSource`` may also be a blocking
    ``WebhookReceiver``; unions are mapped member by member."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is EventSource:
        from ._webhooks import WebhookReceiver

        return EventSource | WebhookReceiver
    if origin is AsyncPager:
        return typing.cast(Any, Pager)[args]
    if origin in (AsyncIterator, AsyncIterable, AsyncGenerator):
        return Iterator[args[0]]  # type: ignore[valid-type]
    if origin is not None and isinstance(origin, type) and _is_handle_class(origin):
        return typing.cast(Any, Started)[args]
    if origin in (typing.Union, types.UnionType):
        members = [sync_type(arg) for arg in args]
        combined = members[0]
        for member in members[1:]:
            combined = combined | member
        return combined
    return annotation


def _is_handle_class(kind: type) -> bool:
    return kind is SessionStart or all(
        hasattr(kind, name) for name in ("__await__", "__aenter__", "__aexit__")
    )


def _awaited(annotation: Any) -> Any:
    """``T`` for ``Awaitable[T]`` or ``Coroutine[..., T]`` (what a plain function returning
    an awaitable gives once awaited); anything else as it is."""
    origin = typing.get_origin(annotation)
    if origin in (Awaitable, Coroutine, typing.Awaitable, typing.Coroutine):
        return typing.get_args(annotation)[-1]
    return annotation


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:  # a name only importable for type checkers: keep the text
        return dict(getattr(function, "__annotations__", {}))


def type_bindings(kind: type) -> dict[Any, Any]:
    """What the type variables of ``kind``'s generic bases stand for in ``kind``
    (``S`` is ``VideoSDKSession`` in ``class VideoSDKSessions(SessionsResource[...])``)."""
    bindings: dict[Any, Any] = {}
    for klass in reversed(kind.__mro__):
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            parameters = getattr(origin, "__parameters__", ())
            for parameter, argument in zip(parameters, typing.get_args(base), strict=False):
                bindings[parameter] = bind(argument, bindings)
    return bindings


def bind(annotation: Any, bindings: dict[Any, Any]) -> Any:
    """``annotation`` with the type variables in ``bindings`` replaced."""
    if isinstance(annotation, TypeVar):
        return bindings.get(annotation, annotation)
    free = getattr(annotation, "__parameters__", ())
    if not free or not isinstance(free, tuple) or not bindings:
        return annotation
    try:
        return annotation[tuple(bindings.get(variable, variable) for variable in free)]
    except TypeError:
        return annotation


def blocking_signature(
    function: Callable[..., Any], owner: type | None = None
) -> inspect.Signature:
    """``function``'s signature with its hints resolved (type variables bound as in
    ``owner``) and its return made blocking."""
    signature = inspect.signature(function)
    hints = _hints(function)
    bindings = type_bindings(owner) if owner is not None else {}

    def blocking(annotation: Any) -> Any:
        return sync_type(bind(annotation, bindings))

    parameters = [
        parameter.replace(annotation=blocking(hints.get(parameter.name, parameter.annotation)))
        for parameter in signature.parameters.values()
    ]
    returned = hints.get("return", signature.return_annotation)
    if not inspect.iscoroutinefunction(function):
        returned = _awaited(returned)
    return signature.replace(parameters=parameters, return_annotation=blocking(returned))


# ---- deriving classes ----------------------------------------------------------------------


def public_members(kind: type) -> list[tuple[str, Any]]:
    """The public attributes of ``kind`` and its bases, as defined (not bound)."""
    members = []
    for name in dir(kind):
        if name.startswith("_"):
            continue
        members.append((name, inspect.getattr_static(kind, name)))
    return members


def _blocking_method(name: str, function: Callable[..., Any], owner: type) -> Callable[..., Any]:
    def method(self: Blocking, /, *args: Any, **kwargs: Any) -> Any:
        portal = self._portal
        bound = getattr(self._target, name)
        if args or kwargs:
            args, kwargs = _unwrapped(args, kwargs, portal)
        return portal.run(_invoke, bound, args, kwargs, portal)

    method.__name__ = name
    method.__doc__ = function.__doc__
    signature = blocking_signature(function, owner)
    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__annotations__ = {
        parameter.name: parameter.annotation
        for parameter in signature.parameters.values()
        if parameter.annotation is not inspect.Parameter.empty
    }
    if signature.return_annotation is not inspect.Signature.empty:
        method.__annotations__["return"] = signature.return_annotation
    return method


def _forwarding_property(name: str, prop: property, owner: type) -> property:
    def read(self: Blocking) -> Any:
        return _blocking_value(self, getattr(self._target, name))

    read.__name__ = name
    if prop.fget is not None:
        returned = blocking_signature(prop.fget, owner).return_annotation
        if returned is not inspect.Signature.empty:
            read.__annotations__ = {"return": returned}
    return property(read, doc=prop.__doc__)


def _blocking_value(owner: Blocking, value: Any) -> Any:
    """A resource read through a property or attribute is shown as its twin (one per
    resource object)."""
    if not isinstance(value, Resource):
        return value
    twins: dict[int, Blocking] = owner.__dict__.setdefault("_resource_twins", {})
    twin = twins.get(id(value))
    if twin is None:
        twin = twins[id(value)] = twin_class(type(value))(value, owner._portal)
    return twin


def _class_doc(kind: type) -> str:
    what = "client" if issubclass(kind, BaseClient) else "resource"
    summary = textwrap.fill(
        f"Blocking twin of :class:`{kind.__module__}.{kind.__qualname__}`: the same {what}, "
        f"every call blocking (see :mod:`agentcloud.sync`).",
        width=88,
    )
    return f"{summary}\n\n{inspect.getdoc(kind) or ''}".rstrip()


def twin_class(kind: type) -> type[Any]:
    """The blocking twin of an async client or resource class (built once, then cached)."""
    with _twins_lock:
        twin = _twins.get(kind)
        if twin is None:
            twin = _twins[kind] = _derive(kind)
        return twin


def _derive(kind: type) -> type[Blocking]:
    base: type[Blocking] = SyncClient if issubclass(kind, BaseClient) else TwinResource
    reserved = (set(vars(SyncClient)) | {"aclose"}) if base is SyncClient else set()
    namespace: dict[str, Any] = {
        "__module__": PUBLIC_MODULE,
        "__qualname__": kind.__name__,
        "__doc__": _class_doc(kind),
        "_async_class": kind,
    }
    for name, member in public_members(kind):
        if name in reserved:
            continue
        if isinstance(member, property):
            namespace[name] = _forwarding_property(name, member, kind)
        elif inspect.isfunction(member):
            namespace[name] = _blocking_method(name, member, kind)
        elif isinstance(member, (classmethod, staticmethod)):
            continue  # constructors and helpers of the async class; not the instance's calls
        elif not callable(member):
            namespace[name] = member  # class constants (``provider``)
    if base is SyncClient:
        namespace["__signature__"] = _constructor_signature(kind)
    return types.new_class(kind.__name__, (base,), exec_body=lambda ns: ns.update(namespace))


def _constructor_signature(kind: type) -> inspect.Signature:
    signature = blocking_signature(typing.cast(Any, kind).__init__, kind)
    parameters = list(signature.parameters.values())[1:]  # without self
    return signature.replace(parameters=parameters, return_annotation=None)


def _adopt_resources(twin: Blocking, target: Any, portal: Portal) -> None:
    """Gives ``twin`` a twin of each public resource attribute of ``target``."""
    for name, value in vars(target).items():
        if not name.startswith("_") and isinstance(value, Resource):
            setattr(twin, name, _blocking_value(twin, value))


class TwinResource(Blocking):
    """Base of the derived resource twins (``client.sessions`` ...)."""

    _async_class: ClassVar[type]

    def __init__(self, target: Resource, portal: Portal) -> None:
        self._target = target
        self._portal = portal
        _adopt_resources(self, target, portal)

    def __repr__(self) -> str:
        return repr(self._target)


class SyncClient(Blocking):
    """Base of every blocking client: one async client driven on one private event loop.

    Use it as ``with Client(...) as client:`` or call :meth:`close`. Every other public name
    is the async client's (derived per provider, see :mod:`agentcloud.sync`).
    """

    _async_class: ClassVar[type[BaseClient]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kind = type(self)._async_class
        if kwargs.get("http") is not None:
            raise InvalidRequestError(
                "http",
                "a sync client runs its own event loop, and an aiohttp.ClientSession belongs "
                "to the loop it was made on; leave http= out (max_connections= sizes the pool)",
            )
        portal = Portal(kind.__name__)
        if kwargs.get("fleet") is not None:
            # The fleet attaches to the client as it is built (it may start its heartbeat
            # there), so that client is built on the loop it will run on.
            async def build() -> BaseClient:
                return kind(*args, **kwargs)

            try:
                client = portal.run(build)
            except BaseException:
                portal.close()
                raise
        else:
            client = kind(*args, **kwargs)
        self._bind(client, portal)

    def _bind(self, client: BaseClient, portal: Portal) -> None:
        self._target = client
        self._portal = portal
        _adopt_resources(self, client, portal)
        # close() runs it; so does the interpreter's exit, or the garbage collector when a
        # client is dropped unclosed (it references the async client, not this twin).
        self._finalizer = weakref.finalize(self, portal.close, client.aclose)

    @classmethod
    def _around(cls, client: BaseClient) -> Self:
        twin = cls.__new__(cls)
        twin._bind(client, Portal(type(client).__name__))
        return twin

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran; a closed client sends nothing."""
        return self._portal.closed

    def close(self) -> None:
        """Closes the async client on its loop (starts under way finish; sessions managed
        by a ``with`` block still running are ended, and with ``end_on_close=True`` every
        session it holds), then stops the loop and its thread. Idempotent."""
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._target)

    def __getattr__(self, name: str) -> Any:
        # Public data attributes of the async client that its class does not declare
        # (``base_url``, set per instance).
        target = self.__dict__.get("_target")
        if name.startswith("_") or target is None:
            raise AttributeError(name)
        value = getattr(target, name)
        if callable(value):
            raise AttributeError(name)
        return _blocking_value(self, value)


def wrap(client: BaseClient) -> SyncClient:
    """The blocking twin of an async ``client`` not yet used on any event loop (one from a
    factory, such as the emulator's ``emu.videosdk()``). The twin owns it from then on:
    use the twin only, and close the twin."""
    if not isinstance(client, BaseClient):
        raise InvalidRequestError("client", "must be an agentcloud client, not yet used")
    if client.closed:
        raise InvalidRequestError("client", "this client is closed; create a new one")
    # A caller's own aiohttp session belongs to the loop it was made on, never the twin's.
    if getattr(client._transport, "_given_http", None) is not None:
        raise InvalidRequestError("client", "was built with http=; a sync client needs its own")
    twin: SyncClient = twin_class(type(client))._around(client)
    return twin
