"""Pipecat Cloud: agent sessions, the session API, logs, agents, regions and webhooks.

Wire facts (see the vendor's OpenAPI document and pages): private calls live under
``/v1/agents/...`` (and ``/v1/regions``) and take ``Authorization: Bearer <private key>``; a
session is started with ``POST /v1/public/{agent}/start`` and ``Bearer <public key>`` (the
organization comes from the key), and a running bot is reached with the public key too, at
``/v1/public/{agent}/sessions/{id}/{path}`` (the session API). Start answers ``{sessionId,
dailyRoom, dailyToken, iceConfig{iceServers}, token, wsUrl, body}``, of which only
``sessionId`` is always there. Session objects are camelCase (``sessionId``, ``endedAt``
null while running, ``completionStatus`` free text, ``endState`` and ``events`` when the API
is new enough); the listing walks ``limit``/``offset`` and answers ``{total_count,
sessions}`` (snake_case count, no resourceMetrics/meetingIds); the session details add
``resourceMetrics`` (with a ``timeseries`` of ``{t, c, m}``) and ``meetingIds``. ``DELETE
.../sessions/{id}`` answers ``{status: "terminated", session_id}``. The agent list is
``{services: [...]}``, one answer with every agent (it does not page). Logs answer
``{total: {value, relation}, logs: [{log, timestamp, deploymentId}]}``; a ``relation`` of
``gte`` makes ``value`` a lower bound, so the walk does not stop there.

Errors are ``{error, code}`` with a string code (``"404"``, ``"PCC-1001"``, ``NOT_FOUND``,
``PCC-AGENT-AT-CAPACITY`` ...); the listing's 400 adds ``err: {issues, name: "ZodError"}``;
the 429 is ``{status, code, message}``. No Retry-After is documented, but one is honoured.
``PCC-AGENT-AT-CAPACITY`` is :class:`~agentcloud.AgentAtCapacityError` (a RateLimitError)
whatever its status, and it and ``PCC-1001`` (deployment or bot not ready) say that Pipecat
did not act on the request, so even a start may be sent again after them.

Session status. Pipecat has no status field; :func:`session_status` derives one from
``endedAt``, ``endState``, ``completionStatus`` and whether the bot has started. The first
row that matches wins:

====================================================  ========================  ========
``endState``                                          ``completionStatus``      status
====================================================  ========================  ========
agent_error, agent_start_timeout,                     any                       FAILED
ended_before_agent_start
any                                                   HTTP_ERROR, or a 5xx      FAILED
                                                      code ("500", 503)
completed, ended, terminated                          other                     ENDED
any, and ``endedAt`` set                              other                     ENDED
active, or absent; ``endedAt`` null; bot not started  other                     STARTING
active, or absent; ``endedAt`` null; bot started or   other                     RUNNING
the answer cannot tell
anything else (unknown, new values), ``endedAt``      other                     UNKNOWN
null
====================================================  ========================  ========

"Bot started" is read, in this order, from: the ``events`` list (the bot has started once
it holds ``REQUEST_ARRIVED_AT_BOT``; without it no agent has served the caller yet, as the
official CLI reads it); else ``botStartSeconds`` (null until the bot is up, a number after).
The start's answer has neither: the session it returns is STARTING. Any other session
object with neither key comes from an API too old to tell, and reads as started (RUNNING),
so a wait on it never hangs. So ``wait(until=RUNNING)`` returns once the bot is
up, not as soon as Pipecat took the request. ``endState`` matches case-insensitively;
values of the wrong type count as absent. The session's ``raw_status`` is ``endState``,
else ``completionStatus``. ``lifecycle`` is the ``events`` list as
:class:`LifecycleEvent` s (None when the answer has no ``events``: the listing does not).

Start cannot be reconciled: Pipecat keeps no caller-chosen marker to look a start up by. So
the core's start loop runs with no reconciler: a start is sent at most once (repeated only
after a 429, a not-ready or at-capacity answer, or a connection that never opened), and an
ambiguous failure raises :class:`~agentcloud.StartOutcomeUnknownError`.
``start(wait_for_capacity=S)`` keeps re-sending a start refused at capacity for up to S
seconds (the core's start loop re-sends it after each Retry-After or capped back-off,
spending no retry budget).

The session API (``sessions.send``). Pipecat forwards every header but ``host``,
``content-length`` and ``authorization``, and passes the bot's answer through. Pipecat's
own answers are ``{error, code}`` objects (400 ``PCC-1001`` before the bot is ready, 401,
404 for an unknown agent or session, 500) or its 429; any other non-2xx answer is the
bot's own and is returned as a :class:`BotReply`. Whether Pipecat waits for a bot that is
not ready yet or answers ``PCC-1001``, and whether it forwards a query string or a ``/``
in the path, are (unconfirmed): the SDK retries ``PCC-1001`` until ``ready_timeout`` and
sends each path segment percent-encoded, joined by ``/``. The start's body limits (1 MB,
4 KB for websocket) are applied to what is sent; (unconfirmed) whether the proxy has a
limit of its own. An error answer's body is read up to 64 KiB.

Logs' ``startTime``/``endTime`` are sent as unix seconds (unconfirmed; the official CLI
sends neither). Agents are created with ``POST /v1/agents`` and updated with ``POST
/v1/agents/{name}`` (``autoScaling{minAgents, maxAgents}`` in, ``autoScaling{minReplicas,
maxReplicas}`` out); a deploy is complete when ``reconciledDeploymentId`` equals
``desiredDeploymentId`` and ``ready`` is true, which ``agents.wait_ready`` waits for, as the
official CLI does (a ``ready`` seen before the desired deployment is reconciled is the old
deployment's, the CLI's twice-fixed "ready too early").

Webhooks follow Standard Webhooks, as sent by Svix: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` (Pipecat's captured deliveries spell them ``svix-*``; either is read,
``webhook-*`` first), HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed with the base64
part of the ``whsec_`` secret, any of the space-separated ``v1,<mac>`` signatures matching
(others, such as ``v1a``, are skipped), and the timestamp within 5 minutes of ``now``
either way. The envelope is ``{event_type, org, created_at, data}``: ``session.started``
is ``SessionEventType.STARTED`` with ``data.session_id``; every other event keeps its name
with type UNKNOWN. Pipecat sends no ``session.ended``: poll for the end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json as jsonlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, TypedDict, Unpack

import attrs
from multidict import CIMultiDictProxy

from .._checks import (
    check_choice,
    check_count,
    check_flag,
    check_json_encoded,
    check_json_object,
    check_json_value_sized,
    check_seconds,
    check_segment,
    check_text,
    check_timeout,
    credential,
    json_size,
    path_segment,
    unix_seconds,
)
from .._client import BaseClient, ClientOptions
from .._commands import Command, Emit, Option, ProviderCLI, json_argument, key_value, timestamp
from .._convert import (
    WireStructurer,
    builder,
    expect_object,
    make_converter,
    parse_datetime,
    set_derived,
)
from .._json import dumps as dumps_json
from .._json import dumps_object_with
from .._resource import Listing, Resource, SessionsResource, WaitOptions
from .._sessions import Requeue, SessionStart, StartPlan
from .._transport import (
    ErrorFields,
    Reply,
    RetryMode,
    check_default_headers,
    default_error_fields,
    within_deadline,
)
from ..errors import (
    AgentAtCapacityError,
    APIError,
    DeploymentFailedError,
    InvalidRequestError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    WebhookVerificationError,
)
from ..models import LogEntry, Model, Session, SessionEvent, SessionEventType, SessionStatus
from ..pagination import MAX_PER_PAGE, Offsets, OneAnswer, Pager
from ..webhooks import KeyMaterial, json_body

__all__ = [
    "AGENT_PROFILES",
    "AT_CAPACITY_CODE",
    "BODY_LIMITS",
    "CLI",
    "DEFAULT_BASE_URL",
    "KRISP_FILTERS",
    "NOT_READY_CODE",
    "PRIVATE_KEY_ENV",
    "PROXY_METHODS",
    "PUBLIC_KEY_ENV",
    "TRANSPORTS",
    "WEBHOOK_FORMAT",
    "WEBHOOK_TOLERANCE",
    "Agent",
    "AgentSettings",
    "Agents",
    "BotReply",
    "Connection",
    "LifecycleEvent",
    "Logs",
    "MeetingId",
    "PipecatCloud",
    "PipecatSession",
    "PipecatSessions",
    "Region",
    "Regions",
    "ResourceMetrics",
    "ResourceSample",
    "session_status",
    "webhook_secret",
    "webhook_signature",
]

DEFAULT_BASE_URL = "https://api.pipecat.daily.co"
"""Where Pipecat Cloud's API lives, unless a client is given ``base_url=``."""
PRIVATE_KEY_ENV = "PIPECAT_CLOUD_API_KEY"
"""The variable the private key (``api_key``) is read from."""
PUBLIC_KEY_ENV = "PIPECAT_CLOUD_PUBLIC_KEY"
"""The variable the public key (``public_key``) is read from."""
AT_CAPACITY_CODE = "PCC-AGENT-AT-CAPACITY"
"""The error code of a start refused because the agent has no free capacity."""
NOT_READY_CODE = "PCC-1001"
"""The error code of a call made before the deployment or bot is ready (nothing was done)."""

