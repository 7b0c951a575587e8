"""The log of the requests the emulator received, newest kept, credentials redacted."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

from attrs import frozen

from ._faults import FaultKind
from ._json import decode_json

__all__ = [
    "REDACTED",
    "BoundedLog",
    "RecordedRequest",
    "RequestLog",
    "parse_body",
    "redact_headers",
]

_T = TypeVar("_T")

REDACTED = "[REDACTED]"
_ALWAYS_REDACTED = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


@frozen(kw_only=True)
class RecordedRequest:
    """One request as received, before any fault or handler saw it."""

    method: str
    path: str
    """The path, percent-decoded (as routes and fault patterns see it)."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    """The parsed JSON body, or the raw text when it is not JSON, or None when empty."""
    request_id: str
    received_at: float
    """The emulator clock's time on arrival."""
    fault: FaultKind | None
    """The fault this request was given, if any."""
    raw_path: str = ""
    """The path exactly as sent, percent-encoding intact (`%2F` stays `%2F`), no query."""


class BoundedLog(Sequence[_T]):
    """The newest `limit` records, oldest first; older ones are dropped and counted.

    A sequence like a list: indexing, slicing (a list), `len`, iteration, and equality
    with any other sequence of records (`emu.requests == []`). `limit` None keeps all.
    """

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("a log's limit must be >= 0 or None")
        self._records: deque[_T] = deque(maxlen=limit)
        self.dropped = 0
        """How many records were dropped to keep the log within its limit since it was
        last cleared."""

    @property
    def limit(self) -> int | None:
        """How many records the log keeps (None: all)."""
        return self._records.maxlen

    def append(self, record: _T) -> None:
        """Keeps a record, dropping (and counting) the oldest one when the log is full."""
        if len(self._records) == self._records.maxlen:
            self.dropped += 1
        self._records.append(record)

    def clear(self) -> None:
        """Forget every record and the count of dropped ones."""
        self._records.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[_T]:
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...
    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self._records))
            if step > 0 and start <= stop:
                # No copy of the whole log for a window of it.
                return list(itertools.islice(self._records, start, stop, step))
            return list(self._records)[index]
        return self._records[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(
                mine == theirs for mine, theirs in zip(self, other, strict=True)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self._records))


class RequestLog(BoundedLog[RecordedRequest]):
    """The newest `limit` requests the emulator received (`emu.requests`), oldest first;
    older ones are dropped and counted in `dropped`."""


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
    """The body as a test wants to see it: JSON decoded, else its text, None if empty."""
    if not raw:
        return None
    try:
        return decode_json(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
