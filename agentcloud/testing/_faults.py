"""Seeded, deterministic fault injection: which request fails, and how.

A `FaultPlan` is a frozen description; a `FaultInjector` holds the random stream that
a plan starts. The same plan and the same sequence of eligible requests always yield the
same faults: every eligible request draws exactly two numbers, whatever the outcome.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping
from enum import StrEnum
from fnmatch import fnmatchcase
from types import MappingProxyType

from attrs import field, frozen, validators

__all__ = ["FaultInjector", "FaultKind", "FaultPlan"]


class FaultKind(StrEnum):
    """How one request goes wrong."""

    RATE_LIMITED = "rate_limited"
    """429 with a Retry-After header; the request is not processed."""
    RATE_LIMITED_NO_RETRY_AFTER = "rate_limited_no_retry_after"
    """429 without Retry-After; the request is not processed."""
    SERVER_ERROR = "server_error"
    """500 in the vendor's error shape; the request is not processed."""
    SERVER_ERROR_AFTER_PROCESSING = "server_error_after_processing"
    """500, but the request took effect first (the ambiguous kind of 5xx)."""
    REQUEST_TIMEOUT = "request_timeout"
    """408 in the vendor's error shape: the server gave up waiting; not processed."""
    BAD_GATEWAY = "bad_gateway"
    """502 with a proxy's HTML page; not processed."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """503 with a proxy's HTML page; not processed."""
    GATEWAY_TIMEOUT = "gateway_timeout"
    """504 with a proxy's HTML page; not processed."""
    RESET_BEFORE_PROCESSING = "reset_before_processing"
    """The connection is reset before the request is processed."""
    RESET_AFTER_PROCESSING = "reset_after_processing"
    """The request takes effect, then the connection is reset without an answer."""
    STALL = "stall"
    """Nothing is sent for `stall_seconds` (past any sane client timeout); then the request
    is processed and answered as usual, to a client that has usually given up."""
    TRUNCATED_BODY = "truncated_body"
    """The request takes effect; the JSON answer is cut in half (Content-Length agrees)."""
    MALFORMED_BODY = "malformed_body"
    """The request takes effect; the answer, labelled JSON, does not parse."""


def _weights(
    value: Mapping[FaultKind | str, float] | Iterable[FaultKind | str],
) -> Mapping[FaultKind, float]:
    pairs = value.items() if isinstance(value, Mapping) else ((kind, 1.0) for kind in value)
    weights = {FaultKind(kind): float(weight) for kind, weight in pairs}
    if any(weight < 0 for weight in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("fault weights must be >= 0 with a positive total")
    return MappingProxyType(weights)


def _all_kinds_equally() -> Mapping[FaultKind, float]:
    return _weights(list(FaultKind))


def _script(value: Iterable[FaultKind | str | None]) -> tuple[FaultKind | None, ...]:
    return tuple(None if kind is None else FaultKind(kind) for kind in value)


def _patterns(value: Iterable[str]) -> tuple[str, ...]:
    # A typed converter (not the bare `tuple`) so type checkers accept any iterable of str.
    return tuple(value)


def _upper(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(method.upper() for method in value)


@frozen(kw_only=True)
class FaultPlan:
    """Which requests fail and how.

    - rate: share (0..1) of eligible requests that get a random fault.
    - seed: seeds the random draws, so a plan fails the same requests every run.
    - kinds: weights of the fault kinds drawn (a mapping, or an iterable for equal weights).
    - paths / methods: limit faults to requests whose path matches one of these fnmatch
      patterns (e.g. "/v1/public/*") and whose method is listed; empty means all.
    - script: faults for the first eligible requests, in order (None = no fault), applied
      before the random draws begin; script requests draw no random numbers.
    - retry_after: the Retry-After header value (seconds) of RATE_LIMITED.
    - stall_seconds: how long STALL sends nothing.
    """

    rate: float = field(default=0.0, validator=[validators.ge(0.0), validators.le(1.0)])
    seed: int = 0
    kinds: Mapping[FaultKind, float] = field(factory=_all_kinds_equally, converter=_weights)
    paths: tuple[str, ...] = field(default=(), converter=_patterns)
    methods: tuple[str, ...] = field(default=(), converter=_upper)
    script: tuple[FaultKind | None, ...] = field(default=(), converter=_script)
    retry_after: int = field(default=1, validator=validators.ge(0))
    stall_seconds: float = field(default=10.0, validator=validators.ge(0.0))

    def applies_to(self, method: str, path: str) -> bool:
        """Whether a request with this method and (percent-decoded) path may be given a fault."""
        if self.methods and method.upper() not in self.methods:
            return False
        return not self.paths or any(fnmatchcase(path, pattern) for pattern in self.paths)


class FaultInjector:
    """Draws the faults of one plan, in request order."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)
        self._script = deque(plan.script)
        self._kinds = list(plan.kinds)
        self._cumulative: list[float] = []
        total = 0.0
        for kind in self._kinds:
            total += plan.kinds[kind]
            self._cumulative.append(total)

    def decide(self, method: str, path: str) -> FaultKind | None:
        """The fault for the next request, or None to serve it normally."""
        if not self.plan.applies_to(method, path):
            return None
        if self._script:
            return self._script.popleft()
        roll, pick = self._random.random(), self._random.random()
        if roll >= self.plan.rate:
            return None
        target = pick * self._cumulative[-1]
        for kind, bound in zip(self._kinds, self._cumulative, strict=True):
            if target < bound and self.plan.kinds[kind] > 0:
                return kind
        # Only reachable through float rounding at the very top of the range.
        return next(kind for kind in reversed(self._kinds) if self.plan.kinds[kind] > 0)
