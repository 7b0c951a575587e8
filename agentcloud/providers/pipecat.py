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

Start cannot be reconciled: Pipecat keeps no caller-chosen marker to look a start up by. So a
start is sent at most once (repeated only after a 429 or a connection that never opened), and
an ambiguous failure raises :class:`~agentcloud.StartOutcomeUnknownError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from .._client import DEFAULT_TIMEOUT, BaseClient
from .._convert import WireStructurer, converter, parse_datetime
from .._lifecycle import SessionStart, wait_for_status
from .._retry import RetryPolicy
from .._transport import (
    Call,
    ErrorFields,
    Reply,
    RetryMode,
    default_error_fields,
    outcome_is_ambiguous,
)
from ..errors import (
    AgentCloudError,
    InvalidRequestError,
    RateLimitError,
    ResponseDecodeError,
    StartOutcomeUnknownError,
)
from ..models import (
    Agent,
    Connection,
    MeetingId,
    Page,
    PipecatSession,
    ResourceMetrics,
    ResourceSample,
    Session,
    SessionStatus,
)
from ..pagination import MAX_PER_PAGE, Pager
from ._common import (
    check_json_object,
    check_json_value,
    check_segment,
    check_text,
    credential,
    expect_count,
    expect_list,
    expect_object,
    path_segment,
)

__all__ = [
    "AT_CAPACITY_CODE",
    "BODY_LIMITS",
    "DEFAULT_BASE_URL",
    "PRIVATE_KEY_ENV",
    "PUBLIC_KEY_ENV",
    "PipecatCloud",
    "TRANSPORTS",
    "session_status",
]

DEFAULT_BASE_URL = "https://api.pipecat.daily.co"
PRIVATE_KEY_ENV = "PIPECAT_CLOUD_API_KEY"
PUBLIC_KEY_ENV = "PIPECAT_CLOUD_PUBLIC_KEY"
#: The error code of a start refused because the agent has no free capacity.
AT_CAPACITY_CODE = "PCC-AGENT-AT-CAPACITY"

_AGENTS = "/v1/agents"
_PUBLIC = "/v1/public"

#: The transports a start may ask for; Pipecat's default is daily.
TRANSPORTS = ("daily", "webrtc", "websocket")
_DEFAULT_TRANSPORT = "daily"
#: The largest serialized start ``body`` per transport: 1 MB for daily and webrtc, 4 KB for
#: websocket (read as binary units, so the SDK never refuses what Pipecat would take; a body
#: Pipecat finds too large still comes back as PayloadTooLargeError).
BODY_LIMITS: dict[str, int] = {"daily": 1024 * 1024, "webrtc": 1024 * 1024, "websocket": 4 * 1024}

_LIST_STATUSES = ("active", "ended", "all")
_START_TYPES = ("cold", "warm", "all")

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

    ====================================================  ========================  =======
    ``endState``                                          ``completionStatus``      status
    ====================================================  ========================  =======
    agent_error, agent_start_timeout,                     any                       FAILED
    ended_before_agent_start
    any                                                   HTTP_ERROR, or a 5xx      FAILED
                                                          code ("500", 503)
    completed, ended, terminated                          other                     ENDED
    any, and ``endedAt`` set                              other                     ENDED
    active, or absent, and ``endedAt`` null               other                     RUNNING
    anything else (unknown, new values), ``endedAt``      other                     UNKNOWN
    null
    ====================================================  ========================  =======

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
    }


def _optional_tuple(structure: Callable[[Any], Any]) -> Callable[[Any, Any], tuple[Any, ...]]:
    def hook(value: Any, _: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return tuple(structure(item) for item in value)

    return hook


_sample_from_wire = WireStructurer(
    ResourceSample, renames={"cpu_millicores": "c", "memory_bytes": "m"}, register=True
)
_meeting_from_wire = WireStructurer(MeetingId, register=True)
# null arrays read as empty: a session still running may have no samples or meetings yet.
converter.register_structure_hook_func(
    lambda type_: type_ == tuple[ResourceSample, ...], _optional_tuple(_sample_from_wire)
)
converter.register_structure_hook_func(
    lambda type_: type_ == tuple[MeetingId, ...], _optional_tuple(_meeting_from_wire)
)
_metrics_from_wire = WireStructurer(ResourceMetrics, register=True)
_session_from_wire = WireStructurer(
    PipecatSession,
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
_agent_from_wire = WireStructurer(Agent)


def _session(wire: Any, agent: str) -> PipecatSession:
    """A session object from the wire, with the agent it was asked of."""
    session = _session_from_wire(wire)
    # Set once on the fresh instance (as the converter sets derived fields) rather than
    # building the session a second time with attrs.evolve.
    object.__setattr__(session, "agent", agent)
    return session


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


def _check_flag(argument: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(argument, f"must be True or False, got {type(value).__name__}")
    return value


def _check_choice(argument: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidRequestError(argument, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def _unix_seconds(argument: str, value: object, *, round_up: bool) -> str:
    """An aware datetime as whole unix seconds, rounded to widen the window, not narrow it."""
    if not isinstance(value, datetime):
        raise InvalidRequestError(
            argument, f"must be a timezone-aware datetime, got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(
            argument, "must be timezone-aware (e.g. datetime.now(UTC)); a naive time is ambiguous"
        )
    seconds = value.timestamp()
    return str(math.ceil(seconds) if round_up else math.floor(seconds))


def _serialized_size(body: Any) -> int:
    # Measured as the transport sends it: compact separators, ASCII escapes.
    return len(json.dumps(body, separators=(",", ":")))


class PipecatSessions:
    """``client.sessions``: start, get, end, list and wait for an agent's sessions.

    Every call takes ``agent=``; the client's ``agent`` is the default.
    """

    def __init__(self, client: PipecatCloud) -> None:
        self._client = client

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
    ) -> SessionStart[PipecatSession]:
        """Starts a session of ``agent`` with the public key. Await the result for the
        session (with ``connection``), or use it with ``async with`` to have it ended on exit.

        Only the options given are sent. ``body`` is any JSON value handed to the bot; its
        serialized size must stay within 1 MB (daily, webrtc) or 4 KB (websocket). Sent at
        most once: an ambiguous failure (5xx, a reset or timeout once the request went out,
        or a success answer without a readable ``sessionId``) raises StartOutcomeUnknownError.
        """
        client = self._client
        name, encoded = client.resolve_agent(agent)
        authorization = client.public_authorization()
        wire: dict[str, Any] = {}
        if create_daily_room is not None:
            wire["createDailyRoom"] = _check_flag("create_daily_room", create_daily_room)
        if daily_room_properties is not None:
            wire["dailyRoomProperties"] = check_json_object(
                "daily_room_properties", daily_room_properties
            )
        if daily_meeting_token_properties is not None:
            wire["dailyMeetingTokenProperties"] = check_json_object(
                "daily_meeting_token_properties", daily_meeting_token_properties
            )
        if enable_default_ice_servers is not None:
            wire["enableDefaultIceServers"] = _check_flag(
                "enable_default_ice_servers", enable_default_ice_servers
            )
        if transport is not None:
            wire["transport"] = _check_choice("transport", transport, TRANSPORTS)
        if body is not None:
            checked = check_json_value("body", body)
            kind = transport or _DEFAULT_TRANSPORT
            limit = BODY_LIMITS[kind]
            size = _serialized_size(checked)
            if size > limit:
                raise InvalidRequestError(
                    "body",
                    f"is {size} bytes serialized; Pipecat takes at most {limit} bytes "
                    f"with the {kind} transport",
                )
            wire["body"] = checked
        call = Call(
            operation="sessions.start",
            method="POST",
            path=f"{_PUBLIC}/{encoded}/start",
            json=wire,
            authorization=authorization,
            mode=RetryMode.AT_MOST_ONCE,
        )

        async def end(session_id: str) -> PipecatSession:
            return await self.end(session_id, agent=name)

        return SessionStart(lambda: self._start(call, name), end)

    async def _start(self, call: Call, agent: str) -> PipecatSession:
        client = self._client
        try:
            reply = await client.send(call)
        except AgentCloudError as error:
            if not outcome_is_ambiguous(error):
                raise
            raise StartOutcomeUnknownError(
                f"sessions.start of agent {agent!r} failed after the request may have reached "
                f"Pipecat ({type(error).__name__}: {error}); a session may or may not exist, "
                f"and Pipecat offers no way to look the start up. Check "
                f"sessions.list(agent={agent!r}, status='active') before starting again."
            ) from error
        try:
            session = _session(expect_object(reply.data, "sessions.start"), agent)
        except ResponseDecodeError as error:
            # Pipecat said yes, so a session most likely runs, but which one is unreadable.
            raise StartOutcomeUnknownError(
                f"sessions.start of agent {agent!r} succeeded (HTTP {reply.status}) but the "
                f"answer could not be read ({error}); a session may or may not exist. Check "
                f"sessions.list(agent={agent!r}, status='active')."
            ) from error
        client.held.add(session)
        return session

    async def get(self, session_id: str, *, agent: str | None = None) -> PipecatSession:
        """The session's details, with ``resource_metrics`` and ``meeting_ids``."""
        name, reply = await self._session_call("sessions.get", "GET", session_id, agent)
        return _session(reply.data, name)

    async def _session_call(
        self, operation: str, method: str, session_id: str, agent: str | None
    ) -> tuple[str, Reply]:
        """Sends ``method`` to one session's path with the private key; returns the agent."""
        client = self._client
        name, encoded = client.resolve_agent(agent)
        path = f"{_AGENTS}/{encoded}/sessions/{path_segment('session_id', session_id)}"
        call = Call(
            operation=operation,
            method=method,
            path=path,
            authorization=client.private_authorization(),
        )
        return name, await client.send(call)

    async def end(self, session_id: str, *, agent: str | None = None) -> PipecatSession:
        """Stops the session (``DELETE``) and returns it as Pipecat reports it: ENDED for
        Pipecat's ``terminated``, with ``raw`` the answer. Retried like a GET; a session
        Pipecat does not know raises NotFoundError."""
        name, reply = await self._session_call("sessions.end", "DELETE", session_id, agent)
        self._client.held.discard(session_id)
        return _ended_session(reply.data, session_id, name)

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
    ) -> Pager[PipecatSession]:
        """The agent's sessions, newest first, walked by limit/offset as it is iterated.

        ``status`` is ``active``, ``ended`` or ``all``; ``start_type`` is ``cold``, ``warm``
        or ``all``; ``started_after``/``started_before`` are timezone-aware datetimes, sent
        as whole unix seconds (``startTime``/``endTime``), widened to the enclosing second.
        ``per_page`` is 1..100 (Pipecat documents a default of 10 and no maximum).
        """
        client = self._client
        name, encoded = client.resolve_agent(agent)
        query: dict[str, str] = {}
        if status is not None:
            query["status"] = _check_choice("status", status, _LIST_STATUSES)
        if deployment_id is not None:
            query["deploymentId"] = check_text("deployment_id", deployment_id)
        if start_type is not None:
            query["startType"] = _check_choice("start_type", start_type, _START_TYPES)
        if started_after is not None:
            query["startTime"] = _unix_seconds("started_after", started_after, round_up=False)
        if started_before is not None:
            query["endTime"] = _unix_seconds("started_before", started_before, round_up=True)
        if (
            started_after is not None
            and started_before is not None
            and started_before <= started_after
        ):
            raise InvalidRequestError("started_before", "must be later than started_after")

        def structure(wire: Any) -> PipecatSession:
            return _session(wire, name)

        return client.pager(
            f"{_AGENTS}/{encoded}/sessions",
            "sessions.list",
            structure,
            query=query,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
        )

    async def wait(
        self,
        session_id: str,
        *,
        agent: str | None = None,
        until: SessionStatus | str = SessionStatus.RUNNING,
        timeout: float | None = 120.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> PipecatSession:
        """Polls until the session reaches ``until`` (or a later stage) and returns it.

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``.
        """
        name, _ = self._client.resolve_agent(agent)
        path_segment("session_id", session_id)

        async def get(sid: str) -> PipecatSession:
            return await self.get(sid, agent=name)

        return await wait_for_status(
            get,
            session_id,
            until=until,
            timeout=timeout,
            retry=self._client.retry,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )


def _session_id(session: PipecatSession) -> str:
    return session.id


def _agent_name(agent: Agent) -> str:
    return agent.name


class Agents:
    """``client.agents``: get and list the organization's agents (private key)."""

    def __init__(self, client: PipecatCloud) -> None:
        self._client = client

    async def get(self, name: str) -> Agent:
        """The agent's details: ``ready``, ``available``, ``active_session_count``."""
        client = self._client
        reply = await client.send(
            Call(
                operation="agents.get",
                method="GET",
                path=f"{_AGENTS}/{path_segment('name', name)}",
                authorization=client.private_authorization(),
            )
        )
        return _agent_from_wire(reply.data)

    def list(self, *, region: str | None = None, max_items: int | None = None) -> Pager[Agent]:
        """Every agent (in ``region`` when given). Pipecat answers them all at once, so the
        pager has one page, however many agents there are."""
        client = self._client
        authorization = client.private_authorization()
        query = {"region": check_text("region", region)} if region is not None else None
        call = Call(
            operation="agents.list",
            method="GET",
            path=_AGENTS,
            query=query,
            authorization=authorization,
        )

        async def fetch(index: int, size: int) -> Page[Agent]:
            if index > 0:  # the one answer held every agent
                return Page(items=(), offset=index * size, total=None)
            reply = await client.send(call)
            data = expect_object(reply.data, "agents.list")
            items = tuple(
                _agent_from_wire(item)
                for item in expect_list(data.get("services"), "agents.list services")
            )
            return Page(items=items, offset=0, total=len(items))

        return Pager(fetch, key=_agent_name, per_page=MAX_PER_PAGE, max_items=max_items)


class PipecatCloud(BaseClient):
    """A client for Pipecat Cloud.

    Keys: ``api_key`` is the private key (else ``PIPECAT_CLOUD_API_KEY``), used for every
    call but start; ``public_key`` (else ``PIPECAT_CLOUD_PUBLIC_KEY``) starts sessions. One of
    the two is enough to build a client (one that only starts sessions needs only the public
    key); with neither, construction raises InvalidRequestError naming ``api_key``. A call
    needing the key the client lacks raises InvalidRequestError naming it, before sending.

    ``agent`` is the default agent of session calls. Use it as ``async with
    PipecatCloud(...) as client`` or call ``aclose()``.
    """

    provider = "pipecat"

    def __init__(
        self,
        api_key: str | None = None,
        public_key: str | None = None,
        *,
        agent: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http: aiohttp.ClientSession | None = None,
        allow_insecure: bool = False,
        end_on_close: bool = False,
        max_connections: int = 100,
    ) -> None:
        private = credential("api_key", api_key, PRIVATE_KEY_ENV)
        public = credential("public_key", public_key, PUBLIC_KEY_ENV)
        if private is None and public is None:
            raise InvalidRequestError(
                "api_key",
                f"missing: pass api_key= (private key) and/or public_key=, or set "
                f"{PRIVATE_KEY_ENV} / {PUBLIC_KEY_ENV}",
            )
        self.agent = check_segment("agent", agent) if agent is not None else None
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            http=http,
            allow_insecure=allow_insecure,
            end_on_close=end_on_close,
            max_connections=max_connections,
            secrets=[private, public],
            error_fields=_error_fields,
        )
        self._private = None if private is None else f"Bearer {private}"
        self._public = None if public is None else f"Bearer {public}"
        self.sessions = PipecatSessions(self)
        self.agents = Agents(self)

    def __repr__(self) -> str:
        keys = "+".join(
            kind
            for kind, value in (("private", self._private), ("public", self._public))
            if value is not None
        )
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, agent={self.agent!r}, "
            f"keys={keys!r})"
        )

    def private_authorization(self) -> Callable[[], str]:
        """The Authorization of private calls; InvalidRequestError now if there is no key."""
        header = self._private
        if header is None:
            raise InvalidRequestError(
                "api_key",
                f"this call needs the private key: pass api_key= or set {PRIVATE_KEY_ENV}",
            )
        return lambda: header

    def public_authorization(self) -> Callable[[], str]:
        """The Authorization of starts; InvalidRequestError now if there is no public key."""
        header = self._public
        if header is None:
            raise InvalidRequestError(
                "public_key",
                f"starting a session needs the public key: pass public_key= or set "
                f"{PUBLIC_KEY_ENV}",
            )
        return lambda: header

    def resolve_agent(self, agent: str | None) -> tuple[str, str]:
        """``agent`` or the client's default, checked: (name, percent-encoded segment)."""
        name = agent if agent is not None else self.agent
        if name is None:
            raise InvalidRequestError(
                "agent", "missing: pass agent= to this call or to PipecatCloud(agent=...)"
            )
        return name, path_segment("agent", name)

    async def _end_session(self, session: Session) -> object:
        agent = session.agent if isinstance(session, PipecatSession) else None
        return await self.sessions.end(session.id, agent=agent)

    def pager(
        self,
        path: str,
        operation: str,
        structure: Callable[[Any], Any],
        *,
        query: Mapping[str, str],
        per_page: int,
        max_items: int | None,
        concurrency: int,
    ) -> Pager[Any]:
        """A limit/offset listing of ``path``, stopping at ``total_count``."""
        authorization = self.private_authorization()

        async def fetch(index: int, size: int) -> Page[Any]:
            offset = index * size
            reply = await self.send(
                Call(
                    operation=operation,
                    method="GET",
                    path=path,
                    query={**query, "limit": str(size), "offset": str(offset)},
                    authorization=authorization,
                )
            )
            data = expect_object(reply.data, operation)
            items = expect_list(data.get("sessions"), f"{operation} sessions")
            total = expect_count(data.get("total_count"), f"{operation} total_count")
            return Page(items=tuple(items), offset=offset, total=total)

        return Pager(
            fetch,
            key=_session_id,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            structure=structure,
        )
