"""LiveKit Cloud agents: agent dispatches (sessions), their jobs, rooms and job webhooks.

Wire facts (``API-FACTS.md`` §4): every call is Twirp, ``POST
/twirp/livekit.{AgentDispatchService|RoomService}/{Method}``, sent here as JSON (Twirp's
other encoding is protobuf). A JSON request may use proto or lowerCamel field names and
unknown keys are dropped; a JSON answer uses proto names and emits every field, int64 as
text and enums by name (both spellings are read here, enum numbers too). Errors are
``{code, msg, meta}``; a bad token is refused by LiveKit's auth layer with a plain-text 401
(which may quote the token: it is redacted). A dispatch is listed per room only, in one
answer (no paging), so ``sessions.list()`` across rooms asks ``RoomService.ListRooms`` and
then each room's dispatches, a few rooms at a time.

Every call carries its own HS256 access token with the least grant it needs:
``roomAdmin`` for the named room (dispatches), ``roomCreate`` (create and delete rooms) or
``roomList`` (list rooms). Tokens are cached per grant while valid (``token_ttl``, 10
minutes by default, renewed a minute before they expire; ``nbf`` a minute back, so a local
clock somewhat ahead of LiveKit's still makes tokens it takes). livekit-api's tokens live
six hours; these are short so that one a proxy logs is worth minutes, not hours.

Session status comes from the newest job of the dispatch (the one updated last; ties go to
the later one in LiveKit's list). The first row that matches wins:

=================================  ==================  ==========
newest job's ``state.status``      dispatch deleted    status
=================================  ==================  ==========
``JS_FAILED``                      any                 FAILED
``JS_SUCCESS``, ``JS_CANCELLED``   any                 ENDED
``JS_PENDING``, ``JS_RUNNING``     yes                 STOPPING
none (no job yet), or unknown      yes                 ENDED
none (no job yet)                  no                  QUEUED
``JS_PENDING``                     no                  STARTING
``JS_RUNNING``                     no                  RUNNING
anything else                      no                  UNKNOWN
=================================  ==================  ==========

A job state without ``status`` is ``JS_PENDING`` (protobuf's default, which protojson
omits). ``raw_status`` is the newest job's status name. Times are unix nanoseconds on the
wire; a value is read by its magnitude (seconds, milliseconds, microseconds or
nanoseconds), so a field sent in another unit than documented still reads right, and 0
(unset) is None. Metadata is text at LiveKit: ``metadata`` is it parsed when it holds a
JSON object (else None), ``metadata_text`` the text itself.

Start is not idempotent: every start with a ``dict`` (or no) metadata sends it as JSON
text carrying the marker ``agentcloud_request_id``, so after an ambiguous failure the
core's start loop asks the reconciler here, which lists that room's dispatches (complete
and small) for the marker: found, that dispatch is returned; absent, the start made
nothing (a missing room too: creating a dispatch creates its room). A ``str`` metadata is
sent as is (and ``reconcile=False`` sends no marker); an ambiguous start then raises
:class:`~agentcloud.StartOutcomeUnknownError`.

LiveKit forgets a dispatch once it is deleted or its room closes: ``get`` then raises
NotFoundError. ``end`` retried after its first answer was lost finds the dispatch gone and
reports it ENDED (only its id and room known); ``wait`` reports a dispatch that leaves its
room's list after it saw it (or after this client ended it) as ENDED, as last seen.

Webhooks are POSTed as ``application/webhook+json`` with ``Authorization: <jwt>`` (no
``Bearer``; one with it is accepted too): HS256 signed with the API secret, ``iss`` the
API key, valid five minutes, its ``sha256`` claim the padded base64 SHA-256 of the raw
body. ``agent_job_pending``/``_started``/``_ended`` are session events keyed by the
dispatch id (``agent_job_ended`` of a failed job is FAILED); other events keep their name
with type UNKNOWN. The body's ``id`` is the delivery id, so the receiver refuses replays.

Where the sources leave a point open (unconfirmed), this module does what the official
``livekit-api`` 1.2 client does: ``Authorization: Bearer <token>`` on API calls; token
claims ``{video: {...grant}, sub: "", iss: API key, nbf, exp}`` with no ``iat`` (its
minter adds ``canPublish`` grants, which no API call needs and these tokens leave out); a
fresh ``X-Livekit-Request-Id`` per call, kept across that call's retries; no retry after a
4xx; a dispatch that ``ListDispatch`` does not return is not found. An unknown room is
assumed to answer ``not_found``; an unknown dispatch an empty list (as LiveKit's server
does). ``deleted_at`` is taken to be nanoseconds like ``created_at`` (the magnitude rule
above reads it right either way).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Unpack

import attrs
import jwt

from .._checks import (
    check_choice,
    check_count,
    check_json_object,
    check_string_map,
    check_text,
    check_timeout,
    credential,
)
from .._client import BaseClient, ClientOptions
from .._commands import Command, Emit, Option, ProviderCLI, UsageError
from .._convert import camel_case
from .._resource import Resource, SessionsResource, WaitOptions, by_id
from .._sessions import SessionStart, StartPlan
from .._transport import ErrorFields, Reply, RetryMode, default_error_fields
from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    WebhookVerificationError,
)
from ..models import Model, Page, Session, SessionEvent, SessionEventType, SessionStatus
from ..pagination import MAX_PER_PAGE, OneAnswer, Pager
from ..webhooks import KeyMaterial, json_body

__all__ = [
    "API_KEY_ENV",
    "API_SECRET_ENV",
    "CLI",
    "JOB_STATUSES",
    "REQUEST_ID_HEADER",
    "RESTART_POLICIES",
    "START_MARKER",
    "URL_ENV",
    "WEBHOOK_CONTENT_TYPE",
    "WEBHOOK_FORMAT",
    "AccessTokens",
    "Grant",
    "LiveKitCloud",
    "LiveKitJob",
    "LiveKitRoom",
    "LiveKitSession",
    "LiveKitSessions",
    "Rooms",
    "job_status",
    "session_status",
    "verify_token",
]

URL_ENV = "LIVEKIT_URL"
"""The environment variable read for the project URL (``wss://`` or ``https://``) when no
``base_url=`` is given: LiveKit's own name for it."""
API_KEY_ENV = "LIVEKIT_API_KEY"
"""The environment variable read for the API key when no ``api_key=`` is given."""
API_SECRET_ENV = "LIVEKIT_API_SECRET"
"""The environment variable read for the API secret when no ``api_secret=`` is given."""
START_MARKER = "agentcloud_request_id"
"""The metadata key that lets a start be found again after an ambiguous failure."""
REQUEST_ID_HEADER = "X-Livekit-Request-Id"
"""livekit-api's per-call request id header; the SDK sends a fresh one per call, the same
on that call's retries."""
WEBHOOK_CONTENT_TYPE = "application/webhook+json"
"""The ``Content-Type`` of LiveKit's webhook deliveries."""

_DISPATCH = "/twirp/livekit.AgentDispatchService"
_ROOMS = "/twirp/livekit.RoomService"

JOB_STATUSES = ("JS_PENDING", "JS_RUNNING", "JS_SUCCESS", "JS_FAILED", "JS_CANCELLED")
"""LiveKit's job statuses, each at the index of its protobuf number (a JSON answer may
carry the name or the number)."""
_JOB_TYPES = ("JT_ROOM", "JT_PUBLISHER", "JT_PARTICIPANT")
_JOB_REASONS = (
    "JSR_UNSPECIFIED",
    "JSR_NO_CAPACITY",
    "JSR_ROOM_CLOSED",
    "JSR_DISPATCH_DELETED",
    "JSR_RETRYING",
)
_RESTART_WIRE = ("JRP_ON_FAILURE", "JRP_NEVER")
RESTART_POLICIES = ("on_failure", "never")
"""The values of a start's ``restart_policy=``: what LiveKit Cloud does when the job
fails."""

#: Seconds an access token lives, and how long before its end a new one is minted.
_TOKEN_TTL = 600.0
_TOKEN_MARGIN = 60.0
#: Seconds ``nbf`` is set back, so a local clock somewhat ahead of LiveKit's still works.
_CLOCK_SKEW = 60
#: Distinct grants (rooms) whose tokens are kept at once.
_TOKENS_CACHED = 256
#: Dispatches this client ended that ``wait`` still recognises once LiveKit forgot them.
_ENDED_REMEMBERED = 1024
#: Seconds of clock difference a webhook's ``nbf``/``exp`` may be off by.
_WEBHOOK_LEEWAY = 60.0


# ---- the status table --------------------------------------------------------------------

_LIVE_JOB = {"JS_PENDING": SessionStatus.STARTING, "JS_RUNNING": SessionStatus.RUNNING}
_DONE_JOB = {
    "JS_SUCCESS": SessionStatus.ENDED,
    "JS_CANCELLED": SessionStatus.ENDED,
    "JS_FAILED": SessionStatus.FAILED,
}


def job_status(raw_status: str | None) -> SessionStatus:
    """A job's ``JS_*`` status as a SessionStatus (UNKNOWN for a name not in the table)."""
    if raw_status is None:
        return SessionStatus.UNKNOWN
    return _LIVE_JOB.get(raw_status) or _DONE_JOB.get(raw_status) or SessionStatus.UNKNOWN


def session_status(newest_job: str | None, *, deleted: bool = False) -> SessionStatus:
    """A dispatch's status from its newest job's status (None: no job yet) and whether the
    dispatch was deleted; the table is in the module's docstring."""
    if newest_job in _DONE_JOB:
        return _DONE_JOB[newest_job]
    if deleted:
        return SessionStatus.STOPPING if newest_job in _LIVE_JOB else SessionStatus.ENDED
    if newest_job is None:
        return SessionStatus.QUEUED
    return _LIVE_JOB.get(newest_job, SessionStatus.UNKNOWN)


# ---- models ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LiveKitJob(Model):
    """One job of a dispatch: an agent worker's attempt to serve the room.

    ``status`` is the job's own (``JS_PENDING`` is STARTING...), ``raw_status`` its
    ``JS_*`` name; ``reason`` says why it is in that state (``JSR_NO_CAPACITY``: no worker
    had room for it). Empty strings on the wire (protobuf's unset) are None.
    """

    _identity: ClassVar[tuple[str, ...]] = ("id",)
    _repr_fields: ClassVar[tuple[str, ...]] = ("id", "raw_status", "reason", "started_at")

    id: str
    dispatch_id: str | None = None
    type: str | None = None
    agent_name: str | None = None
    room: str | None = None
    status: SessionStatus = SessionStatus.UNKNOWN
    raw_status: str | None = None
    error: str | None = None
    reason: str | None = None
    participant_identity: str | None = None
    worker_id: str | None = None
    agent_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class LiveKitSession(Session):
    """A LiveKit agent dispatch: ``id`` is the dispatch id (``AD_...``).

    ``room`` and ``agent_name`` say where and what was dispatched; ``jobs`` are its jobs,
    as LiveKit lists them. ``created_at`` is the dispatch's, ``started_at``/``ended_at``/
    ``updated_at`` the newest job's, ``duration`` the newest job's run. ``deployment_id``
    is LiveKit's ``deployment`` (None: production), ``deleted_at`` when the dispatch was
    deleted. The status table is in :mod:`agentcloud.providers.livekit`.
    """

    provider: str = "livekit"
    room: str | None = None
    agent_name: str | None = None
    jobs: tuple[LiveKitJob, ...] = ()
    metadata_text: str | None = attrs.field(default=None, repr=False)
    restart_policy: str | None = None
    attributes: dict[str, str] | None = None
    deleted_at: datetime | None = None


@attrs.frozen(kw_only=True)
class LiveKitRoom(Model):
    """A LiveKit room. Counts and limits are as LiveKit sends them (0: none, or its
    default); ``created_at`` is ``creation_time`` (to the millisecond when given)."""

    _identity: ClassVar[tuple[str, ...]] = ("name",)

    name: str
    sid: str | None = None
    created_at: datetime | None = None
    empty_timeout: int | None = None
    departure_timeout: int | None = None
    max_participants: int | None = None
    metadata: str | None = attrs.field(default=None, repr=False)
    num_participants: int | None = None
    num_publishers: int | None = None
    active_recording: bool | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


# ---- reading Twirp JSON ------------------------------------------------------------------


def _unix_time(value: int) -> datetime | None:
    """A unix time in whatever unit its size says; 0 (protobuf's unset) is None."""
    if value <= 0:
        return None
    for scale in (1, 1_000, 1_000_000):  # seconds, milliseconds, microseconds
        if value < 100_000_000_000 * scale:
            seconds, rest = divmod(value, scale)
            return datetime.fromtimestamp(seconds, UTC) + timedelta(
                microseconds=rest * (1_000_000 // scale)
            )
    seconds, nanos = divmod(value, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1_000)


class _Message:
    """One protobuf message as Twirp JSON: proto names or lowerCamel ones, int64 as text.

    Each accessor returns None for a field that is absent, null or protobuf's default
    (``""``, ``0``), and raises ResponseDecodeError for a value of the wrong type.
    """

    __slots__ = ("data", "what")

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, dict):
            raise ResponseDecodeError(f"{what}: expected a JSON object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.what = what

    def _value(self, name: str) -> Any:
        data = self.data
        if name in data:
            return data[name]
        return data.get(camel_case(name))

    def _wrong(self, name: str, expected: str, value: Any) -> ResponseDecodeError:
        return ResponseDecodeError(
            f"{self.what}: {name} should be {expected}, got {type(value).__name__}"
        )

    def text(self, name: str) -> str | None:
        value = self._value(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._wrong(name, "a string", value)
        return value

    def integer(self, name: str) -> int | None:
        value = self._value(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        digits = value[1:] if isinstance(value, str) and value[:1] == "-" else value
        if isinstance(digits, str) and digits.isascii() and digits.isdigit() and len(digits) < 24:
            return int(value)
        raise self._wrong(name, "an integer", value)

    def time(self, name: str) -> datetime | None:
        value = self.integer(name)
        try:
            return None if value is None else _unix_time(value)
        except (OverflowError, ValueError, OSError):  # past the years a datetime holds
            raise ResponseDecodeError(f"{self.what}: {name} is not a time: {value}") from None

    def flag(self, name: str) -> bool | None:
        value = self._value(name)
        if value is None or isinstance(value, bool):
            return value
        raise self._wrong(name, "a boolean", value)

    def enum(self, name: str, names: tuple[str, ...], *, default: str | None = None) -> str | None:
        """An enum by name (kept even when not in ``names``) or by number."""
        value = self._value(name)
        if value is None:
            return default
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return names[value] if 0 <= value < len(names) else str(value)
        raise self._wrong(name, "an enum name", value)

    def message(self, name: str) -> _Message | None:
        value = self._value(name)
        return None if value is None else _Message(value, f"{self.what} {name}")

    def messages(self, name: str) -> list[_Message]:
        value = self._value(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(name, "an array", value)
        return [_Message(item, f"{self.what} {name}") for item in value]

    def string_map(self, name: str) -> dict[str, str] | None:
        value = self._value(name)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._wrong(name, "a map of strings", value)
        return dict(value)


def _job(data: Any) -> LiveKitJob:
    wire = _Message(data, "Job")
    state = wire.message("state") or _Message({}, "JobState")
    room = wire.message("room")
    raw_status = state.enum("status", JOB_STATUSES, default="JS_PENDING")
    job_id = wire.text("id")
    if job_id is None:
        raise ResponseDecodeError("Job: has no id")
    return LiveKitJob(
        id=job_id,
        dispatch_id=wire.text("dispatch_id"),
        type=wire.enum("type", _JOB_TYPES),
        agent_name=wire.text("agent_name"),
        room=room.text("name") if room is not None else None,
        status=job_status(raw_status),
        raw_status=raw_status,
        error=state.text("error"),
        reason=state.enum("reason", _JOB_REASONS),
        participant_identity=state.text("participant_identity"),
        worker_id=state.text("worker_id"),
        agent_id=state.text("agent_id"),
        started_at=state.time("started_at"),
        ended_at=state.time("ended_at"),
        updated_at=state.time("updated_at"),
        raw=wire.data,
    )


def _newest(jobs: Sequence[LiveKitJob]) -> LiveKitJob | None:
    if not jobs:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    ranked = max(enumerate(jobs), key=lambda pair: (pair[1].updated_at or epoch, pair[0]))
    return ranked[1]


def _metadata_object(text: str | None) -> dict[str, Any] | None:
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _dispatch(data: Any) -> LiveKitSession:
    """An ``AgentDispatch`` as a session."""
    wire = _Message(data, "AgentDispatch")
    dispatch_id = wire.text("id")
    if dispatch_id is None:
        raise ResponseDecodeError("AgentDispatch: has no id")
    state = wire.message("state") or _Message({}, "AgentDispatchState")
    jobs = tuple(_job(job.data) for job in state.messages("jobs"))
    newest = _newest(jobs)
    deleted_at = state.time("deleted_at")
    metadata_text = wire.text("metadata")
    started = newest.started_at if newest else None
    ended = newest.ended_at if newest else None
    return LiveKitSession(
        id=dispatch_id,
        status=session_status(
            newest.raw_status if newest else None, deleted=deleted_at is not None
        ),
        raw_status=newest.raw_status if newest else None,
        deployment_id=wire.text("deployment"),
        created_at=state.time("created_at"),
        updated_at=newest.updated_at if newest else None,
        started_at=started,
        ended_at=ended,
        duration=(ended - started).total_seconds() if started and ended else None,
        metadata=_metadata_object(metadata_text),
        room=wire.text("room"),
        agent_name=wire.text("agent_name"),
        jobs=jobs,
        metadata_text=metadata_text,
        restart_policy=wire.enum("restart_policy", _RESTART_WIRE),
        attributes=wire.string_map("attributes"),
        deleted_at=deleted_at,
        raw=wire.data,
    )


def _room(data: Any) -> LiveKitRoom:
    wire = _Message(data, "Room")
    name = wire.text("name")
    if name is None:
        raise ResponseDecodeError("Room: has no name")
    return LiveKitRoom(
        name=name,
        sid=wire.text("sid"),
        created_at=wire.time("creation_time_ms") or wire.time("creation_time"),
        empty_timeout=wire.integer("empty_timeout"),
        departure_timeout=wire.integer("departure_timeout"),
        max_participants=wire.integer("max_participants"),
        metadata=wire.text("metadata"),
        num_participants=wire.integer("num_participants"),
        num_publishers=wire.integer("num_publishers"),
        active_recording=wire.flag("active_recording"),
        raw=wire.data,
    )


def _items(data: Any, name: str, what: str) -> list[Any]:
    """The repeated field ``name`` of an answer (proto or lowerCamel name), as raw items."""
    return [item.data for item in _Message(data, what).messages(name)]


def _dispatches(data: Any) -> list[LiveKitSession]:
    """A ``ListAgentDispatchResponse`` as sessions."""
    return [_dispatch(item) for item in _items(data, "agent_dispatches", "ListDispatch")]


# ---- errors ------------------------------------------------------------------------------

_TWIRP_CLASSES: dict[str, type[APIError]] = {
    "invalid_argument": BadRequestError,
    "malformed": BadRequestError,
    "out_of_range": BadRequestError,
    "unauthenticated": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "bad_route": NotFoundError,
    "already_exists": ConflictError,
    "aborted": ConflictError,
    "failed_precondition": ConflictError,
    "resource_exhausted": RateLimitError,
    "unknown": ServerError,
    "internal": ServerError,
    "data_loss": ServerError,
    "dataloss": ServerError,
    "unimplemented": ServerError,
    "unavailable": ServerError,
}


def _error_fields(status: int, body: Any) -> ErrorFields:
    """Twirp's ``{code, msg, meta}`` mapped by its code; a plain-text 401 is LiveKit's auth
    layer refusing the token (its text may quote the token: the transport redacts it)."""
    fields = default_error_fields(status, body)
    if isinstance(body, dict):
        error_class = _TWIRP_CLASSES.get(fields.code or "", fields.error_class)
        meta = body.get("meta")
        return attrs.evolve(
            fields, error_class=error_class, details=meta if isinstance(meta, dict) else None
        )
    if status == 401:
        text = body.strip() if isinstance(body, str) else ""
        return attrs.evolve(
            fields,
            code="unauthenticated",
            message=f"the access token was refused: {text}" if text else "the token was refused",
        )
    return fields


# ---- credentials -------------------------------------------------------------------------


@attrs.frozen
class Grant:
    """The least video grant a call needs: ``roomAdmin`` of one room, ``roomCreate`` or
    ``roomList``."""

    kind: Literal["roomAdmin", "roomCreate", "roomList"]
    room: str | None = None

    @classmethod
    def admin(cls, room: str) -> Grant:
        """The ``roomAdmin`` grant of ``room``, which the dispatch calls need."""
        return cls("roomAdmin", room)

    def video(self) -> dict[str, Any]:
        """The token's ``video`` claim: ``{kind: true}``, with ``room`` when it names one."""
        claims: dict[str, Any] = {self.kind: True}
        if self.room is not None:
            claims["room"] = self.room
        return claims


class AccessTokens:
    """Mints LiveKit access tokens, one per grant, each cached until ``margin`` seconds
    before it expires (at most ``max_cached`` grants kept, the least recently used let go).
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        ttl: float = _TOKEN_TTL,
        margin: float = _TOKEN_MARGIN,
        now: Callable[[], float] = time.time,
        max_cached: int = _TOKENS_CACHED,
    ) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > margin:
            raise InvalidRequestError("token_ttl", f"must be seconds longer than {margin:g}")
        self._api_key = api_key
        self._secret = api_secret
        self._ttl = float(ttl)
        self._margin = margin
        self._now = now
        self._max = max_cached
        self._cache: OrderedDict[Grant, tuple[str, float]] = OrderedDict()

    def __repr__(self) -> str:
        return "AccessTokens(api_key=[redacted], api_secret=[redacted])"

    def claims(self, grant: Grant, issued_at: int) -> dict[str, Any]:
        """The claims of a token for ``grant`` minted at ``issued_at`` (unix seconds):
        ``video``, an empty ``sub``, ``iss`` the API key, ``nbf`` a minute back and ``exp``
        ``ttl`` seconds on, with no ``iat`` (as livekit-api mints them)."""
        not_before = issued_at - _CLOCK_SKEW
        return {
            "video": grant.video(),
            "sub": "",
            "iss": self._api_key,
            "nbf": not_before,
            "exp": issued_at + int(self._ttl),
        }

    def __call__(self, grant: Grant) -> str:
        now = self._now()
        cached = self._cache.get(grant)
        if cached is not None and now < cached[1] - self._margin:
            self._cache.move_to_end(grant)
            return cached[0]
        claims = self.claims(grant, int(now))
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        self._cache[grant] = (token, float(claims["exp"]))
        self._cache.move_to_end(grant)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return token


def _http_url(url: str) -> str:
    """LiveKit's ``wss://`` project URL as the ``https://`` one its API lives at."""
    for websocket, http in (("wss://", "https://"), ("ws://", "http://")):
        if url[: len(websocket)].lower() == websocket:
            return http + url[len(websocket) :]
    return url


# ---- argument checks ---------------------------------------------------------------------


def _check_room(argument: str, room: object) -> str:
    if room is None:
        raise InvalidRequestError(argument, "missing: LiveKit finds a dispatch by its room")
    return check_text(argument, room, max_length=256)


def _check_metadata_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            "metadata", "must be valid Unicode (it holds a lone surrogate)"
        ) from None
    return value


def _gone(session_id: str, room: str, last: LiveKitSession | None = None) -> LiveKitSession:
    """A dispatch LiveKit no longer lists: ended, as last seen (or known only by id)."""
    if last is None:
        return LiveKitSession(id=session_id, room=room, status=SessionStatus.ENDED)
    return attrs.evolve(last, status=SessionStatus.ENDED)


def _converged(error: NotFoundError) -> bool:
    """A retried delete that finds nothing: an earlier attempt whose answer was lost did it."""
    return (error.attempts or 0) > 1


# ---- resources ---------------------------------------------------------------------------


class _Twirp(Resource):
    """A resource whose calls are Twirp methods: POSTs of JSON, each with its own grant."""

    _client: LiveKitCloud

    async def _twirp_reply(
        self,
        operation: str,
        method: str,
        body: Mapping[str, Any],
        *,
        grant: Grant,
        mode: RetryMode = RetryMode.IDEMPOTENT,
        timeout: float | None = None,
    ) -> Reply:
        return await self._request(
            operation,
            "POST",
            method,
            json=dict(body),
            auth=grant,
            mode=mode,
            timeout=timeout,
            headers={REQUEST_ID_HEADER: str(uuid.uuid4())},
        )

    async def _twirp(
        self,
        operation: str,
        method: str,
        body: Mapping[str, Any],
        structure: Callable[[Any], Any],
        *,
        grant: Grant,
        mode: RetryMode = RetryMode.IDEMPOTENT,
        timeout: float | None = None,
    ) -> Any:
        reply = await self._twirp_reply(
            operation, method, body, grant=grant, mode=mode, timeout=timeout
        )
        return structure(reply.data)

    def _one_answer(
        self,
        operation: str,
        method: str,
        body: Mapping[str, Any],
        *,
        items: str,
        structure: Callable[[Any], Any],
        key: Callable[[Any], Any],
        grant: Grant,
        per_page: int,
        max_items: int | None,
        timeout: float | None,
    ) -> Pager[Any]:
        """A listing LiveKit answers at once (one page), asked by a Twirp method."""
        check_timeout("timeout", timeout)

        async def request(_: Mapping[str, str]) -> Any:
            return {
                items: await self._twirp(
                    operation,
                    method,
                    body,
                    lambda data: _items(data, items, operation),
                    grant=grant,
                    timeout=timeout,
                )
            }

        return Pager.of_style(
            request,
            OneAnswer(items=items),
            what=operation,
            structure=structure,
            key=key,
            per_page=per_page,
            max_items=max_items,
        )


class _MarkerLookup:
    """The reconciler of one start: looks for its marker among its room's dispatches."""

    def __init__(self, sessions: LiveKitSessions, room: str) -> None:
        self._sessions = sessions
        self._room = room

    async def find(self, marker: str, *, since: datetime) -> LiveKitSession | None:
        # The room's list is complete, so "not there" needs no look back past ``since``.
        try:
            dispatches = await self._sessions._room_dispatches(self._room)
        except NotFoundError:
            return None  # no room: creating a dispatch creates its room, so none was made
        for session in dispatches:
            if session.metadata is not None and session.metadata.get(START_MARKER) == marker:
                return session
        return None


class _EveryRoom(Pager[LiveKitSession]):
    """Every room's dispatches: ``ListRooms``, then each room's ``ListDispatch``, up to
    ``concurrency`` rooms in flight, yielded in the rooms' order, one page per room that
    has any (``Page.cursor`` is the room). A room closed meanwhile is skipped."""

    def __init__(
        self,
        rooms: Callable[[], Awaitable[list[str]]],
        dispatches: Callable[[str], Awaitable[list[LiveKitSession]]],
        *,
        per_page: int,
        max_items: int | None,
        concurrency: int,
    ) -> None:
        super().__init__(
            self._no_fetch,
            key=by_id,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
        )
        self._rooms = rooms
        self._dispatches = dispatches

    @staticmethod
    async def _no_fetch(index: int, size: int) -> Page[Any]:  # pragma: no cover
        raise AssertionError("pages() walks the rooms itself")

    async def _room(self, name: str) -> list[LiveKitSession] | None:
        try:
            return await self._dispatches(name)
        except NotFoundError:
            return None  # the room closed after it was listed: its dispatches went with it

    async def pages(self) -> AsyncIterator[Page[LiveKitSession]]:
        if self.max_items == 0:
            return
        names = await self._rooms()
        window: deque[tuple[str, asyncio.Task[list[LiveKitSession] | None]]] = deque()
        position = 0
        emitted = 0
        try:
            while True:
                while len(window) < self.concurrency and position < len(names):
                    name = names[position]
                    window.append((name, asyncio.ensure_future(self._room(name))))
                    position += 1
                if not window:
                    return
                name, task = window.popleft()
                found = await task
                if not found:
                    continue
                if self.max_items is not None:
                    found = found[: self.max_items - emitted]
                emitted += len(found)
                following = (
                    window[0][0] if window else (names[position] if position < len(names) else None)
                )
                yield Page(items=tuple(found), cursor=name, next_cursor=following)
                if self.max_items is not None and emitted >= self.max_items:
                    return
        finally:
            for _, pending in window:
                pending.cancel()
            if window:
                await asyncio.gather(*(pending for _, pending in window), return_exceptions=True)


class LiveKitSessions(SessionsResource[LiveKitSession], _Twirp):
    """``client.sessions``: start, get, end, list and wait for agent dispatches.

    A dispatch lives in a room: ``get``, ``end`` and ``wait`` take ``room=``.
    """

    def start(
        self,
        *,
        agent_name: str,
        room: str,
        metadata: Mapping[str, Any] | str | None = None,
        attributes: Mapping[str, str] | None = None,
        deployment: str | None = None,
        restart_policy: str | None = None,
        reconcile: bool = True,
        timeout: float | None = None,
    ) -> SessionStart[LiveKitSession]:
        """Dispatches the agent ``agent_name`` into ``room`` (LiveKit creates the room when
        it does not exist). Await the result for the session, or use it with ``async with``
        to have the dispatch deleted on exit.

        ``metadata`` reaches the agent as its job's metadata: a mapping is sent as JSON text
        with the ``agentcloud_request_id`` marker (so an ambiguous failure is looked up in
        the room instead of guessed; ``reconcile=False`` leaves the marker out), a ``str``
        is sent as is (an ambiguous failure is then StartOutcomeUnknownError).
        ``deployment`` picks an agent deployment (production by default);
        ``restart_policy`` is ``on_failure`` (LiveKit's default) or ``never``; both are
        LiveKit Cloud options. ``timeout`` bounds the whole start, reconciliation included.
        """
        body: dict[str, Any] = {
            "agent_name": check_text("agent_name", agent_name, max_length=256),
            "room": _check_room("room", room),
        }
        if not isinstance(reconcile, bool):
            raise InvalidRequestError("reconcile", "must be True or False")
        marker: str | None = None
        if isinstance(metadata, str):
            body["metadata"] = _check_metadata_text(metadata)
        else:
            meta = check_json_object("metadata", metadata) if metadata is not None else {}
            if START_MARKER in meta:
                raise InvalidRequestError("metadata", f"the key {START_MARKER!r} is reserved")
            marker = uuid.uuid4().hex if reconcile else None
            sent = {**meta, START_MARKER: marker} if marker else meta
            if sent or metadata is not None:
                body["metadata"] = json.dumps(sent, separators=(",", ":"))
        checked_attributes = (
            None if attributes is None else check_string_map("attributes", attributes)
        )
        if checked_attributes:
            body["attributes"] = checked_attributes
        if deployment is not None:
            body["deployment"] = check_text("deployment", deployment, max_length=256)
        if restart_policy is not None:
            choice = check_choice("restart_policy", restart_policy, RESTART_POLICIES)
            body["restart_policy"] = f"JRP_{choice.upper()}"
        name, where = body["agent_name"], body["room"]

        def structure(reply: Reply) -> LiveKitSession:
            return _dispatch(reply.data)

        plan = StartPlan(
            call=self._client._call(
                "sessions.start",
                "POST",
                f"{_DISPATCH}/CreateDispatch",
                auth=Grant.admin(where),
                json=body,
                mode=RetryMode.AT_MOST_ONCE,
                headers={REQUEST_ID_HEADER: str(uuid.uuid4())},
            ),
            structure=structure,
            describe=f"sessions.start of agent {name!r} in room {where!r}",
            hint=(
                f"Look in sessions.list(room={where!r}) for metadata {START_MARKER}={marker} "
                f"before starting again."
                if marker
                else f"Check sessions.list(room={where!r}) before starting again."
            ),
            reconciler=_MarkerLookup(self, where) if marker else None,
            marker=marker,
        )
        return self._start(plan, timeout=timeout)

    async def _room_dispatches(
        self, room: str, *, timeout: float | None = None
    ) -> list[LiveKitSession]:
        return await self._twirp(  # type: ignore[no-any-return]
            "sessions.list",
            f"{_DISPATCH}/ListDispatch",
            {"room": room},
            _dispatches,
            grant=Grant.admin(room),
            timeout=timeout,
        )

    async def get(
        self, session_id: str, *, room: str | None = None, timeout: float | None = None
    ) -> LiveKitSession:
        """The dispatch ``session_id`` of ``room``, with its jobs. NotFoundError when the
        room does not list it (never made, deleted, or its room closed)."""
        where = _check_room("room", room)
        dispatch_id = check_text("session_id", session_id, max_length=256)
        reply = await self._twirp_reply(
            "sessions.get",
            f"{_DISPATCH}/ListDispatch",
            {"dispatch_id": dispatch_id, "room": where},
            grant=Grant.admin(where),
            timeout=timeout,
        )
        for session in _dispatches(reply.data):
            if session.id == dispatch_id:
                return session
        missing = NotFoundError(
            f"room {where!r} lists no dispatch {dispatch_id!r}",
            status=404,
            code="not_found",
            provider="livekit",
        )
        missing.attempts = reply.attempts
        raise missing

    async def end(
        self, session_id: str, *, room: str | None = None, timeout: float | None = None
    ) -> LiveKitSession:
        """Deletes the dispatch (LiveKit ends its jobs) and returns it as LiveKit reports
        it: ENDED, or STOPPING while a job is still winding down. Retried like a read; a
        dispatch gone when a retry arrives (the first attempt's answer was lost) is ENDED.
        NotFoundError when the room does not have it."""
        where = _check_room("room", room)
        dispatch_id = check_text("session_id", session_id, max_length=256)
        client = self._client
        try:
            session: LiveKitSession = await self._twirp(
                "sessions.end",
                f"{_DISPATCH}/DeleteDispatch",
                {"dispatch_id": dispatch_id, "room": where},
                _dispatch,
                grant=Grant.admin(where),
                timeout=timeout,
            )
        except NotFoundError as error:
            if not _converged(error):
                raise
            session = _gone(dispatch_id, where)
        client._held.discard(dispatch_id)
        client._remember_ended(session)
        return session

    def list(
        self,
        *,
        room: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 4,
        timeout: float | None = None,
    ) -> Pager[LiveKitSession]:
        """The dispatches of ``room``, or of every room when None (``ListRooms``, then
        ``concurrency`` rooms at a time, in the rooms' order).

        LiveKit answers a room's dispatches at once, so ``per_page`` changes nothing on the
        wire (it is checked, 1..100, like everywhere). ``timeout`` bounds each request.
        """
        if room is not None:
            where = _check_room("room", room)
            return self._one_answer(
                "sessions.list",
                f"{_DISPATCH}/ListDispatch",
                {"room": where},
                items="agent_dispatches",
                structure=_dispatch,
                key=by_id,
                grant=Grant.admin(where),
                per_page=per_page,
                max_items=max_items,
                timeout=timeout,
            )
        check_count("concurrency", concurrency, minimum=1, maximum=64)
        check_timeout("timeout", timeout)

        async def rooms() -> list[str]:
            listed = await self._client.rooms._listed({}, timeout=timeout)
            return [found.name for found in listed]

        async def dispatches(name: str) -> list[LiveKitSession]:
            return await self._room_dispatches(name, timeout=timeout)

        return _EveryRoom(
            rooms, dispatches, per_page=per_page, max_items=max_items, concurrency=concurrency
        )

    async def wait(
        self, session_id: str, *, room: str | None = None, **options: Unpack[WaitOptions]
    ) -> LiveKitSession:
        """Polls until the dispatch of ``room`` reaches ``until`` (or a later stage) and
        returns it; the options are every provider's (:class:`WaitOptions`).

        A dispatch that leaves its room's list after this wait saw it, or after this
        client ended it, has ended (deleted, or its room closed): it is returned ENDED, as
        last seen. Raises SessionFailedError if it fails first (a job ``JS_FAILED``, e.g.
        ``JSR_NO_CAPACITY``), RequestTimeoutError after ``timeout``.
        """
        where = _check_room("room", room)
        check_text("session_id", session_id, max_length=256)
        return await self._wait(session_id, {"room": where, "seen": {}}, options)

    async def _get_session(self, session_id: str, **locator: Any) -> LiveKitSession:
        room: str = locator["room"]
        seen: dict[str, LiveKitSession] = locator["seen"]
        try:
            session = await self.get(session_id, room=room)
        except NotFoundError:
            last = seen.get(session_id) or self._client._ended.get(session_id)
            if last is None:
                raise
            return _gone(session_id, room, last)
        seen[session_id] = session
        return session


class Rooms(_Twirp):
    """``client.rooms``: list, create and delete rooms."""

    async def _listed(self, body: Mapping[str, Any], *, timeout: float | None) -> list[LiveKitRoom]:
        return await self._twirp(  # type: ignore[no-any-return]
            "rooms.list",
            f"{_ROOMS}/ListRooms",
            body,
            lambda data: [_room(item) for item in _items(data, "rooms", "ListRooms")],
            grant=Grant("roomList"),
            timeout=timeout,
        )

    def list(
        self,
        *,
        names: Sequence[str] | None = None,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> Pager[LiveKitRoom]:
        """The project's active rooms (only those in ``names`` when given), in one answer."""
        body: dict[str, Any] = {}
        if names is not None:
            if isinstance(names, str):
                raise InvalidRequestError("names", "must be a list of room names, not one string")
            body["names"] = [_check_room("names", name) for name in names]
        return self._one_answer(
            "rooms.list",
            f"{_ROOMS}/ListRooms",
            body,
            items="rooms",
            structure=_room,
            key=lambda found: found.name,
            grant=Grant("roomList"),
            per_page=MAX_PER_PAGE,
            max_items=max_items,
            timeout=timeout,
        )

    async def create(
        self,
        name: str,
        *,
        empty_timeout: int | None = None,
        departure_timeout: int | None = None,
        max_participants: int | None = None,
        metadata: str | None = None,
        timeout: float | None = None,
    ) -> LiveKitRoom:
        """Creates the room, or returns it when it exists (LiveKit's ``CreateRoom`` is
        idempotent, so it is retried like a read). ``empty_timeout``/``departure_timeout``
        are seconds; ``metadata`` is text."""
        body: dict[str, Any] = {"name": _check_room("name", name)}
        for argument, value in (
            ("empty_timeout", empty_timeout),
            ("departure_timeout", departure_timeout),
            ("max_participants", max_participants),
        ):
            if value is not None:
                body[argument] = check_count(argument, value, minimum=0, maximum=2**32 - 1)
        if metadata is not None:
            if not isinstance(metadata, str):
                raise InvalidRequestError("metadata", "must be a string")
            body["metadata"] = _check_metadata_text(metadata)
        room: LiveKitRoom = await self._twirp(
            "rooms.create",
            f"{_ROOMS}/CreateRoom",
            body,
            _room,
            grant=Grant("roomCreate"),
            timeout=timeout,
        )
        return room

    async def delete(self, name: str, *, timeout: float | None = None) -> None:
        """Deletes the room, ending its dispatches and disconnecting everyone in it.
        NotFoundError when there is no such room (unless an earlier attempt of this call,
        whose answer was lost, deleted it)."""
        where = _check_room("name", name)
        try:
            await self._twirp(
                "rooms.delete",
                f"{_ROOMS}/DeleteRoom",
                {"room": where},
                lambda data: None,
                grant=Grant("roomCreate"),
                timeout=timeout,
            )
        except NotFoundError as error:
            if not _converged(error):
                raise


# ---- the client --------------------------------------------------------------------------


class LiveKitCloud(BaseClient):
    """A client for LiveKit Cloud agents (and any LiveKit server).

    Resources: ``sessions`` (:class:`LiveKitSessions`, agent dispatches) and ``rooms``
    (:class:`Rooms`). Credentials: ``api_key`` and ``api_secret`` (else
    ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET``), from which every call mints a token
    with the least grant it needs (``token_ttl`` seconds long, cached while valid). The
    project URL is ``base_url`` (else ``LIVEKIT_URL``; ``wss://`` is read as
    ``https://``). Use it as ``async with LiveKitCloud(...) as client`` or call
    ``aclose()``. The other keyword arguments are those every client takes
    (:class:`~agentcloud._client.ClientOptions`).
    """

    provider = "livekit"
    #: LiveKit has no default: every project has its own URL (``base_url`` or LIVEKIT_URL).
    default_base_url = ""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        token_ttl: float = _TOKEN_TTL,
        now: Callable[[], float] = time.time,
        **options: Unpack[ClientOptions],
    ) -> None:
        key = credential("api_key", api_key, API_KEY_ENV)
        secret = credential("api_secret", api_secret, API_SECRET_ENV)
        if key is None:
            raise InvalidRequestError("api_key", f"missing: pass api_key= or set {API_KEY_ENV}")
        if secret is None:
            raise InvalidRequestError(
                "api_secret", f"missing: pass api_secret= or set {API_SECRET_ENV}"
            )
        url = options.get("base_url") or os.environ.get(URL_ENV) or None
        if url is None:
            raise InvalidRequestError(
                "base_url",
                f"missing: pass base_url= (the project URL, e.g. https://my-project.livekit"
                f".cloud) or set {URL_ENV}",
            )
        if not isinstance(url, str):
            raise InvalidRequestError("base_url", "must be a string like https://host")
        self._tokens = AccessTokens(key, secret, ttl=token_ttl, now=now)
        options["base_url"] = _http_url(url)
        super().__init__(secrets=[key, secret], error_fields=_error_fields, **options)
        self._ended: OrderedDict[str, LiveKitSession] = OrderedDict()
        self.sessions = LiveKitSessions(self)
        self.rooms = Rooms(self)

    def _authorization(self, scope: Any) -> Callable[[], str]:
        """A fresh (or cached) token with exactly the grant ``scope`` names, per attempt."""
        if not isinstance(scope, Grant):
            raise TypeError(f"a LiveKit call needs a Grant, got {type(scope).__name__}")
        tokens = self._tokens
        return lambda: f"Bearer {tokens(scope)}"

    def _remember_ended(self, session: LiveKitSession) -> None:
        ended = self._ended
        ended[session.id] = session
        ended.move_to_end(session.id)
        while len(ended) > _ENDED_REMEMBERED:
            ended.popitem(last=False)

    async def _end_session(self, session: Session) -> object:
        room = session.room if isinstance(session, LiveKitSession) else None
        return await self.sessions.end(session.id, room=room)


# ---- webhooks ----------------------------------------------------------------------------

_JOB_EVENTS = {
    "agent_job_pending": SessionEventType.STARTING,
    "agent_job_started": SessionEventType.STARTED,
    "agent_job_ended": SessionEventType.STOPPED,
}


def _bare_token(headers: Mapping[str, str]) -> str:
    value = (headers.get("Authorization") or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def _body_hash(claim: Any) -> bytes:
    if not isinstance(claim, str) or not claim:
        raise WebhookVerificationError("the webhook token has no sha256 claim")
    try:
        return base64.b64decode(claim + "=" * (-len(claim) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the webhook token's sha256 claim is not base64") from None


def verify_token(body: bytes, token: str, api_key: str, api_secret: str, *, now: float) -> None:
    """Raises WebhookVerificationError unless ``token`` is a LiveKit webhook token for
    ``body``: HS256 with ``api_secret``, issued by ``api_key``, valid at ``now`` (a minute's
    leeway) and hashing ``body`` in its ``sha256`` claim."""
    if not token:
        raise WebhookVerificationError("the Authorization header is missing")
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise WebhookVerificationError(
            "the webhook token is not signed with the API secret"
        ) from None
    if claims.get("iss") != api_key:
        raise WebhookVerificationError("the webhook token was issued for another API key")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise WebhookVerificationError("the webhook token has no expiry")
    if now > expires + _WEBHOOK_LEEWAY:
        raise WebhookVerificationError("the webhook token has expired")
    if isinstance(not_before, (int, float)) and now < not_before - _WEBHOOK_LEEWAY:
        raise WebhookVerificationError("the webhook token is not valid yet")
    if not hmac.compare_digest(hashlib.sha256(body).digest(), _body_hash(claims.get("sha256"))):
        raise WebhookVerificationError("the webhook body does not match its signed hash")


def _event_room(decoded: Mapping[str, Any], job: _Message | None) -> str | None:
    room = _Message(decoded, "webhook").message("room")
    if room is None and job is not None:
        room = job.message("room")
    return room.text("name") if room is not None else None


class _Webhooks:
    """LiveKit's webhook format: a JWT in ``Authorization`` signing the body's SHA-256."""

    provider = "livekit"
    key_arguments = ("api_key", "api_secret")

    def keys(self, material: Mapping[str, Any]) -> KeyMaterial | None:
        api_key, api_secret = material.get("api_key"), material.get("api_secret")
        if api_key is None and api_secret is None:
            return None
        for argument, value in (("api_key", api_key), ("api_secret", api_secret)):
            if value is None:
                raise InvalidRequestError(argument, "missing: LiveKit webhooks need both keys")
            if not isinstance(value, str) or not value.strip():
                raise InvalidRequestError(argument, "must be a non-empty string")
        return KeyMaterial(fixed=(api_key, api_secret))

    def signed(self, headers: Mapping[str, str]) -> bool:
        return bool(_bare_token(headers))

    def verify(self, body: bytes, headers: Mapping[str, str], key: Any, *, now: float) -> None:
        api_key, api_secret = key
        verify_token(body, _bare_token(headers), api_key, api_secret, now=now)

    def parse(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime
    ) -> SessionEvent:
        decoded = json_body(body)
        try:
            return self._event(decoded, received_at)
        except ResponseDecodeError as error:
            raise InvalidRequestError("body", str(error)) from None

    def _event(self, decoded: dict[str, Any], received_at: datetime) -> SessionEvent:
        wire = _Message(decoded, "webhook")
        name = wire.text("event")
        if name is None:
            raise InvalidRequestError("body", "has no event name")
        kind = _JOB_EVENTS.get(name, SessionEventType.UNKNOWN)
        job = wire.message("job") if name in _JOB_EVENTS else None
        session_id = None
        if job is not None:
            session_id = job.text("dispatch_id")
            state = job.message("state") or _Message({}, "JobState")
            if state.enum("status", JOB_STATUSES, default="JS_PENDING") == "JS_FAILED":
                kind = SessionEventType.FAILED
        return SessionEvent(
            type=kind,
            name=name,
            session_id=session_id,
            status=kind.status,
            received_at=received_at,
            provider=self.provider,
            room=_event_room(decoded, job),
            delivery_id=wire.text("id"),
            raw=decoded,
        )


WEBHOOK_FORMAT = _Webhooks()
"""How LiveKit's webhooks are verified and parsed (read by ``webhooks.parse`` and
``WebhookReceiver``)."""


# ---- the command line --------------------------------------------------------------------


def _metadata_argument(text: str) -> dict[str, Any] | str:
    """``--metadata``: a JSON object is sent with the start marker; other text as is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def _start_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("agent_name") is None or values.get("room") is None:
        raise UsageError("livekit start needs --agent-name and --room")
    return values


async def _rooms_list(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    await emit.listing(client.rooms.list(timeout=values.get("timeout")))


async def _rooms_create(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    emit.single(await client.rooms.create(values["name"], timeout=values.get("timeout")))


async def _rooms_delete(client: Any, values: Mapping[str, Any], emit: Emit) -> None:
    await client.rooms.delete(values["name"], timeout=values.get("timeout"))
    emit.single({"deleted": values["name"]})


_ROOM_OPTION = Option(flag="--room", help="the dispatch's room")

CLI = ProviderCLI(
    locate=(_ROOM_OPTION,),
    start=(
        Option(flag="--agent-name", help="the agent to dispatch"),
        _ROOM_OPTION,
        Option(
            flag="--metadata",
            help="the job's metadata: a JSON object (sent with the start marker) or text",
            convert=_metadata_argument,
            metavar="JSON|TEXT",
        ),
    ),
    listing=(Option(flag="--room", help="only this room's dispatches"),),
    start_kwargs=_start_kwargs,
    commands=(
        Command(group="rooms", action="list", help="rooms: list the active rooms", run=_rooms_list),
        Command(
            group="rooms",
            action="create",
            help="create a room (or show it when it exists)",
            run=_rooms_create,
            positionals=("name",),
        ),
        Command(
            group="rooms",
            action="delete",
            help="delete a room and its dispatches",
            run=_rooms_delete,
            positionals=("name",),
        ),
    ),
    credentials=(API_KEY_ENV, API_SECRET_ENV),
    base_url_env=URL_ENV,
)
"""LiveKit's part of the ``agentcloud`` command line: ``--room`` and the start options,
and the ``rooms list|create|delete`` commands."""