_AGENTS = "/v1/agents"
_PUBLIC = "/v1/public"

TRANSPORTS = ("daily", "webrtc", "websocket")
"""The transports a start may ask for; Pipecat's default is daily."""
_JSON_CONTENT = MappingProxyType({"Content-Type": "application/json"})
_DEFAULT_TRANSPORT = "daily"
BODY_LIMITS: dict[str, int] = {"daily": 1024 * 1024, "webrtc": 1024 * 1024, "websocket": 4 * 1024}
"""The largest serialized start ``body`` per transport: 1 MB for daily and webrtc, 4 KB for
websocket (read as binary units, so the SDK never refuses what Pipecat would take; a body
Pipecat finds too large still comes back as PayloadTooLargeError).
"""

_LIST_STATUSES = ("active", "ended", "all")
_START_TYPES = ("cold", "warm", "all")
#: What ``endState`` values look like (the official CLI's check; the API refuses others).
_END_STATE_SHAPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: The agent name rule of ``POST /v1/agents``.
_AGENT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])")
_MAX_AGENT_NAME = 54
AGENT_PROFILES = ("agent-1x", "agent-2x", "agent-3x")
"""The ``agent_profile=`` values of an agent (``agentProfile``: the resources each agent
instance runs with)."""
KRISP_FILTERS = ("tel", "pro", "off")
"""The ``krisp_viva=`` values of an agent: Krisp VIVA audio filters; ``off`` sends null
(disabled)."""
#: Pipecat's pool cap of agents per deployment.
_MAX_AGENTS = 50
_SESSION_SECONDS = (60, 14400)
_LOG_ORDERS = ("asc", "desc")
PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
"""The HTTP methods ``sessions.send`` accepts: those the session API forwards to the
bot."""
#: Methods whose repetition is harmless by HTTP's rules, so the ordinary retries apply.
_REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_BOT_STARTED_EVENT = "REQUEST_ARRIVED_AT_BOT"
WEBHOOK_TOLERANCE = 300
"""Seconds a webhook's ``webhook-timestamp`` may be from now, either way, before the
delivery is refused (Standard Webhooks' five minutes)."""
#: Transient failures in a row that end ``agents.wait_ready`` (the official CLI's limit).
_WAIT_READY_TRANSIENT_LIMIT = 5


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
class LifecycleEvent(Model):
    """One step of a session's life as Pipecat records it (``events[{eventCode,
    eventTs}]``): ``SESSION_START_INITIATED``, ``REQUEST_ARRIVED_AT_BOT``,
    ``SESSION_COMPLETED``, ``SESSION_TIMEOUT``, or a code added later."""

    _identity: ClassVar[tuple[str, ...]] = ("code", "at")

    code: str
    at: datetime | None = None


