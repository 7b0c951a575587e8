"""Pipecat Cloud: agent sessions and agents.

Wire facts (see the vendor's OpenAPI document and pages): private calls live under
``/v1/agents/...`` and take ``Authorization: Bearer <private key>``; a session is started with
``POST /v1/public/{agent}/start`` and ``Bearer <public key>`` (the organization comes from the
key). Start answers ``{sessionId, dailyRoom, dailyToken, iceConfig{iceServers}, token, wsUrl,
body}``, of which only ``sessionId`` is always there. Session objects are camelCase
(``sessionId``, ``endedAt`` null while running, ``completionStatus`` free text, ``endState``
when the API is new enough); the listing walks ``limit``/``offset`` and answers
``{total_count, sessions}`` (snake_case count, no resourceMetrics/meetingIds); the session
details add ``resourceMetrics`` (with a ``timeseries`` of ``{t, c, m}``) and ``meetingIds``.
``DELETE .../sessions/{id}`` answers ``{status: "terminated", session_id}``. The agent list is
``{services: [...]}``, one answer with every agent (it does not page).

Errors are ``{error, code}`` with a string code (``"404"``, ``"PCC-1001"``, ``NOT_FOUND``,
``PCC-AGENT-AT-CAPACITY`` ...); the listing's 400 adds ``err: {issues, name: "ZodError"}``;
the 429 is ``{status, code, message}``. No Retry-After is documented, but one is honoured.

Start cannot be reconciled: Pipecat keeps no caller-chosen marker to look a start up by. So
the core's start loop runs with no reconciler: a start is sent at most once (repeated only
after a 429 or a connection that never opened), and an ambiguous failure raises
:class:`~agentcloud.StartOutcomeUnknownError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Unpack

import attrs

from .._checks import (
    check_choice,
    check_flag,
    check_json_object,
    check_json_value,
    check_segment,
    check_text,
    credential,
    json_size,
    path_segment,
    unix_seconds,
)
from .._client import BaseClient, ClientOptions
from .._commands import Option, ProviderCLI, json_argument, timestamp
from .._convert import WireStructurer, expect_object, make_converter, parse_datetime, set_derived
from .._resource import Listing, Resource, SessionsResource, WaitOptions
from .._sessions import SessionStart, StartPlan
from .._transport import (
    ErrorFields,
    Reply,
    RetryMode,
    default_error_fields,
)
from ..errors import InvalidRequestError, RateLimitError
from ..models import Model, Session, SessionStatus
from ..pagination import MAX_PER_PAGE, Offsets, OneAnswer, Pager

__all__ = [
    "AT_CAPACITY_CODE",
    "BODY_LIMITS",
    "CLI",
    "DEFAULT_BASE_URL",
    "PRIVATE_KEY_ENV",
    "PUBLIC_KEY_ENV",
    "TRANSPORTS",
    "Agent",
    "Agents",
    "Connection",
    "MeetingId",
    "PipecatCloud",
    "PipecatSession",
    "PipecatSessions",
    "ResourceMetrics",
    "ResourceSample",
    "session_status",
]

DEFAULT_BASE_URL = "https://api.pipecat.daily.co"
"""Where Pipecat Cloud's API lives, unless a client is given ``base_url=``."""
PRIVATE_KEY_ENV = "PIPECAT_CLOUD_API_KEY"
"""The variable the private key (``api_key``) is read from."""
PUBLIC_KEY_ENV = "PIPECAT_CLOUD_PUBLIC_KEY"
"""The variable the public key (``public_key``) is read from."""
AT_CAPACITY_CODE = "PCC-AGENT-AT-CAPACITY"
"""The error code of a start refused because the agent has no free capacity."""

_AGENTS = "/v1/agents"
_PUBLIC = "/v1/public"

TRANSPORTS = ("daily", "webrtc", "websocket")
"""The transports a start may ask for; Pipecat's default is daily."""
_DEFAULT_TRANSPORT = "daily"
BODY_LIMITS: dict[str, int] = {"daily": 1024 * 1024, "webrtc": 1024 * 1024, "websocket": 4 * 1024}
"""The largest serialized start ``body`` per transport: 1 MB for daily and webrtc, 4 KB for
websocket (read as binary units, so the SDK never refuses what Pipecat would take; a body
Pipecat finds too large still comes back as PayloadTooLargeError).
"""

