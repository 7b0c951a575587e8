"""The log of every request the emulator received, with credentials redacted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import frozen

from ._faults import FaultKind

__all__ = ["REDACTED", "RecordedRequest", "parse_body", "redact_headers"]

REDACTED = "[REDACTED]"
_ALWAYS_REDACTED = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


@frozen(kw_only=True)
class RecordedRequest:
    """One request as received, before any fault or handler saw it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    """The parsed JSON body, or the raw text when it is not JSON, or None when empty."""
    request_id: str
    received_at: float
    """The emulator clock's time on arrival."""
    fault: FaultKind | None
    """The fault this request was given, if any."""


def redact_headers(headers: Iterable[tuple[str, str]], secrets: Iterable[str]) -> dict[str, str]:
    """Copy headers, hiding credentials: auth headers always, any value holding a secret."""
    hidden = [secret for secret in secrets if secret]
    redacted: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in _ALWAYS_REDACTED or any(secret in value for secret in hidden):
            redacted[name] = REDACTED
        else:
            redacted[name] = value
    return redacted


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