@attrs.frozen(kw_only=True)
class PipecatSession(Session):
    """A Pipecat Cloud agent session.

    ``agent`` is the agent it was asked of (Pipecat's session objects do not name it);
    ``started_at`` is ``createdAt`` (the start request; ``bot_start_seconds`` later the bot
    was up) and ``duration`` is ``endedAt - createdAt``, as Pipecat's own CLI counts it.
    ``resource_metrics`` and ``meeting_ids`` come with ``sessions.get()`` only (None
    elsewhere), and ``connection`` with ``sessions.start()`` only. Pipecat sessions carry no
    metadata (``metadata`` is None). ``lifecycle`` is the session's ``events`` (with
    ``sessions.get()``; None where the answer has none). The status is STARTING until the
    bot has started (see the module's status table).
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
    lifecycle: tuple[LifecycleEvent, ...] | None = None


@attrs.frozen(kw_only=True)
class Agent(Model):
    """A Pipecat Cloud agent (a deployed service).

    ``ready``: its latest deployment passed validation; ``available``: it can take new
    sessions now; ``desired_deployment_id`` is the deployment asked for and
    ``reconciled_deployment_id`` the one the operator has rolled out (``deployed`` is True
    when they match and ``ready``). ``min_agents``/``max_agents`` are its auto-scaling
    bounds. ``ready``, ``active_session_count`` and the scaling come with ``agents.get()``
    (and create/update) only; the agent listing does not carry them (None there).
    ``errors``: why its deploy failed, each as ``"CODE: message"`` (Pipecat's undocumented
    status ``errors``; the official CLI takes any entry as a failed deploy, and so does
    :meth:`Agents.wait_ready`).
    """

    name: str
    ready: bool | None = None
    active_session_count: int | None = None
    available: bool | None = None
    region: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    desired_deployment_id: str | None = None
    reconciled_deployment_id: str | None = None
    min_agents: int | None = None
    max_agents: int | None = None
    agent_profile: str | None = None
    errors: tuple[str, ...] = ()
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def deployed(self) -> bool:
        """True once the desired deployment is reconciled and ready: a deploy is done."""
        return (
            self.ready is True
            and self.desired_deployment_id is not None
            and self.reconciled_deployment_id == self.desired_deployment_id
        )


@attrs.frozen(kw_only=True)
class Region(Model):
    """A region agents can be deployed in (``code`` such as ``us-west``)."""

    _identity: ClassVar[tuple[str, ...]] = ("code",)

    code: str
    display_name: str | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True, eq=False)
class BotReply:
    """The running bot's answer to ``sessions.send``: ``status``, ``headers``, the raw
    ``body`` bytes; ``json()`` parses it, ``text`` decodes it (UTF-8, replacing errors).

    A 4xx/5xx here is the bot's own answer (Pipecat's own errors are raised instead).
    """

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, undecodable bytes replaced."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON (None for an empty body); ResponseDecodeError if it is not."""
        if not self.body.strip():
            return None
        try:
            return jsonlib.loads(self.body)
        except (ValueError, RecursionError):
            raise ResponseDecodeError(
                f"the bot's {self.status} answer is not JSON ({len(self.body)} bytes)",
                status=self.status,
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: status, headers, and the body as JSON when it is JSON, else text."""
        try:
            body: Any = self.json()
        except ResponseDecodeError:
            body = self.text
        return {"status": self.status, "headers": dict(self.headers.items()), "body": body}

    def __repr__(self) -> str:
        return f"BotReply(status={self.status}, {len(self.body)} bytes)"


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
    *,
    ended_at: Any = None,
    end_state: Any = None,
    completion_status: Any = None,
    bot_started: bool | None = None,
) -> SessionStatus:
    """Pipecat's ``endedAt``, ``endState``, ``completionStatus`` and whether the bot has
    started (``bot_started``; None when the answer cannot tell) to a SessionStatus, by the
    table in this module's docstring."""
    if end_state is None and completion_status is None and ended_at is None:
        # A session under way (every start answer): nothing to read but ``bot_started``.
        return SessionStatus.STARTING if bot_started is False else SessionStatus.RUNNING
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
        return SessionStatus.STARTING if bot_started is False else SessionStatus.RUNNING
    return SessionStatus.UNKNOWN


def _bot_started(wire: Mapping[str, Any]) -> bool | None:
    """Whether the session's bot has started, by the rules of the module's docstring."""
    events = wire.get("events")
    if isinstance(events, list):
        return any(
            isinstance(event, dict) and event.get("eventCode") == _BOT_STARTED_EVENT
            for event in events
        )
    if "botStartSeconds" in wire:
        return wire["botStartSeconds"] is not None
    return None


def _lifecycle(wire: Mapping[str, Any]) -> tuple[LifecycleEvent, ...] | None:
    """``events`` as LifecycleEvents, read leniently: an entry without a code is skipped,
    an unreadable time is None (the entry stays in ``raw``)."""
    events = wire.get("events")
    if not isinstance(events, list):
        return None
    found: list[LifecycleEvent] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        code = event.get("eventCode")
        if not isinstance(code, str) or not code:
            continue
        at: datetime | None
        try:
            at = parse_datetime(event["eventTs"]) if event.get("eventTs") is not None else None
        except (TypeError, ValueError):
            at = None
        found.append(LifecycleEvent(code=code, at=at))
    return tuple(found)


def _raw_status_of(end_state: Any, completion_status: Any) -> str | None:
    if end_state is None and completion_status is None:
        return None
    for value in (end_state, completion_status):
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


#: ``Connection(...)``, for the start answer's (a third of the frozen ``__init__``'s cost).
_new_connection = builder(Connection)


def _connection(wire: Mapping[str, Any]) -> Connection | None:
    """The start answer's ways in, or None when it has none (every other answer).

    Read leniently: the session exists once Pipecat answered, so a field of an unexpected
    type is left out (it stays in ``raw``) rather than failing the start.
    """
    # Each key read once: a start's answer is on every start.
    room, room_token = wire.get("dailyRoom"), wire.get("dailyToken")
    ice_config, ws_url, token = wire.get("iceConfig"), wire.get("wsUrl"), wire.get("token")
    no_room = room is None and room_token is None and ice_config is None
    if no_room and ws_url is None and token is None:
        return None
    ice_servers: tuple[dict[str, Any], ...] = ()
    if isinstance(ice_config, dict):
        servers = ice_config.get("iceServers")
        if isinstance(servers, list):
            ice_servers = tuple(server for server in servers if isinstance(server, dict))
    body = wire.get("body")
    return _new_connection(
        daily_room=room if isinstance(room, str) else None,
        daily_token=room_token if isinstance(room_token, str) else None,
        ice_servers=ice_servers,
        ws_url=ws_url if isinstance(ws_url, str) else None,
        token=token if isinstance(token, str) else None,
        body=body if isinstance(body, str) else None,
    )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _derive_session(wire: dict[str, Any]) -> dict[str, Any]:
    # Each key read once: every start answer and every listed session comes through here.
    get = wire.get
    created, ended = get("createdAt"), get("endedAt")
    end_state, completion_status = get("endState"), get("completionStatus")
    created_at = parse_datetime(created) if created is not None else None
    duration = None
    if created_at is not None and ended is not None:
        duration = max(0.0, (parse_datetime(ended) - created_at).total_seconds())
    return {
        "status": session_status(
            ended_at=ended,
            end_state=end_state,
            completion_status=completion_status,
            bot_started=_bot_started(wire),
        ),
        "raw_status": _raw_status_of(end_state, completion_status),
        "started_at": created_at,
        "duration": duration,
        "connection": _connection(wire),
        "metadata": None,
        "lifecycle": _lifecycle(wire) if "events" in wire else None,
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
        "lifecycle",
    ),
    derive=_derive_session,
)


def _derive_agent(wire: dict[str, Any]) -> dict[str, Any]:
    scaling = wire.get("autoScaling")
    scaling = scaling if isinstance(scaling, dict) else {}

    def count(key: str) -> int | None:
        value = scaling.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "min_agents": count("minReplicas"),
        "max_agents": count("maxReplicas"),
        "errors": _deploy_errors(wire.get("errors")),
    }


def _deploy_errors(errors: Any) -> tuple[str, ...]:
    """The status's ``errors`` as ``"CODE: message"``; an entry of another shape is kept
    as its text, as the official CLI shows it ("an unknown error")."""
    if not isinstance(errors, list):
        return ()
    found: list[str] = []
    for entry in errors[:_MAX_DEPLOY_ERRORS]:
        if isinstance(entry, dict) and ("code" in entry or "message" in entry):
            text = f"{entry.get('code')}: {entry.get('message')}"
        else:
            text = str(entry)
        found.append(text[:_MAX_DEPLOY_ERROR_TEXT])
    return tuple(found)


#: Bounds on what a hostile status can make an Agent hold.
_MAX_DEPLOY_ERRORS = 20
_MAX_DEPLOY_ERROR_TEXT = 500

_agent_from_wire = WireStructurer(
    Agent,
    converter=_converter,
    derived=("min_agents", "max_agents", "errors"),
    derive=_derive_agent,
)
_region_from_wire = WireStructurer(
    Region, converter=_converter, renames={"display_name": "display_name"}
)


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
    message); the at-capacity code is an AgentAtCapacityError whatever the status. Both
    it and ``PCC-1001`` (not ready) are ``unprocessed``: Pipecat did not act on the request.
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
    code = fields.code.strip().upper() if fields.code is not None else None
    if code == AT_CAPACITY_CODE:
        error_class = AgentAtCapacityError
    return ErrorFields(
        error_class=error_class,
        message=message,
        code=fields.code,
        details=details,
        unprocessed=code in (AT_CAPACITY_CODE, NOT_READY_CODE),
    )


# ---- resources ---------------------------------------------------------------------------


def _log_entry(wire: Any, session_id: str | None) -> LogEntry:
    """A log line (``{log, timestamp, deploymentId}``); Pipecat gives no level, and a line
    does not name its session, so ``session_id`` is the one the listing was filtered by."""
    line = expect_object(wire, "logs.list")
    message = line.get("log")
    if not isinstance(message, str):
        raise ResponseDecodeError("logs.list: a log line has no log text")
    stamp = line.get("timestamp")
    try:
        when = parse_datetime(stamp) if stamp is not None else None
    except (TypeError, ValueError) as error:
        raise ResponseDecodeError(f"logs.list: a log line's timestamp: {error}") from None
    deployment = line.get("deploymentId")
    return LogEntry(
        timestamp=when,
        message=message,
        deployment_id=deployment if isinstance(deployment, str) else None,
        session_id=session_id,
        raw=line,
    )


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
_LOG_LISTING = Listing(
    operation="logs.list",
    path=_AGENTS + "/{agent}/logs",
    style=Offsets(items="logs", total=("total.value",), lower_bound=("total.relation", "gte")),
    structure=lambda wire: _log_entry(wire, None),
    key=lambda entry: (entry.timestamp, entry.message, entry.deployment_id),
)