_LIST_STATUSES = ("active", "ended", "all")
_START_TYPES = ("cold", "warm", "all")


# ---- models ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResourceSample(Model):
    """One point of a session's resource time series."""

    _identity: ClassVar[tuple[str, ...]] = ("t",)

    t: datetime
    cpu_millicores: int | None = None
    memory_bytes: int | None = None


@attrs.frozen(kw_only=True)
class ResourceMetrics(Model):
    """CPU and memory percentiles of a Pipecat session, with their time series."""

    _identity: ClassVar[tuple[str, ...]] = ("id", "session_id")

    id: str | None = None
    session_id: str | None = None
    sample_count: int | None = None
    cpu_millicores_p50: int | None = None
    cpu_millicores_p90: int | None = None
    cpu_millicores_p95: int | None = None
    cpu_millicores_p99: int | None = None
    memory_bytes_p50: int | None = None
    memory_bytes_p90: int | None = None
    memory_bytes_p95: int | None = None
    memory_bytes_p99: int | None = None
    timeseries: tuple[ResourceSample, ...] = ()
    event_ts: datetime | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class MeetingId(Model):
    """A Daily meeting a Pipecat session took part in."""

    meeting_id: str
    participant_id: str | None = None


@attrs.frozen(kw_only=True)
class Connection(Model):
    """How to reach a freshly started Pipecat session (only the start answer has it).

    ``daily_room``/``daily_token`` when a Daily room was created; ``ice_servers`` when the
    default ICE servers were asked for; ``ws_url``, ``token`` and ``body`` (the start's
    ``body``, base64-encoded, to append to ``ws_url`` as ``?body=``) for the websocket
    transport. Tokens and the body are left out of ``repr``.
    """

    _identity: ClassVar[tuple[str, ...]] = ("daily_room", "ws_url")

    daily_room: str | None = None
    daily_token: str | None = attrs.field(default=None, repr=False)
    ice_servers: tuple[dict[str, Any], ...] = ()
    ws_url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    body: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class PipecatSession(Session):
    """A Pipecat Cloud agent session.

    ``agent`` is the agent it was asked of (Pipecat's session objects do not name it);
    ``started_at`` is ``createdAt`` (the start request; ``bot_start_seconds`` later the bot
    was up) and ``duration`` is ``endedAt - createdAt``, as Pipecat's own CLI counts it.
    ``resource_metrics`` and ``meeting_ids`` come with ``sessions.get()`` only (None
    elsewhere), and ``connection`` with ``sessions.start()`` only. Pipecat sessions carry no
    metadata (``metadata`` is None).
    """

    provider: str = "pipecat"
    agent: str | None = None
    service_id: str | None = None
    organization_id: str | None = None
    cold_start: bool | None = None
    bot_start_seconds: float | None = None
    completion_status: str | None = None
    end_state: str | None = None
    resource_metrics: ResourceMetrics | None = None
    meeting_ids: tuple[MeetingId, ...] | None = None
    connection: Connection | None = None


@attrs.frozen(kw_only=True)
class Agent(Model):
    """A Pipecat Cloud agent (a deployed service).

    ``ready``: its latest deployment passed validation; ``available``: it can take new
    sessions now. ``ready`` and ``active_session_count`` come with ``agents.get()`` only;
    the agent listing does not carry them (None there).
    """

    name: str
    ready: bool | None = None
    active_session_count: int | None = None
    available: bool | None = None
    region: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


# ---- the status table and the wire -------------------------------------------------------

_FAILED_END_STATES = frozenset({"agent_error", "agent_start_timeout", "ended_before_agent_start"})
_ENDED_END_STATES = frozenset({"completed", "ended", "terminated"})
_FAILED_COMPLETIONS = frozenset({"HTTP_ERROR"})


def _completion_failed(completion_status: str) -> bool:
    text = completion_status.strip()
    if text.upper() in _FAILED_COMPLETIONS:
        return True
    return text.isdigit() and 500 <= int(text) <= 599


