"""Hooks: watch every request a client sends, for metrics, tracing or logs of your own.

Give a client ``hooks=[...]``: objects with any of ``on_request(info)``,
``on_response(info)`` and ``on_retry(info)``, plain or ``async`` methods. Each receives a
frozen record. Paths are redacted, no record holds a header or a body, and a hook that
raises is logged and ignored: hooks never change what a call does. ``call_id`` ties the
attempts of one call together; ``ResponseInfo.final`` is True on the last attempt of a call
(then no retry follows), whether it succeeded or not.

``agentcloud.otel.TracingHooks`` turns these records into OpenTelemetry spans.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import attrs

__all__ = ["HookRunner", "RequestInfo", "ResponseInfo", "RetryInfo"]

logger = logging.getLogger("agentcloud")


@attrs.frozen(kw_only=True)
class RequestInfo:
    """An attempt is about to be sent."""

    call_id: int
    provider: str
    operation: str
    method: str
    url: str
    path: str
    attempt: int


@attrs.frozen(kw_only=True)
class ResponseInfo:
    """An attempt ended: with an HTTP ``status``, or with ``error`` and no status."""

    call_id: int
    provider: str
    operation: str
    method: str
    url: str
    path: str
    attempt: int
    status: int | None
    elapsed: float
    request_id: str | None
    error: BaseException | None
    final: bool


@attrs.frozen(kw_only=True)
class RetryInfo:
    """The call will try again after ``delay`` seconds, because of ``error``."""

    call_id: int
    provider: str
    operation: str
    attempt: int
    delay: float
    error: BaseException


_METHODS = ("on_request", "on_response", "on_retry")


class HookRunner:
    """Calls the hooks that have each method; an empty runner costs one check per event."""

    def __init__(self, hooks: Sequence[Any] | None) -> None:
        from .errors import InvalidRequestError

        if hooks is None:
            hooks = ()
        if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Sequence):
            raise InvalidRequestError("hooks", "must be a sequence of hook objects")
        self._by_method: dict[str, tuple[Any, ...]] = {}
        for hook in hooks:
            if not any(callable(getattr(hook, name, None)) for name in _METHODS):
                raise InvalidRequestError(
                    "hooks", f"{type(hook).__name__} has none of {', '.join(_METHODS)}"
                )
        for name in _METHODS:
            self._by_method[name] = tuple(
                getattr(hook, name) for hook in hooks if callable(getattr(hook, name, None))
            )
        self.active = any(self._by_method.values())

    async def emit(self, method: str, info: object) -> None:
        """Calls every hook that has ``method`` with ``info``, awaiting async ones; a hook that
        raises is logged and skipped.
        """
        for hook in self._by_method.get(method, ()):
            try:
                result = hook(info)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.warning("agentcloud hook %r raised; ignored", hook, exc_info=True)