def _check_time_range(
    after_name: str, after: datetime | None, before_name: str, before: datetime | None
) -> dict[str, str]:
    """``startTime``/``endTime`` from two aware datetimes, widened to whole seconds."""
    query: dict[str, str] = {}
    if after is not None:
        query["startTime"] = unix_seconds(after_name, after, round_up=False)
    if before is not None:
        query["endTime"] = unix_seconds(before_name, before, round_up=True)
    if after is not None and before is not None and before <= after:
        raise InvalidRequestError(before_name, f"must be later than {after_name}")
    return query


def _bot_path(path: object) -> str:
    """The bot's endpoint path: segments checked and percent-encoded, joined by ``/``."""
    if not isinstance(path, str):
        raise InvalidRequestError("path", f"must be a string, got {type(path).__name__}")
    segments = path.strip("/").split("/")
    if not path.strip("/"):
        raise InvalidRequestError("path", "must name the bot's endpoint, e.g. 'status'")
    return "/".join(path_segment("path", segment) for segment in segments)


def _pipecat_answered(status: int, body: Any) -> bool:
    """True for an answer in Pipecat's own shapes (``{error, code}``, its 429, a gateway's
    502/503/504 page) rather than the bot's. A bot answering exactly ``{error, code}`` is
    taken for Pipecat: the two cannot be told apart."""
    if not isinstance(body, dict):
        return status in (502, 503, 504)
    if status == 429 and set(body) == {"status", "code", "message"}:
        return True
    return set(body) == {"error", "code"} and all(isinstance(v, str) for v in body.values())