def session_status(
    *, ended_at: Any = None, end_state: Any = None, completion_status: Any = None
) -> SessionStatus:
    """Pipecat's ``endedAt``, ``endState`` and ``completionStatus`` to a SessionStatus.

    Pipecat has no status field: a session runs while ``endedAt`` is null, newer APIs say how
    it ended in ``endState``, and ``completionStatus`` says how the bot's request ended. The
    first row that matches wins:

    | ``endState``                                               | ``completionStatus`` | status  |
    |------------------------------------------------------------|----------------------|---------|
    | agent_error, agent_start_timeout, ended_before_agent_start | any                  | FAILED  |
    | any                                                        | HTTP_ERROR, 5xx      | FAILED  |
    | completed, ended, terminated                               | other                | ENDED   |
    | any, and ``endedAt`` set                                   | other                | ENDED   |
    | active, or absent, and ``endedAt`` null                    | other                | RUNNING |
    | anything else (unknown, new values), ``endedAt`` null      | other                | UNKNOWN |

    A 5xx code is any from "500" to "599", as text or a number.

    Pipecat shows no queued or starting stage: a session it knows has been started, so one
    that has not ended is RUNNING, a just-started one included. ``endState`` matches
    case-insensitively; values of the wrong type count as absent. The session's
    ``raw_status`` is ``endState``, else ``completionStatus``.
    """
    state = end_state.strip().lower() if isinstance(end_state, str) and end_state.strip() else None
    if state in _FAILED_END_STATES:
        return SessionStatus.FAILED
    if (
        isinstance(completion_status, (str, int))
        and not isinstance(completion_status, bool)
        and _completion_failed(str(completion_status))
    ):
        return SessionStatus.FAILED
    if state in _ENDED_END_STATES or ended_at is not None:
        return SessionStatus.ENDED
    if state in (None, "active"):
        return SessionStatus.RUNNING
    return SessionStatus.UNKNOWN


def _raw_status(wire: Mapping[str, Any]) -> str | None:
    for key in ("endState", "completionStatus"):
        value = wire.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


_CONNECTION_KEYS = ("dailyRoom", "dailyToken", "iceConfig", "wsUrl", "token")


def _connection(wire: Mapping[str, Any]) -> Connection | None:
    """The start answer's ways in, or None when it has none (every other answer).

    Read leniently: the session exists once Pipecat answered, so a field of an unexpected
    type is left out (it stays in ``raw``) rather than failing the start.
    """
    if all(wire.get(key) is None for key in _CONNECTION_KEYS):
        return None
    ice_config = wire.get("iceConfig")
    servers = ice_config.get("iceServers") if isinstance(ice_config, dict) else None
    ice_servers = tuple(
        server
        for server in (servers if isinstance(servers, list) else ())
        if isinstance(server, dict)
    )
    return Connection(
        daily_room=_text_or_none(wire.get("dailyRoom")),
        daily_token=_text_or_none(wire.get("dailyToken")),
        ice_servers=ice_servers,
        ws_url=_text_or_none(wire.get("wsUrl")),
        token=_text_or_none(wire.get("token")),
        body=_text_or_none(wire.get("body")),
    )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _derive_session(wire: dict[str, Any]) -> dict[str, Any]:
    created = wire.get("createdAt")
    ended = wire.get("endedAt")
    created_at = parse_datetime(created) if created is not None else None
    duration = None
    if created_at is not None and ended is not None:
        duration = max(0.0, (parse_datetime(ended) - created_at).total_seconds())
    return {
        "status": session_status(
            ended_at=ended,
            end_state=wire.get("endState"),
            completion_status=wire.get("completionStatus"),
        ),
        "raw_status": _raw_status(wire),
        "started_at": created_at,
        "duration": duration,
        "connection": _connection(wire),
        "metadata": None,
    }


