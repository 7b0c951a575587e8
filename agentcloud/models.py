"""Vendor-neutral values: sessions and their status, events, log lines, pages.

Models are frozen attrs classes and behave as data:

- ``to_dict()`` gives JSON-ready values (ISO 8601 UTC times ending in ``Z``, enum values,
  nested models as dicts; ``raw`` left out unless ``raw=True``), ``to_json()`` the text,
  and :func:`to_jsonable` does the same for lists, tuples and pages of them;
- they are hashable (a session by provider and id) and compare by value, ``raw`` aside;
- ``repr`` is one short line (id, status, times), with secrets redacted.

Every model keeps the vendor's wire object in ``raw`` (unknown keys included). Where the
vendor's answer leaves a field out, the field is None, never an invented empty value.
Providers subclass :class:`Session` with their own fields; those classes live in the
provider modules and are re-exported by ``agentcloud``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ._redact import redact_known

__all__ = [
    "LogEntry",
    "Model",
    "Page",
    "Session",
    "SessionEvent",
    "SessionEventType",
    "SessionStatus",
    "to_jsonable",
]

T = TypeVar("T")


class SessionStatus(enum.StrEnum):
    """Where a session is in its life, the same for every vendor.

    A ``StrEnum``: ``session.status == "running"`` holds. Vendor strings the SDK does not
    know map to ``UNKNOWN``; the original is kept in ``Session.raw_status``.
    """

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    ENDED = "ended"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True once the session can no longer change: ended or failed."""
        return self in (SessionStatus.ENDED, SessionStatus.FAILED)

    @classmethod
    def parse(cls, value: SessionStatus | str) -> SessionStatus:
        """Accepts a member or its value ("running"), case-insensitively."""
        if isinstance(value, SessionStatus):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        choices = ", ".join(member.value for member in cls)
        raise ValueError(f"not a session status: {value!r} (one of {choices})")


class SessionEventType(enum.StrEnum):
    """What a webhook says happened to a session, whatever the vendor's event name."""

    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def status(self) -> SessionStatus:
        """The session status this event announces."""
        return _EVENT_STATUS[self]


_EVENT_STATUS = {
    SessionEventType.STARTING: SessionStatus.STARTING,
    SessionEventType.STARTED: SessionStatus.RUNNING,
    SessionEventType.STOPPING: SessionStatus.STOPPING,
    SessionEventType.STOPPED: SessionStatus.ENDED,
    SessionEventType.FAILED: SessionStatus.FAILED,
    SessionEventType.UNKNOWN: SessionStatus.UNKNOWN,
}


def to_jsonable(value: Any, *, raw: bool = False) -> Any:
    """Models (and lists, tuples, dicts and pages of them) as plain JSON values.

    Datetimes become ISO 8601 UTC text ending in ``Z``, enums their values, models dicts of
    their fields; each model's ``raw`` is left out unless ``raw=True``.
    """
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, enum.Enum):
            return value.value
        return value
    if attrs.has(type(value)):
        return {
            field.name: to_jsonable(getattr(value, field.name), raw=raw)
            for field in attrs.fields(type(value))
            if raw or field.name != "raw"
        }
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, raw=raw) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item, raw=raw) for key, item in value.items()}
    return value


#: Types whose values a short repr shows; anything else (dicts, tuples, models) is left out.
_SHOWN_IN_REPR = (str, int, float, bool, datetime, enum.Enum)
_REPR_TEXT_LIMIT = 48


def _repr_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        # Redacted before it is cut: a cut secret no longer matches, yet is mostly there.
        text = redact_known(value)
        if len(text) > _REPR_TEXT_LIMIT:
            text = text[: _REPR_TEXT_LIMIT - 3] + "..."
        return repr(text)
    return repr(value)