class PipecatSessions(SessionsResource[PipecatSession]):
    """``client.sessions``: start, get, end, list, wait for and talk to an agent's sessions.

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
        wait_for_capacity: float | None = None,
        timeout: float | None = None,
    ) -> SessionStart[PipecatSession]:
        """Starts a session of ``agent`` with the public key. Await the result for the
        session (with ``connection``), or use it with ``async with`` to have it ended on exit.

        Only the options given are sent. ``body`` is any JSON value handed to the bot; its
        serialized size must stay within 1 MB (daily, webrtc) or 4 KB (websocket). Sent at
        most once: an ambiguous failure (5xx, a reset or timeout once the request went out,
        or a success answer without a readable ``sessionId``) raises StartOutcomeUnknownError.
        An agent at capacity raises AgentAtCapacityError, unless ``wait_for_capacity`` gives
        seconds to keep trying (capped back-off, or Retry-After) until a place frees up.
        ``timeout`` bounds the whole start (waiting for capacity included).
        """
        client = self._client
        name, encoded = client._resolve_agent(agent)
        client._authorization("public")  # fails now, before anything else, without the key
        patience = None
        if wait_for_capacity is not None:
            patience = check_seconds("wait_for_capacity", wait_for_capacity, allow_infinite=False)
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
        # Sent as encoded here, once: the bytes are the start's own copy of ``body``.
        data = (
            dumps_json(wire)
            if body is None
            else dumps_object_with(wire, "body", _encoded_body("body", body, transport))
        )

        def structure(reply: Reply) -> PipecatSession:
            session = _session(expect_object(reply.data, "sessions.start"), name)
            if session.status is SessionStatus.RUNNING:
                # Pipecat has taken the request; nothing says the bot is up yet.
                set_derived(session, status=SessionStatus.STARTING)
            if transport is not None:
                client._remember_transport(session.id, wire["transport"])
            return session

        plan = StartPlan(
            call=client._call(
                "sessions.start",
                "POST",
                f"{_PUBLIC}/{encoded}/start",
                auth="public",
                data=data,
                headers=_JSON_CONTENT,
                mode=RetryMode.AT_MOST_ONCE,
            ),
            structure=structure,
            describe=f"sessions.start of agent {name!r}",
            hint=(
                f"Pipecat offers no way to look a start up: check "
                f"sessions.list(agent={name!r}, status='active') before starting again."
            ),
            requeue=None
            if patience is None
            else Requeue(
                seconds=patience, refused=lambda error: isinstance(error, AgentAtCapacityError)
            ),
        )
        return self._start(plan, timeout=timeout)

    async def get(
        self, session_id: str, *, agent: str | None = None, timeout: float | None = None
    ) -> PipecatSession:
        """The session's details, with ``resource_metrics``, ``meeting_ids`` and
        ``lifecycle``."""
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
        end_state: str | None = None,
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

        ``status`` is ``active``, ``ended`` or ``all``; ``end_state`` keeps the sessions
        that ended so (``completed``, ``agent_error``, ``terminated``,
        ``agent_start_timeout``, ``ended_before_agent_start``, ``active``, ``unknown``, or
        a value Pipecat adds later: any lowercase snake_case word is sent); ``start_type``
        is ``cold``, ``warm`` or ``all``; ``started_after``/``started_before`` are
        timezone-aware datetimes, sent as whole unix seconds (``startTime``/``endTime``),
        widened to the enclosing second. ``per_page`` is 1..100 (Pipecat documents a
        default of 10 and no maximum). ``timeout`` bounds each page's request.
        """
        name, encoded = self._client._resolve_agent(agent)
        query: dict[str, str] = {}
        if status is not None:
            query["status"] = check_choice("status", status, _LIST_STATUSES)
        if end_state is not None:
            if not isinstance(end_state, str) or not _END_STATE_SHAPE.fullmatch(end_state):
                raise InvalidRequestError(
                    "end_state", f"must be a lowercase snake_case word, got {end_state!r}"
                )
            query["endState"] = end_state
        if deployment_id is not None:
            query["deploymentId"] = check_text("deployment_id", deployment_id)
        if start_type is not None:
            query["startType"] = check_choice("start_type", start_type, _START_TYPES)
        query.update(
            _check_time_range("started_after", started_after, "started_before", started_before)
        )

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
        returns it; the options are every provider's (:class:`WaitOptions`). RUNNING means
        the bot is up (a session is STARTING until then).

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``.
        """
        name, _ = self._client._resolve_agent(agent)
        path_segment("session_id", session_id)
        return await self._wait(session_id, {"agent": name}, options)

    async def send(
        self,
        session_id: str,
        path: str,
        *,
        agent: str | None = None,
        method: str = "POST",
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        transport: str | None = None,
        ready_timeout: float = 30.0,
        raise_for_status: bool = False,
        timeout: float | None = None,
    ) -> BotReply:
        """Sends a request to the running bot's own endpoint ``path`` (the session API,
        public key) and returns its answer.

        ``json`` (any JSON value) or ``data`` (bytes; give its Content-Type in
        ``headers``) is the body; its size must stay within the start's limit for the
        session's ``transport`` (1 MB, or 4 KB for websocket; by default the transport the
        client started it with, else daily). Pipecat's ``PCC-1001`` (the bot is not ready:
        the request never reached it) is retried, for any method, until ``ready_timeout``
        seconds have passed. Otherwise the ordinary rules hold: GET, HEAD, OPTIONS, PUT and
        DELETE are retried like reads; POST and PATCH are never repeated once they may
        have reached the bot. The bot's own 4xx/5xx come back in the reply, unless
        ``raise_for_status=True`` raises them as APIError. Pipecat's own errors (unknown
        session or agent, bad key) raise. ``timeout`` bounds the whole call.
        """
        client = self._client
        _, encoded = client._resolve_agent(agent)
        session_segment = path_segment("session_id", session_id)
        where = f"{_PUBLIC}/{encoded}/sessions/{session_segment}/{_bot_path(path)}"
        verb = check_choice(
            "method", method.upper() if isinstance(method, str) else method, PROXY_METHODS
        )
        client._authorization("public")  # fails now, before anything else, without the key
        patience = check_seconds("ready_timeout", ready_timeout, allow_infinite=False)
        limit = check_timeout("timeout", timeout)
        check_flag("raise_for_status", raise_for_status)
        kind = check_choice("transport", transport, TRANSPORTS) if transport else None
        kind = kind or client._transport_of(session_id) or _DEFAULT_TRANSPORT
        if json is not None and data is not None:
            raise InvalidRequestError("data", "give json or data, not both")
        sent_headers = _checked_headers(headers)
        payload: bytes | None = None
        body_json: Any = None
        if json is not None:
            body_json = _checked_body("json", json, kind)
        elif data is not None:
            if not isinstance(data, (bytes, bytearray)):
                raise InvalidRequestError("data", f"must be bytes, got {type(data).__name__}")
            payload = bytes(data)
            if len(payload) > BODY_LIMITS[kind]:
                raise InvalidRequestError(
                    "data",
                    f"is {len(payload)} bytes; Pipecat takes at most {BODY_LIMITS[kind]} "
                    f"bytes with the {kind} transport",
                )
            if not any(key.lower() == "content-type" for key in sent_headers):
                sent_headers["Content-Type"] = "application/octet-stream"
        if verb in ("GET", "HEAD") and (payload is not None or body_json is not None):
            raise InvalidRequestError("json", f"a {verb} request carries no body")
        call = client._call(
            "sessions.send",
            verb,
            where,
            auth="public",
            json=body_json,
            data=payload,
            headers=sent_headers or None,
            mode=RetryMode.IDEMPOTENT if verb in _REPEATABLE_METHODS else RetryMode.AT_MOST_ONCE,
            decode=False,
            passthrough=lambda status, body: not _pipecat_answered(status, body),
        )
        policy = client._retry
        give_up = policy.clock() + patience
        whole = None if limit is None else policy.clock() + limit

        async def send() -> Reply:
            waited = 0
            while True:
                try:
                    return await client._send(call)
                except APIError as error:
                    pause = policy.backoff(waited)
                    if (
                        error.code or ""
                    ).upper() != NOT_READY_CODE or policy.clock() + pause >= give_up:
                        raise
                waited += 1
                await policy.sleep(pause)

        label = f"the call's {limit:g}s" if limit is not None else ""
        reply = await within_deadline(whole, send(), label=label)
        answer = BotReply(status=reply.status, headers=reply.headers, body=reply.body)
        if raise_for_status and not answer.ok:
            raise _bot_error(answer, reply.request_id, client._redact)
        return answer


def _encoded_body(argument: str, value: Any, transport: str | None) -> bytes:
    """``value`` encoded as sent, within Pipecat's limit for ``transport`` (measured, as
    :func:`_checked_body` measures, with ASCII escapes: UTF-8 text is at most six times
    shorter, so only a body near the limit is measured again)."""
    encoded = check_json_encoded(argument, value)
    kind = transport or _DEFAULT_TRANSPORT
    limit = BODY_LIMITS[kind]
    size = len(encoded)
    if size * 6 > limit:
        size = json_size(value)
    if size > limit:
        raise InvalidRequestError(
            argument,
            f"is {size} bytes serialized; Pipecat takes at most {limit} bytes "
            f"with the {kind} transport",
        )
    return encoded


def _checked_body(argument: str, value: Any, transport: str | None) -> Any:
    checked, size = check_json_value_sized(argument, value)
    kind = transport or _DEFAULT_TRANSPORT
    limit = BODY_LIMITS[kind]
    if size > limit:
        # The size was of the text the copy came from; the copy's own text may be
        # shorter (a key given twice, as 1 and "1", is sent once): measure what is sent.
        size = json_size(checked)
    if size > limit:
        raise InvalidRequestError(
            argument,
            f"is {size} bytes serialized; Pipecat takes at most {limit} bytes "
            f"with the {kind} transport",
        )
    return checked


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    try:
        return check_default_headers(headers)
    except InvalidRequestError as error:
        raise InvalidRequestError("headers", error.problem) from None


def _bot_error(reply: BotReply, request_id: str | None, redact: Callable[[str], str]) -> APIError:
    """The bot's own error answer as the APIError of its status; its text is redacted (a
    bot may echo the key it was called with)."""
    try:
        decoded: Any = reply.json()
    except ResponseDecodeError:
        decoded = reply.text[:4096]
    said = decoded.get("detail") if isinstance(decoded, dict) else None
    if not isinstance(said, str):
        said = default_error_fields(reply.status, decoded).message
    fields = default_error_fields(reply.status, decoded)
    return fields.error_class(
        redact(f"the bot answered {reply.status}: {' '.join(said.split())[:300]}"),
        status=reply.status,
        code=fields.code,
        request_id=request_id,
        provider="pipecat",
        body=decoded,
    )


class Logs(Resource):
    """``client.logs``: an agent's log lines (private key)."""

    _client: PipecatCloud

    def list(
        self,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        deployment_id: str | None = None,
        query: str | None = None,
        order: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> Pager[LogEntry]:
        """The agent's log lines, newest first (``order="asc"`` for oldest first), as a
        Pager walked by limit/offset.

        Filters: one session's lines (``session_id``, then set on every entry), one
        deployment's, free text (``query``), and a time range (``after``/``before``,
        aware datetimes sent as whole unix seconds). A total Pipecat gives only as a lower
        bound is not trusted as the end: the walk goes on until a short or empty page.
        ``timeout`` bounds each page's request.
        """
        _, encoded = self._client._resolve_agent(agent)
        params: dict[str, str] = {}
        if session_id is not None:
            params["sessionId"] = check_segment("session_id", session_id)
        if deployment_id is not None:
            params["deploymentId"] = check_text("deployment_id", deployment_id)
        if query is not None:
            params["query"] = check_text("query", query)
        if order is not None:
            params["order"] = check_choice("order", order, _LOG_ORDERS)
        params.update(_check_time_range("after", after, "before", before))

        def structure(wire: Any) -> LogEntry:
            return _log_entry(wire, session_id)

        return self._list(
            _LOG_LISTING,
            path={"agent": encoded},
            query=params,
            structure=structure,
            per_page=per_page,
            max_items=max_items,
            auth="private",
            timeout=timeout,
        )


class AgentSettings(TypedDict, total=False):
    """What ``agents.create`` and ``agents.update`` both take (all optional).

    ``image`` or ``build_id`` (one of the two) is what to deploy; ``node_type`` (arm);
    ``secret_set`` and ``image_pull_secret_set`` name secret sets; ``min_agents`` and
    ``max_agents`` (0..50) bound auto-scaling (past ``max_agents`` starts are refused at
    capacity); ``agent_profile`` is agent-1x/2x/3x; ``krisp_viva`` tel, pro or off;
    ``max_session_duration`` is 60..14400 seconds.
    """

    image: str
    build_id: str
    node_type: str
    secret_set: str
    image_pull_secret_set: str
    min_agents: int
    max_agents: int
    agent_profile: str
    krisp_viva: str
    max_session_duration: int


def _agent_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """The fields create and update share, checked, in Pipecat's spelling."""
    unknown = set(given) - set(AgentSettings.__annotations__)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequestError(name, "is not an agent setting")
    settings = {key: value for key, value in given.items() if value is not None}
    image = settings.get("image")
    build_id = settings.get("build_id")
    node_type = settings.get("node_type")
    secret_set = settings.get("secret_set")
    image_pull_secret_set = settings.get("image_pull_secret_set")
    min_agents = settings.get("min_agents")
    max_agents = settings.get("max_agents")
    agent_profile = settings.get("agent_profile")
    krisp_viva = settings.get("krisp_viva")
    max_session_duration = settings.get("max_session_duration")
    wire: dict[str, Any] = {}
    if image is not None and build_id is not None:
        raise InvalidRequestError("build_id", "give image or build_id, not both")
    if image is not None:
        wire["image"] = check_text("image", image)
    if build_id is not None:
        wire["buildId"] = check_segment("build_id", build_id)
    if node_type is not None:
        wire["nodeType"] = check_text("node_type", node_type)
    if secret_set is not None:
        wire["secretSet"] = check_segment("secret_set", secret_set)
    if image_pull_secret_set is not None:
        wire["imagePullSecretSet"] = check_segment("image_pull_secret_set", image_pull_secret_set)
    scaling: dict[str, int] = {}
    if min_agents is not None:
        scaling["minAgents"] = check_count("min_agents", min_agents, minimum=0, maximum=_MAX_AGENTS)
    if max_agents is not None:
        scaling["maxAgents"] = check_count("max_agents", max_agents, minimum=1, maximum=_MAX_AGENTS)
    if min_agents is not None and max_agents is not None and min_agents > max_agents:
        raise InvalidRequestError("min_agents", f"must not exceed max_agents ({max_agents})")
    if scaling:
        wire["autoScaling"] = scaling
    if agent_profile is not None:
        wire["agentProfile"] = check_choice("agent_profile", agent_profile, AGENT_PROFILES)
    if krisp_viva is not None:
        chosen = check_choice("krisp_viva", krisp_viva, KRISP_FILTERS)
        wire["krispViva"] = {"audioFilter": None if chosen == "off" else chosen}
    if max_session_duration is not None:
        low, high = _SESSION_SECONDS
        wire["maxSessionDuration"] = check_count(
            "max_session_duration", max_session_duration, minimum=low, maximum=high
        )
    return wire


class Agents(Resource):
    """``client.agents``: the organization's agents: get, list, create, update, delete,
    and wait for a deploy to finish (private key)."""

    _client: PipecatCloud

    async def get(self, name: str, *, timeout: float | None = None) -> Agent:
        """The agent's details: ``ready``, ``available``, ``active_session_count``, its
        deployments and scaling."""
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
        include_active_deployment: bool = False,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> Pager[Agent]:
        """Every agent (in ``region`` when given; with its active deployment in ``raw``
        when ``include_active_deployment``). Pipecat answers them all at once, so the pager
        has one page, however many agents there are."""
        query: dict[str, str] = {}
        if region is not None:
            query["region"] = check_text("region", region)
        if check_flag("include_active_deployment", include_active_deployment):
            query["includeActiveDeployment"] = "true"
        return self._list(
            _AGENT_LISTING,
            query=query or None,
            per_page=MAX_PER_PAGE,
            max_items=max_items,
            auth="private",
            timeout=timeout,
        )

    async def create(
        self,
        name: str,
        *,
        region: str | None = None,
        timeout: float | None = None,
        **settings: Unpack[AgentSettings],
    ) -> Agent:
        """Creates (deploys) an agent from ``image`` or a cloud build (``build_id``, one of
        the two). ``name``: lowercase letters, digits and inner hyphens, at most 54.
        ``region`` defaults to Pipecat's (us-west); ``min_agents``/``max_agents`` bound its
        auto-scaling (0..50; past ``max_agents`` starts are refused at capacity);
        ``agent_profile`` is agent-1x/2x/3x; ``krisp_viva`` tel, pro or off;
        ``max_session_duration`` 60..14400 seconds. Sent at most once (a repeat would be
        refused as "already exists"). The answer is usually not ready yet: see
        :meth:`wait_ready`."""
        checked = check_text("name", name, max_length=_MAX_AGENT_NAME)
        if not _AGENT_NAME.fullmatch(checked):
            raise InvalidRequestError(
                "name",
                "must be lowercase letters, digits and inner hyphens, starting and ending "
                "with a letter or digit",
            )
        wire: dict[str, Any] = {"serviceName": checked}
        checked_settings = _agent_settings(settings)
        if "image" not in checked_settings and "buildId" not in checked_settings:
            raise InvalidRequestError("image", "give image= or build_id= to deploy from")
        if region is not None:
            wire["region"] = check_text("region", region)
        wire.update(checked_settings)
        return await self._post(
            "agents.create",
            _AGENTS,
            _agent_from_wire,
            json=wire,
            mode=RetryMode.AT_MOST_ONCE,
            auth="private",
            timeout=timeout,
        )

    async def update(
        self,
        name: str,
        *,
        force_redeploy: bool = False,
        timeout: float | None = None,
        **settings: Unpack[AgentSettings],
    ) -> Agent:
        """Changes the agent; only what is given is sent (the region cannot change).
        ``force_redeploy=True`` makes a new deployment even when nothing changed (a mutable
        image tag, changed secrets). Retried like a read, except with ``force_redeploy``
        (each one deploys anew). Follow it with :meth:`wait_ready`."""
        wire = _agent_settings(settings)
        if check_flag("force_redeploy", force_redeploy):
            wire["forceRedeploy"] = True
        if not wire:
            raise InvalidRequestError("force_redeploy", "nothing to update: give a setting")
        return await self._post(
            "agents.update",
            f"{_AGENTS}/{path_segment('name', name)}",
            _agent_from_wire,
            json=wire,
            mode=RetryMode.AT_MOST_ONCE if force_redeploy else RetryMode.IDEMPOTENT,
            auth="private",
            timeout=timeout,
        )

    async def delete(self, name: str, *, timeout: float | None = None) -> None:
        """Deletes the agent (its running sessions run on to their end). NotFoundError
        when there is no such agent."""
        await self._delete(
            "agents.delete",
            f"{_AGENTS}/{path_segment('name', name)}",
            lambda data: None,
            auth="private",
            timeout=timeout,
        )

    async def wait_ready(
        self,
        name: str,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
    ) -> Agent:
        """Polls the agent until its desired deployment is reconciled and ready (a deploy
        is done: :attr:`Agent.deployed`) and returns it. A ``ready`` seen while an older
        deployment is still the reconciled one does not count.

        Transient failures (5xx, connection errors, after the ordinary retries) are polled
        through, up to 5 in a row; RequestTimeoutError after ``timeout`` seconds (the whole
        wait; None waits as long as it takes), naming the agent's last state.
        DeploymentFailedError at once when the agent's status reports errors (a failed
        deploy: the official CLI stops there too).
        """
        path = f"{_AGENTS}/{path_segment('name', name)}"
        limit = check_timeout("timeout", timeout)
        interval = check_seconds("poll_interval", poll_interval, allow_infinite=False)
        ceiling = check_seconds("max_poll_interval", max_poll_interval)
        policy = self._client._retry
        give_up = None if limit is None or limit == float("inf") else policy.clock() + limit
        label = f"the wait's {limit:g}s" if limit is not None else ""
        last: Agent | None = None
        transient = 0

        async def poll() -> Agent:
            return await self._get("agents.wait_ready", path, _agent_from_wire, auth="private")

        while True:
            try:
                agent = await within_deadline(give_up, poll(), label=label)
                transient = 0
            except (ServerError, TransportError) as error:
                if (
                    isinstance(error, RequestTimeoutError)
                    and give_up is not None
                    and (policy.clock() >= give_up)
                ):
                    raise RequestTimeoutError(
                        f"agent {name!r} was not deployed within {label} ({_deploy_state(last)})"
                    ) from error
                transient += 1
                if transient > _WAIT_READY_TRANSIENT_LIMIT:
                    raise
                agent = None
            if agent is not None:
                last = agent
                if agent.errors:
                    raise DeploymentFailedError(name, agent.errors)
                if agent.deployed:
                    return agent
            pause = interval
            if give_up is not None:
                left = give_up - policy.clock()
                if left <= 0:
                    raise RequestTimeoutError(
                        f"agent {name!r} was not deployed within {label} ({_deploy_state(last)})"
                    )
                pause = min(pause, left)
            await policy.sleep(pause)
            interval = min(interval * 1.5, ceiling)


def _deploy_state(agent: Agent | None) -> str:
    if agent is None:
        return "never seen"
    # No errors to name: an agent whose status has them ends the wait at once.
    return (
        f"ready={agent.ready}, desired deployment {agent.desired_deployment_id}, "
        f"reconciled {agent.reconciled_deployment_id}"
    )


class Regions(Resource):
    """``client.regions``: where agents can be deployed."""

    async def list(self, *, timeout: float | None = None) -> list[Region]:
        """Every region Pipecat offers (one answer, no paging)."""

        def structure(data: Any) -> list[Region]:
            regions = expect_object(data, "regions.list").get("regions")
            if not isinstance(regions, list):
                raise ResponseDecodeError("regions.list: expected a regions array")
            return [_region_from_wire(item) for item in regions]

        return await self._get(
            "regions.list", "/v1/regions", structure, auth="private", timeout=timeout
        )


# ---- webhooks ----------------------------------------------------------------------------

_ID_HEADERS = ("webhook-id", "svix-id")
_TIMESTAMP_HEADERS = ("webhook-timestamp", "svix-timestamp")
_SIGNATURE_HEADERS = ("webhook-signature", "svix-signature")
#: Signatures looked at in one header at most (a hostile header cannot cost more).
_MAX_SIGNATURES = 16
_MAX_SIGNATURE_HEADER = 4096
_SECRET_PREFIX = "whsec_"


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def webhook_secret(secret: object) -> bytes:
    """The HMAC key of a ``whsec_...`` secret (the prefix is optional, as the Standard
    Webhooks libraries take it); InvalidRequestError naming ``secret`` otherwise."""
    if isinstance(secret, (bytes, bytearray)):
        if not secret:
            raise InvalidRequestError("secret", "must not be empty")
        return bytes(secret)
    if not isinstance(secret, str) or not secret.strip():
        raise InvalidRequestError("secret", "must be the endpoint's whsec_... secret")
    text = secret.strip().removeprefix(_SECRET_PREFIX)
    try:
        # Padding is optional, as the Standard Webhooks libraries read it.
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("secret", "is not a whsec_ secret (not base64)") from None
    if not key:
        raise InvalidRequestError("secret", "must not be empty")
    return key


def webhook_signature(key: bytes, delivery_id: str, stamp: str, body: bytes) -> str:
    """The ``v1,<base64 mac>`` signature of one delivery."""
    mac = hmac.new(key, f"{delivery_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def _check_timestamp(stamp: str, now: float) -> None:
    if not stamp.isdigit() or len(stamp) > 12:
        raise WebhookVerificationError("the webhook timestamp is not unix seconds")
    age = now - int(stamp)
    if age > WEBHOOK_TOLERANCE:
        raise WebhookVerificationError("the webhook timestamp is too old")
    if age < -WEBHOOK_TOLERANCE:
        raise WebhookVerificationError("the webhook timestamp is too far in the future")


class _Webhooks:
    """Pipecat's webhook format: Standard Webhooks (HMAC-SHA256, ``whsec_`` secrets)."""

    provider = "pipecat"
    key_arguments = ("secret",)

    def keys(self, material: Mapping[str, Any]) -> KeyMaterial | None:
        secret = material.get("secret")
        if secret is None:
            return None
        return KeyMaterial(fixed=webhook_secret(secret))

    def signed(self, headers: Mapping[str, str]) -> bool:
        return _header(headers, _SIGNATURE_HEADERS) is not None

    def verify(self, body: bytes, headers: Mapping[str, str], key: Any, *, now: float) -> None:
        delivery_id = _header(headers, _ID_HEADERS)
        stamp = _header(headers, _TIMESTAMP_HEADERS)
        signatures = _header(headers, _SIGNATURE_HEADERS)
        if delivery_id is None or stamp is None or signatures is None:
            raise WebhookVerificationError(
                "the delivery lacks webhook-id, webhook-timestamp or webhook-signature"
            )
        _check_timestamp(stamp, now)
        if len(signatures) > _MAX_SIGNATURE_HEADER:
            raise WebhookVerificationError("the webhook-signature header is too long")
        expected = webhook_signature(key, delivery_id, stamp, body).encode()
        matched = False
        for candidate in signatures.split()[:_MAX_SIGNATURES]:
            version, _, _ = candidate.partition(",")
            if version != "v1":
                continue  # v1a (ed25519) and later versions: not ours to check
            # Every candidate is compared, so the time taken does not say which matched.
            matched |= hmac.compare_digest(candidate.encode(), expected)
        if not matched:
            raise WebhookVerificationError("no webhook signature matches the body")

    def parse(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime
    ) -> SessionEvent:
        decoded = json_body(body)
        name = decoded.get("event_type")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("body", "has no event_type string")
        data = decoded.get("data")
        if data is not None and not isinstance(data, dict):
            raise InvalidRequestError("body", "its data must be a JSON object")
        data = data or {}
        session_id = data.get("session_id") if name.startswith("session.") else None
        if session_id is not None and not isinstance(session_id, str):
            raise InvalidRequestError("body", "its data.session_id must be a string")
        kind = SessionEventType.STARTED if name == "session.started" else SessionEventType.UNKNOWN
        return SessionEvent(
            type=kind,
            name=name,
            session_id=session_id,
            status=kind.status,
            received_at=received_at,
            provider=self.provider,
            delivery_id=_header(headers, _ID_HEADERS),
            raw=decoded,
        )


WEBHOOK_FORMAT = _Webhooks()
"""How Pipecat's webhooks are verified and parsed (read by ``webhooks.parse`` and
``WebhookReceiver``)."""


# ---- the client --------------------------------------------------------------------------

#: Sessions whose transport a client remembers (for the session API's body limit).
_REMEMBERED_TRANSPORTS = 4096


class PipecatCloud(BaseClient):
    """A client for Pipecat Cloud.

    Resources: ``sessions`` (:class:`PipecatSessions`), ``agents`` (:class:`Agents`),
    ``logs`` (:class:`Logs`) and ``regions`` (:class:`Regions`). Keys: ``api_key`` is the
    private key (else ``PIPECAT_CLOUD_API_KEY``), used for every call but starts and the
    session API; ``public_key`` (else ``PIPECAT_CLOUD_PUBLIC_KEY``) starts sessions and
    talks to their bots. One of the two is enough to build a client (one that only starts
    sessions needs only the public key); with neither, construction raises
    InvalidRequestError naming ``api_key``. A call needing the key the client lacks raises
    InvalidRequestError naming it, before sending.

    ``agent`` is the default agent of session and log calls. Use it as ``async with
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
        # The default agent and its path segment, encoded once: every session call names it.
        self._default_agent = (
            (self._agent, path_segment("agent", self._agent)) if self._agent is not None else None
        )
        super().__init__(secrets=[private, public], error_fields=_error_fields, **options)
        self._private = None if private is None else f"Bearer {private}"
        self._public = None if public is None else f"Bearer {public}"
        self._transports: dict[str, str] = {}
        self.sessions = PipecatSessions(self)
        self.agents = Agents(self)
        self.logs = Logs(self)
        self.regions = Regions(self)

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
        """The Authorization of ``"public"`` calls (starts, the session API) or private
        ones (the rest); InvalidRequestError now if the client lacks that key."""
        if scope == "public":
            header = self._public
            if header is None:
                raise InvalidRequestError(
                    "public_key",
                    f"starting or talking to a session needs the public key: pass "
                    f"public_key= or set {PUBLIC_KEY_ENV}",
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
        if agent is None and self._default_agent is not None:
            return self._default_agent
        name = agent if agent is not None else self._agent
        if name is None:
            raise InvalidRequestError(
                "agent", "missing: pass agent= to this call or to PipecatCloud(agent=...)"
            )
        return name, path_segment("agent", name)

    def _remember_transport(self, session_id: str, transport: str) -> None:
        if len(self._transports) >= _REMEMBERED_TRANSPORTS:
            self._transports.pop(next(iter(self._transports)))
        self._transports[session_id] = transport

    def _transport_of(self, session_id: str) -> str | None:
        """The transport this client started the session with, if it asked for one."""
        return self._transports.get(session_id)

    async def _end_session(self, session: Session) -> object:
        agent = session.agent if isinstance(session, PipecatSession) else None
        return await self.sessions.end(session.id, agent=agent)


# ---- the command line --------------------------------------------------------------------


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


_AGENT_OPTION = Option(flag="--agent", help="the agent", env="PIPECAT_CLOUD_AGENT")


def _time_option(flag: str, help: str) -> Option:
    return Option(
        flag=flag, help=f"{help} (ISO 8601 time with a zone)", parse=timestamp, metavar="TIME"
    )


def _given(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: values[name] for name in names if values.get(name) is not None}


async def _run_logs(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    pager = client.logs.list(
        **_given(values, "session_id", "deployment_id", "query", "order", "after", "before"),
        max_items=values.get("limit"),
        **_given(values, "timeout"),
    )
    await emit.listing(pager)


async def _run_agents_list(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    await emit.listing(
        client.agents.list(
            include_active_deployment=bool(values.get("include_active_deployment")),
            **_given(values, "region", "timeout"),
        )
    )


async def _run_agents_get(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    emit.single(await client.agents.get(values["name"], **_given(values, "timeout")))


_SETTINGS = (
    "image",
    "build_id",
    "node_type",
    "secret_set",
    "image_pull_secret_set",
    "min_agents",
    "max_agents",
    "agent_profile",
    "krisp_viva",
    "max_session_duration",
)


async def _run_agents_create(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    agent = await client.agents.create(
        values["name"], **_given(values, *_SETTINGS, "region", "timeout")
    )
    emit.single(agent)


async def _run_agents_update(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    agent = await client.agents.update(
        values["name"],
        force_redeploy=bool(values.get("force_redeploy")),
        **_given(values, *_SETTINGS, "timeout"),
    )
    emit.single(agent)


async def _run_agents_delete(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    await client.agents.delete(values["name"], **_given(values, "timeout"))
    emit.single({"name": values["name"], "deleted": True})


async def _run_agents_wait(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    emit.single(await client.agents.wait_ready(values["name"], **_given(values, "timeout")))


async def _run_send(client: PipecatCloud, values: Mapping[str, Any], emit: Emit) -> None:
    data = values.get("data")
    reply = await client.sessions.send(
        values["session_id"],
        values["path"],
        method=values.get("method") or "POST",
        json=values.get("json"),
        data=None if data is None else str(data).encode(),
        headers=dict(values.get("header") or ()),
        raise_for_status=bool(values.get("raise_for_status")),
        **_given(values, "transport", "ready_timeout", "timeout"),
    )
    emit.single(reply.to_dict())


_SETTING_OPTIONS = (
    Option(flag="--image", help="the container image"),
    Option(flag="--build-id", help="a cloud build to deploy"),
    Option(flag="--node-type", help="the node type (arm)"),
    Option(flag="--secret-set", help="the secret set"),
    Option(flag="--image-pull-secret-set", help="the image pull secret set"),
    Option(flag="--min-agents", help="auto-scaling minimum", parse=_whole_number),
    Option(flag="--max-agents", help="auto-scaling maximum", parse=_whole_number),
    Option(flag="--agent-profile", help="agent-1x, agent-2x or agent-3x", choices=AGENT_PROFILES),
    Option(flag="--krisp-viva", help="tel, pro or off", choices=KRISP_FILTERS),
    Option(flag="--max-session-duration", help="seconds (60..14400)", parse=_whole_number),
)

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
        Option(flag="--end-state", help="how they ended (completed, agent_error, ...)"),
        Option(flag="--deployment-id", help="only this deployment's sessions"),
        Option(flag="--start-type", help="cold, warm or all", choices=_START_TYPES),
        _time_option("--started-after", "started at or after"),
        _time_option("--started-before", "started at or before"),
    ),
    commands=(
        Command(
            group="logs",
            action=None,
            help="logs: stream an agent's log lines, newest first",
            run=_run_logs,
            options=(
                Option(flag="--session-id", help="only this session's lines"),
                Option(flag="--deployment-id", help="only this deployment's lines"),
                Option(flag="--query", help="free-text search"),
                Option(flag="--order", help="asc or desc", choices=_LOG_ORDERS),
                _time_option("--after", "lines at or after"),
                _time_option("--before", "lines at or before"),
                Option(flag="--limit", help="stop after N lines", parse=_whole_number),
            ),
        ),
        Command(
            group="agents",
            action="list",
            help="agents: list the organization's agents",
            run=_run_agents_list,
            options=(
                Option(flag="--region", help="only this region's agents"),
                Option(
                    flag="--include-active-deployment",
                    help="with each agent's active deployment",
                    switch=True,
                ),
            ),
        ),
        Command(
            group="agents",
            action="get",
            help="show one agent",
            run=_run_agents_get,
            positionals=("name",),
        ),
        Command(
            group="agents",
            action="create",
            help="create (deploy) an agent",
            run=_run_agents_create,
            options=(Option(flag="--region", help="the region (us-west)"), *_SETTING_OPTIONS),
            positionals=("name",),
        ),
        Command(
            group="agents",
            action="update",
            help="change an agent",
            run=_run_agents_update,
            options=(
                *_SETTING_OPTIONS,
                Option(flag="--force-redeploy", help="deploy anew", switch=True),
            ),
            positionals=("name",),
        ),
        Command(
            group="agents",
            action="delete",
            help="delete an agent",
            run=_run_agents_delete,
            positionals=("name",),
        ),
        Command(
            group="agents",
            action="wait",
            help="wait until an agent's deploy is done (--timeout, default 600 s)",
            run=_run_agents_wait,
            positionals=("name",),
        ),
        Command(
            group="sessions",
            action="send",
            help="send a request to a running session's bot (the session API)",
            run=_run_send,
            options=(
                Option(flag="--method", help="the HTTP method (POST)", choices=PROXY_METHODS),
                Option(
                    flag="--json",
                    help="a JSON body (or @FILE, or @- for standard input)",
                    convert=json_argument("--json"),
                    metavar="JSON|@FILE",
                ),
                Option(flag="--data", help="a text body, sent as UTF-8"),
                Option(
                    flag="--header",
                    help="a header to send (repeatable)",
                    parse=key_value,
                    repeat=True,
                    metavar="K=V",
                ),
                Option(flag="--transport", help="the session's transport", choices=TRANSPORTS),
                Option(flag="--ready-timeout", help="seconds to wait for the bot", parse=float),
                Option(
                    flag="--raise-for-status",
                    help="fail on the bot's own 4xx/5xx",
                    switch=True,
                ),
            ),
            positionals=("session_id", "path"),
        ),
    ),
    credentials=(PRIVATE_KEY_ENV, PUBLIC_KEY_ENV, "PIPECAT_CLOUD_AGENT"),
    base_url_env="PIPECAT_CLOUD_BASE_URL",
)
"""Pipecat's part of the ``agentcloud`` command: ``--agent``, start and listing options,
credential variables."""