def _optional_tuple(
    structure: Callable[[Any], Any],
) -> Callable[[Any, Any], tuple[Any, ...] | None]:
    def hook(value: Any, _: Any) -> tuple[Any, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return tuple(structure(item) for item in value)

    return hook


def _samples_hook(structure: Callable[[Any], Any]) -> Callable[[Any, Any], tuple[Any, ...]]:
    optional = _optional_tuple(structure)

    def hook(value: Any, _: Any) -> tuple[Any, ...]:
        # A session still running may have no samples yet: null reads as none so far.
        return optional(value, _) or ()

    return hook


_converter = make_converter()
_sample_from_wire = WireStructurer(
    ResourceSample,
    converter=_converter,
    renames={"cpu_millicores": "c", "memory_bytes": "m"},
    register=True,
)
_meeting_from_wire = WireStructurer(MeetingId, converter=_converter, register=True)
_converter.register_structure_hook_func(
    lambda type_: type_ == tuple[ResourceSample, ...], _samples_hook(_sample_from_wire)
)
_converter.register_structure_hook_func(
    lambda type_: type_ == tuple[MeetingId, ...] | None, _optional_tuple(_meeting_from_wire)
)
WireStructurer(ResourceMetrics, converter=_converter, register=True)
_session_from_wire = WireStructurer(
    PipecatSession,
    converter=_converter,
    renames={"id": "sessionId"},
    derived=(
        "status",
        "raw_status",
        "provider",
        "agent",
        "started_at",
        "duration",
        "metadata",
        "connection",
    ),
    derive=_derive_session,
)
_agent_from_wire = WireStructurer(Agent, converter=_converter)


def _session(wire: Any, agent: str) -> PipecatSession:
    """A session object from the wire, with the agent it was asked of."""
    return set_derived(_session_from_wire(wire), agent=agent)


def _ended_session(wire: Any, session_id: str, agent: str) -> PipecatSession:
    """The session as ``DELETE .../sessions/{id}`` reports it: ``{status, session_id}``.

    ``terminated`` (what Pipecat answers) maps through :func:`session_status` to ENDED, as
    the session's ``endState`` then reads; a stop Pipecat accepted without saying it
    finished (an unknown or ``active`` status, or no answer body) is STOPPING.
    """
    answer = {} if wire is None else expect_object(wire, "sessions.end")
    raw_status = answer.get("status")
    status = session_status(end_state=raw_status)
    if status in (SessionStatus.RUNNING, SessionStatus.UNKNOWN):
        status = SessionStatus.STOPPING
    answered_id = answer.get("session_id")
    return PipecatSession(
        id=answered_id if isinstance(answered_id, str) and answered_id else session_id,
        agent=agent,
        status=status,
        raw_status=raw_status if isinstance(raw_status, str) else None,
        raw=answer,
    )


def _issues_summary(issues: list[Any], limit: int = 3) -> str:
    parts: list[str] = []
    for issue in issues[:limit]:
        if not isinstance(issue, dict):
            continue
        text = issue.get("message")
        if not isinstance(text, str) or not text:
            continue
        path = issue.get("path")
        where = ".".join(str(part) for part in path) if isinstance(path, list) else ""
        parts.append(f"{where}: {text}" if where else text)
    if len(issues) > limit and parts:
        parts.append(f"+{len(issues) - limit} more")
    return "; ".join(parts)


def _error_fields(status: int, body: Any) -> ErrorFields:
    """Reads Pipecat's error bodies.

    ``{error, code}`` (string codes) and the 429's ``{status, code, message}`` read as every
    vendor's; a ZodError's ``err.issues`` becomes ``details`` (and is summed up in the
    message); the at-capacity code is a RateLimitError whatever the status.
    """
    fields = default_error_fields(status, body)
    error_class = fields.error_class
    message = fields.message
    details = fields.details
    if isinstance(body, dict):
        err = body.get("err")
        if isinstance(err, dict) and isinstance(err.get("issues"), list):
            details = err["issues"]
            summary = _issues_summary(details)
            if summary:
                message = f"{message} ({summary})"
    if fields.code is not None and fields.code.strip().upper() == AT_CAPACITY_CODE:
        error_class = RateLimitError
    return ErrorFields(error_class=error_class, message=message, code=fields.code, details=details)


# ---- resources ---------------------------------------------------------------------------

_SESSION_LISTING = Listing(
    operation="sessions.list",
    path=_AGENTS + "/{agent}/sessions",
    style=Offsets(items="sessions", total=("total_count",)),
    structure=_session_from_wire,
)
_AGENT_LISTING = Listing(
    operation="agents.list",
    path=_AGENTS,
    style=OneAnswer(items="services"),
    structure=_agent_from_wire,
    key=lambda agent: agent.name,
)


class PipecatSessions(SessionsResource[PipecatSession]):
    """``client.sessions``: start, get, end, list and wait for an agent's sessions.

    Every call takes ``agent=``; the client's ``agent`` is the default.
    """

    _client: PipecatCloud

    def start(
        self,
        *,
        agent: str | None = None,
        create_daily_room: bool | None = None,
        daily_room_properties: Mapping[str, Any] | None = None,
        daily_meeting_token_properties: Mapping[str, Any] | None = None,
        enable_default_ice_servers: bool | None = None,
        transport: str | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> SessionStart[PipecatSession]:
        """Starts a session of ``agent`` with the public key. Await the result for the
        session (with ``connection``), or use it with ``async with`` to have it ended on exit.

        Only the options given are sent. ``body`` is any JSON value handed to the bot; its
        serialized size must stay within 1 MB (daily, webrtc) or 4 KB (websocket). Sent at
        most once: an ambiguous failure (5xx, a reset or timeout once the request went out,
        or a success answer without a readable ``sessionId``) raises StartOutcomeUnknownError.
        ``timeout`` bounds the whole start.
        """
        client = self._client
        name, encoded = client._resolve_agent(agent)
        client._authorization("public")  # fails now, before anything else, without the key
        wire: dict[str, Any] = {}
        if create_daily_room is not None:
            wire["createDailyRoom"] = check_flag("create_daily_room", create_daily_room)
        if daily_room_properties is not None:
            wire["dailyRoomProperties"] = check_json_object(
                "daily_room_properties", daily_room_properties
            )
        if daily_meeting_token_properties is not None:
            wire["dailyMeetingTokenProperties"] = check_json_object(
                "daily_meeting_token_properties", daily_meeting_token_properties
            )
        if enable_default_ice_servers is not None:
            wire["enableDefaultIceServers"] = check_flag(
                "enable_default_ice_servers", enable_default_ice_servers
            )
        if transport is not None:
            wire["transport"] = check_choice("transport", transport, TRANSPORTS)
        if body is not None:
            checked = check_json_value("body", body)
            kind = transport or _DEFAULT_TRANSPORT
            limit = BODY_LIMITS[kind]
            size = json_size(checked)
            if size > limit:
                raise InvalidRequestError(
                    "body",
                    f"is {size} bytes serialized; Pipecat takes at most {limit} bytes "
                    f"with the {kind} transport",
                )
            wire["body"] = checked

        def structure(reply: Reply) -> PipecatSession:
            return _session(expect_object(reply.data, "sessions.start"), name)

        plan = StartPlan(
            call=client._call(
                "sessions.start",
                "POST",
                f"{_PUBLIC}/{encoded}/start",
                auth="public",
                json=wire,
                mode=RetryMode.AT_MOST_ONCE,
            ),
            structure=structure,
            describe=f"sessions.start of agent {name!r}",
            hint=(
                f"Pipecat offers no way to look a start up: check "
                f"sessions.list(agent={name!r}, status='active') before starting again."
            ),
        )
        return self._start(plan, timeout=timeout)

    async def get(
        self, session_id: str, *, agent: str | None = None, timeout: float | None = None
    ) -> PipecatSession:
        """The session's details, with ``resource_metrics`` and ``meeting_ids``."""
        name, path = self._session_path(session_id, agent)
        return await self._get(
            "sessions.get",
            path,
            lambda data: _session(data, name),
            auth="private",
            timeout=timeout,
        )

    def _session_path(self, session_id: str, agent: str | None) -> tuple[str, str]:
        name, encoded = self._client._resolve_agent(agent)
        return name, f"{_AGENTS}/{encoded}/sessions/{path_segment('session_id', session_id)}"

    async def end(
        self, session_id: str, *, agent: str | None = None, timeout: float | None = None
    ) -> PipecatSession:
        """Stops the session (``DELETE``) and returns it as Pipecat reports it: ENDED for
        Pipecat's ``terminated``, with ``raw`` the answer. Retried like a GET; a session
        Pipecat does not know raises NotFoundError."""
        name, path = self._session_path(session_id, agent)
        session = await self._delete(
            "sessions.end",
            path,
            lambda data: _ended_session(data, session_id, name),
            auth="private",
            timeout=timeout,
        )
        self._client._held.discard(session_id)
        return session

    def list(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        deployment_id: str | None = None,
        start_type: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[PipecatSession]:
        """The agent's sessions, newest first, walked by limit/offset as it is iterated.

        ``status`` is ``active``, ``ended`` or ``all``; ``start_type`` is ``cold``, ``warm``
        or ``all``; ``started_after``/``started_before`` are timezone-aware datetimes, sent
        as whole unix seconds (``startTime``/``endTime``), widened to the enclosing second.
        ``per_page`` is 1..100 (Pipecat documents a default of 10 and no maximum).
        ``timeout`` bounds each page's request.
        """
        name, encoded = self._client._resolve_agent(agent)
        query: dict[str, str] = {}
        if status is not None:
            query["status"] = check_choice("status", status, _LIST_STATUSES)
        if deployment_id is not None:
            query["deploymentId"] = check_text("deployment_id", deployment_id)
        if start_type is not None:
            query["startType"] = check_choice("start_type", start_type, _START_TYPES)
        if started_after is not None:
            query["startTime"] = unix_seconds("started_after", started_after, round_up=False)
        if started_before is not None:
            query["endTime"] = unix_seconds("started_before", started_before, round_up=True)
        if (
            started_after is not None
            and started_before is not None
            and started_before <= started_after
        ):
            raise InvalidRequestError("started_before", "must be later than started_after")

        def structure(wire: Any) -> PipecatSession:
            return _session(wire, name)

        return self._list(
            _SESSION_LISTING,
            path={"agent": encoded},
            query=query,
            structure=structure,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            auth="private",
            timeout=timeout,
        )

    async def wait(
        self, session_id: str, *, agent: str | None = None, **options: Unpack[WaitOptions]
    ) -> PipecatSession:
        """Polls until the session of ``agent`` reaches ``until`` (or a later stage) and
        returns it; the options are every provider's (:class:`WaitOptions`).

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``.
        """
        name, _ = self._client._resolve_agent(agent)
        path_segment("session_id", session_id)
        return await self._wait(session_id, {"agent": name}, options)


class Agents(Resource):
    """``client.agents``: get and list the organization's agents (private key)."""

    async def get(self, name: str, *, timeout: float | None = None) -> Agent:
        """The agent's details: ``ready``, ``available``, ``active_session_count``."""
        return await self._get(
            "agents.get",
            f"{_AGENTS}/{path_segment('name', name)}",
            _agent_from_wire,
            auth="private",
            timeout=timeout,
        )

    def list(
        self,
        *,
        region: str | None = None,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> Pager[Agent]:
        """Every agent (in ``region`` when given). Pipecat answers them all at once, so the
        pager has one page, however many agents there are."""
        query = {"region": check_text("region", region)} if region is not None else None
        return self._list(
            _AGENT_LISTING,
            query=query,
            per_page=MAX_PER_PAGE,
            max_items=max_items,
            auth="private",
            timeout=timeout,
        )


# ---- the client --------------------------------------------------------------------------


class PipecatCloud(BaseClient):
    """A client for Pipecat Cloud.

    Resources: ``sessions`` (:class:`PipecatSessions`) and ``agents`` (:class:`Agents`).
    Keys: ``api_key`` is the private key (else ``PIPECAT_CLOUD_API_KEY``), used for every
    call but start; ``public_key`` (else ``PIPECAT_CLOUD_PUBLIC_KEY``) starts sessions. One of
    the two is enough to build a client (one that only starts sessions needs only the public
    key); with neither, construction raises InvalidRequestError naming ``api_key``. A call
    needing the key the client lacks raises InvalidRequestError naming it, before sending.

    ``agent`` is the default agent of session calls. Use it as ``async with
    PipecatCloud(...) as client`` or call ``aclose()``. The other keyword arguments are
    those every client takes (:class:`~agentcloud._client.ClientOptions`).
    """

    provider = "pipecat"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        api_key: str | None = None,
        public_key: str | None = None,
        *,
        agent: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        private = credential("api_key", api_key, PRIVATE_KEY_ENV)
        public = credential("public_key", public_key, PUBLIC_KEY_ENV)
        if private is None and public is None:
            raise InvalidRequestError(
                "api_key",
                f"missing: pass api_key= (private key) and/or public_key=, or set "
                f"{PRIVATE_KEY_ENV} / {PUBLIC_KEY_ENV}",
            )
        self._agent = check_segment("agent", agent) if agent is not None else None
        super().__init__(secrets=[private, public], error_fields=_error_fields, **options)
        self._private = None if private is None else f"Bearer {private}"
        self._public = None if public is None else f"Bearer {public}"
        self.sessions = PipecatSessions(self)
        self.agents = Agents(self)

    @property
    def agent(self) -> str | None:
        """The default agent of session calls."""
        return self._agent

    def __repr__(self) -> str:
        keys = "+".join(
            kind
            for kind, value in (("private", self._private), ("public", self._public))
            if value is not None
        )
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, agent={self._agent!r}, "
            f"keys={keys!r})"
        )

    def _authorization(self, scope: Any) -> Callable[[], str]:
        """The Authorization of ``"public"`` calls (starts) or private ones (the rest);
        InvalidRequestError now if the client lacks that key."""
        if scope == "public":
            header = self._public
            if header is None:
                raise InvalidRequestError(
                    "public_key",
                    f"starting a session needs the public key: pass public_key= or set "
                    f"{PUBLIC_KEY_ENV}",
                )
        else:
            header = self._private
            if header is None:
                raise InvalidRequestError(
                    "api_key",
                    f"this call needs the private key: pass api_key= or set {PRIVATE_KEY_ENV}",
                )
        value = header
        return lambda: value

    def _resolve_agent(self, agent: str | None) -> tuple[str, str]:
        """``agent`` or the client's default, checked: (name, percent-encoded segment)."""
        name = agent if agent is not None else self._agent
        if name is None:
            raise InvalidRequestError(
                "agent", "missing: pass agent= to this call or to PipecatCloud(agent=...)"
            )
        return name, path_segment("agent", name)

    async def _end_session(self, session: Session) -> object:
        agent = session.agent if isinstance(session, PipecatSession) else None
        return await self.sessions.end(session.id, agent=agent)


# ---- the command line --------------------------------------------------------------------

_AGENT_OPTION = Option(flag="--agent", help="the agent", env="PIPECAT_CLOUD_AGENT")

CLI = ProviderCLI(
    client=(_AGENT_OPTION,),
    start=(
        Option(flag="--create-daily-room", help="create a Daily room", switch=True),
        Option(flag="--transport", help="the transport", choices=TRANSPORTS),
        Option(
            flag="--body",
            help="JSON handed to the bot (or @FILE, or @- for standard input)",
            convert=json_argument("--body"),
            metavar="JSON|@FILE",
        ),
    ),
    listing=(
        Option(flag="--status", help="active, ended or all", choices=_LIST_STATUSES),
        Option(flag="--deployment-id", help="only this deployment's sessions"),
        Option(flag="--start-type", help="cold, warm or all", choices=_START_TYPES),
        Option(
            flag="--started-after",
            help="ISO 8601 time with a zone",
            parse=timestamp,
            metavar="TIME",
        ),
        Option(
            flag="--started-before",
            help="ISO 8601 time with a zone",
            parse=timestamp,
            metavar="TIME",
        ),
    ),
    credentials=(PRIVATE_KEY_ENV, PUBLIC_KEY_ENV, "PIPECAT_CLOUD_AGENT"),
    base_url_env="PIPECAT_CLOUD_BASE_URL",
)
"""Pipecat's part of the ``agentcloud`` command: ``--agent``, start and listing options,
credential variables."""