class Model:
    """What every agentcloud model shares: ``to_dict``, ``to_json``, hashing, a short repr.

    Subclasses are ``attrs.frozen`` classes. ``_identity`` names the fields a hash is built
    from (equal models always share them); ``_repr_fields`` those a repr shows when set.
    """

    __slots__ = ()

    _identity: ClassVar[tuple[str, ...]] = ()
    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # attrs writes a __hash__ over every field (dicts included: unhashable) or none;
        # models hash by identity instead, which equal models share.
        cls.__hash__ = Model._hash  # type: ignore[method-assign,assignment]
        # attrs writes a long repr of every field; models keep theirs short (a subclass
        # that defines its own __repr__ keeps it).
        own = cls.__dict__.get("__repr__")
        code = getattr(own, "__code__", None)
        if own is None or (code is not None and code.co_filename.startswith("<attrs generated")):
            cls.__repr__ = Model.__repr__  # type: ignore[method-assign]

    def _hash(self) -> int:
        names = self._identity or (attrs.fields(type(self))[0].name,)  # type: ignore[arg-type]
        return hash((type(self).__name__, *(_hashable(getattr(self, n)) for n in names)))

    def to_dict(self, *, raw: bool = False) -> dict[str, Any]:
        """The model as JSON-ready values; ``raw=True`` keeps the vendor's wire objects."""
        result: dict[str, Any] = to_jsonable(self, raw=raw)
        return result

    def to_json(self, *, raw: bool = False, indent: int | None = None) -> str:
        """``to_dict()`` as JSON text."""
        separators = (",", ":") if indent is None else None
        return json.dumps(self.to_dict(raw=raw), indent=indent, separators=separators)

    def __repr__(self) -> str:
        names: Iterable[str] = self._repr_fields or (
            field.name
            for field in attrs.fields(type(self))  # type: ignore[arg-type]
            if field.repr and field.name != "raw"
        )
        parts = []
        for name in names:
            value = getattr(self, name)
            if value is None or not isinstance(value, _SHOWN_IN_REPR):
                continue
            parts.append(f"{name}={_repr_value(value)}")
        # A vendor may echo a credential into any field it sends back.
        return redact_known(f"{type(self).__name__}({', '.join(parts)})")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


@attrs.frozen(kw_only=True)
class Session(Model):
    """An agent session, as every vendor has it.

    - ``id`` and ``provider`` (the registry's name for the vendor) identify it; sessions hash
      and compare by them.
    - ``status`` is a :class:`SessionStatus`; ``raw_status`` the vendor's own word for it.
    - ``deployment_id``: what was deployed and started.
    - ``created_at``, ``updated_at``, ``started_at``, ``ended_at``: timezone-aware UTC
      datetimes; ``duration``: seconds, once the session has ended.
    - ``metadata`` is None when the vendor's answer does not carry it (a started session
      carries what it was started with).
    - ``raw``: the vendor's JSON object as received, unknown keys included.

    Each provider's session class adds the vendor's own fields.
    """

    _identity: ClassVar[tuple[str, ...]] = ("provider", "id")
    _repr_fields: ClassVar[tuple[str, ...]] = (
        "id",
        "status",
        "raw_status",
        "created_at",
        "started_at",
        "ended_at",
    )

    id: str
    provider: str
    status: SessionStatus = SessionStatus.UNKNOWN
    raw_status: str | None = None
    deployment_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None
    metadata: dict[str, Any] | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class SessionEvent(Model):
    """One webhook delivery about a session.

    ``name`` is the vendor's event name and ``type`` what it means; ``session_id`` and
    ``room`` are set when the event names them; ``delivery_id`` is the vendor's id of the
    delivery when it sends one (redeliveries repeat it); ``raw`` is the decoded body.
    """

    _identity: ClassVar[tuple[str, ...]] = ("provider", "name", "session_id", "delivery_id")
    _repr_fields: ClassVar[tuple[str, ...]] = ("provider", "name", "session_id", "received_at")

    type: SessionEventType
    name: str
    session_id: str | None
    status: SessionStatus
    received_at: datetime
    provider: str
    room: str | None = None
    delivery_id: str | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class LogEntry(Model):
    """One log line of an agent: what it said, when, and where it came from."""

    _identity: ClassVar[tuple[str, ...]] = ("timestamp", "message")
    _repr_fields: ClassVar[tuple[str, ...]] = ("timestamp", "level", "message")

    timestamp: datetime | None
    message: str
    level: str | None = None
    deployment_id: str | None = None
    session_id: str | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Page(Model, Generic[T]):
    """One page of a listing.

    ``number`` is set for page-number listings, ``offset`` for offset ones, ``cursor`` (the
    token that fetched it) and ``next_cursor`` (the one for the page after it) for cursor
    ones; ``total`` is the vendor's count of all items, when it says one it means exactly.
    """

    _identity: ClassVar[tuple[str, ...]] = ("number", "offset", "cursor")
    _repr_fields: ClassVar[tuple[str, ...]] = ("number", "offset", "total")

    items: tuple[T, ...]
    number: int | None = None
    offset: int | None = None
    total: int | None = None
    cursor: str | None = None
    next_cursor: str | None = None

    def __repr__(self) -> str:
        position = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("number", "offset", "total")
            if getattr(self, name) is not None
        )
        return f"Page({position + ', ' if position else ''}items={len(self.items)})"
