"""VideoSDK's agent runtime: dispatch into rooms, runtime sessions, console logs, agent
deployments and versions, and rooms (see the package's docstring for the wire facts and
the points settled as VideoSDK's Node server SDK settles them)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, Unpack

import attrs

from ..._checks import (
    check_aware_datetime,
    check_choice,
    check_count,
    check_flag,
    check_json_object,
    check_json_value,
    check_seconds,
    check_segment,
    check_text,
    check_timeout,
    path_segment,
)
from ..._convert import WireStructurer, expect_object, parse_datetime, set_derived
from ..._resource import Listing, Resource, WaitOptions
from ..._sessions import (
    Inconclusive,
    SessionStart,
    StartPlan,
    check_wait_arguments,
    start_at_most_once,
    wait_for_status,
)
from ..._transport import Reply, RetryMode, within_deadline
from ...errors import (
    AgentAtCapacityError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ResponseDecodeError,
)
from ...models import LogEntry, Model, Session, SessionStatus
from ...pagination import MAX_PER_PAGE, PageNumbers, Pager
from ._base import (
    _RECONCILE_MAX_SCAN,
    _RECONCILE_SKEW,
    Webhook,
    _check_webhook,
    _converter,
    session_status,
)

if TYPE_CHECKING:
    from ._client import VideoSDK

__all__ = [
    "MAX_REPLICAS",
    "PROFILES",
    "RUNTIME_WEBHOOK_EVENTS",
    "AgentDeployment",
    "AgentDeployments",
    "AgentVersion",
    "AgentVersions",
    "Dispatch",
    "Room",
    "Rooms",
    "Runtime",
    "RuntimeSession",
    "RuntimeSessions",
]

T = TypeVar("T")

_ROOMS = "/v2/rooms"
_DISPATCH = "/v2/agent/dispatch"
_GENERAL_DISPATCH = "/v2/agent/general/dispatch"
_END_ROOM_SESSION = "/v2/sessions/end"
_CLOUD_DEPLOYMENTS = "/ai/v1/cloud/deployments"
_CLOUD_VERSIONS = "/ai/v1/cloud/versions"

RUNTIME_WEBHOOK_EVENTS: tuple[str, ...] = (
    "agent-session-starting",
    "agent-session-started",
    "agent-session-stopping",
    "agent-session-stopped",
    "agent-session-failed",
)
"""The webhook events of agent runtime sessions, subscribed on a version."""
PROFILES = ("cpu-small", "cpu-medium", "cpu-large")
"""The compute profiles a version may run on (``profile=``)."""
MAX_REPLICAS = 50
"""The most replicas a version may scale to (VideoSDK refuses more; it does not clamp)."""


@attrs.frozen(kw_only=True)
class Room(Model):
    """A VideoSDK room (a meeting), where agents are dispatched (hashable by room id)."""

    _identity: ClassVar[tuple[str, ...]] = ("room_id",)
    _repr_fields: ClassVar[tuple[str, ...]] = ("room_id", "custom_room_id", "created_at")

    room_id: str
    id: str | None = None
    custom_room_id: str | None = None
    disabled: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    links: dict[str, Any] | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class RuntimeSession(Session):
    """An agent's session in a room, on VideoSDK's agent runtime.

    ``id`` is VideoSDK's session id; ``started_at``/``ended_at`` are its ``start``/``end``
    and ``duration`` the seconds between them. The status is VideoSDK's where it says one
    (``ongoing``, ``ended``...), else RUNNING while ``end`` is null and ENDED once it is set.
    ``deployment_id`` is the deployment whose listing it came from.
    """

    provider: str = "videosdk"
    room_id: str | None = None
    version_id: str | None = None
    agent_id: str | None = None


@attrs.frozen(kw_only=True)
class Dispatch(Session):
    """An agent dispatched into a room: the start of the room's agent session.

    VideoSDK answers a dispatch with no session id, so a dispatch is known by its room:
    ``id`` is ``room_id``, and ending it ends the room's session. ``status`` is QUEUED for
    VideoSDK's ``assigned`` (a worker took the job; ``raw_status`` keeps the word).
    ``job_id`` and ``worker_id`` are set when VideoSDK's answer carries them;
    ``session_id`` when the dispatch was found again by its session (after an ambiguous
    failure). ``metadata`` is what the dispatch sent.
    """

    _repr_fields: ClassVar[tuple[str, ...]] = ("room_id", "agent_id", "status", "raw_status")

    provider: str = "videosdk"
    room_id: str
    agent_id: str | None = None
    version_id: str | None = None
    job_id: str | None = None
    worker_id: str | None = None
    session_id: str | None = None
    success: bool | None = None


@attrs.frozen(kw_only=True)
class AgentDeployment(Model):
    """A deployment of an agent on VideoSDK's agent runtime (``/ai/v1/cloud``)."""

    id: str
    agent_id: str | None = None
    name: str | None = None
    template: str | None = None
    status: str | None = None
    env_secret: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class AgentVersion(Model):
    """A version of an agent deployment: its image, scaling, profile and region.

    ``active`` says whether the deployment runs it; ``image`` is VideoSDK's image object
    (``imageUrl``, ``imageCR``, ``imageType``...) as sent back.
    """

    _repr_fields: ClassVar[tuple[str, ...]] = ("id", "version_tag", "active", "status")

    id: str
    agent_id: str | None = None
    deployment_id: str | None = None
    name: str | None = None
    version_tag: str | None = None
    region: str | None = None
    profile: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    image: dict[str, Any] | None = None
    active: bool | None = None
    status: str | None = None
    schedule: Any = None
    webhook: Webhook | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _reference(value: Any) -> str | None:
    """An id VideoSDK may send bare or as an object carrying ``id`` (unconfirmed shapes)."""
    if isinstance(value, dict):
        value = value.get("id", value.get("_id"))
    return _text_or_none(value)


def _derive_runtime_session(wire: dict[str, Any]) -> dict[str, Any]:
    raw_status = wire.get("status")
    status = session_status(raw_status)
    if status is SessionStatus.UNKNOWN and "end" in wire:
        status = SessionStatus.RUNNING if wire["end"] is None else SessionStatus.ENDED
    start, end = wire.get("start"), wire.get("end")
    duration = None
    if start is not None and end is not None:
        duration = max(0.0, (parse_datetime(end) - parse_datetime(start)).total_seconds())
    return {
        "status": status,
        "raw_status": raw_status if isinstance(raw_status, str) else None,
        "duration": duration,
        "provider": "videosdk",
        "metadata": None,
    }


_runtime_session_from_wire = WireStructurer(
    RuntimeSession,
    converter=_converter,
    renames={"id": "sessionId", "started_at": "start", "ended_at": "end"},
    # The deployment listing says sessionId; a room session (the end's answer) says id and
    # roomId, or meetingId.
    fallbacks={"sessionId": ("id",), "roomId": ("meetingId",)},
    derived=("status", "raw_status", "duration", "provider", "metadata"),
    derive=_derive_runtime_session,
)
_room_from_wire = WireStructurer(Room, converter=_converter)


def _derive_deployment(wire: dict[str, Any]) -> dict[str, Any]:
    return {"env_secret": _reference(wire.get("envSecret"))}


_agent_deployment_from_wire = WireStructurer(
    AgentDeployment,
    converter=_converter,
    fallbacks={"id": ("_id", "deploymentId"), "createdAt": ("created_at",)},
    derived=("env_secret",),
    derive=_derive_deployment,
)


def _derive_version(wire: dict[str, Any]) -> dict[str, Any]:
    image = wire.get("image")
    if isinstance(image, str):  # sent as text, it is the image's URL
        image = {"imageUrl": image}
    return {"image": image if isinstance(image, dict) else None}


_version_from_wire = WireStructurer(
    AgentVersion,
    converter=_converter,
    renames={"min_replicas": "minReplica", "max_replicas": "maxReplica"},
    fallbacks={"id": ("_id", "versionId"), "createdAt": ("created_at",)},
    derived=("image",),
    derive=_derive_version,
)


def _object_answer(data: Any, operation: str) -> dict[str, Any]:
    """The object an answer is about: the answer itself, or its ``data`` (unconfirmed
    answers come either way)."""
    answer = expect_object(data, operation)
    inner = answer.get("data")
    if "id" not in answer and isinstance(inner, dict):
        return inner
    return answer


def _carries_object(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    inner = data.get("data")
    return "id" in data or (isinstance(inner, dict) and "id" in inner)


def _log_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Epoch milliseconds (what JavaScript writes) once past the year 5138 in seconds.
        return parse_datetime(value / 1000 if abs(value) >= 1e11 else value)
    return parse_datetime(value)


def _log_entry(wire: Any, *, deployment_id: str, session_id: str | None) -> LogEntry:
    """One console log line: ``{log, timestamp, level?, metadata?}``."""
    if not isinstance(wire, dict):
        raise ResponseDecodeError(
            f"runtime.logs: expected a JSON object, got {type(wire).__name__}"
        )
    text = wire.get("log", wire.get("message"))
    if text is None:
        raise ResponseDecodeError("runtime.logs: a log entry has no log text")
    metadata = wire.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}
    level = wire.get("level", meta.get("level"))
    try:
        at = _log_time(wire.get("timestamp"))
    except (TypeError, ValueError, OverflowError, OSError) as error:
        raise ResponseDecodeError(f"runtime.logs: bad timestamp: {error}") from None
    return LogEntry(
        timestamp=at,
        message=text if isinstance(text, str) else json.dumps(text, separators=(",", ":")),
        level=level if isinstance(level, str) else None,
        deployment_id=_text_or_none(meta.get("deploymentId")) or deployment_id,
        session_id=_text_or_none(meta.get("sessionId")) or session_id,
        raw=wire,
    )


def _log_key(entry: LogEntry) -> str:
    # Log lines have no id: the whole line is its identity at a page boundary.
    return json.dumps(entry.raw, sort_keys=True, separators=(",", ":"), default=str)


# ---- the agent runtime: shared pieces ----------------------------------------------------

#: Where a ``/ai/v1/cloud`` listing may say how many items it has: either envelope the Node
#: SDK knows, or VideoSDK's older ``totalItems``. With none the walk goes to a short page.
_CLOUD_TOTALS = ("pageInfo.total", "pageInfo.totalItems", "pagination.total")
#: ``order=`` to VideoSDK's ``sort``.
_SORTS = {"asc": "1", "desc": "-1"}
_IMAGE_TYPES = ("public", "private", "managed")
#: The most deployments of one agent a dispatch's reconciliation looks through.
_RECONCILE_MAX_DEPLOYMENTS = 100
#: The most listed sessions one ``find`` poll looks through for the room's newest.
_FIND_MAX_SCAN = 1_000


def _query(*filters: tuple[str, str, object]) -> dict[str, str]:
    """The query of a listing: ``(argument, wire name, value)`` for each filter given."""
    return {
        wire: check_text(argument, value) for argument, wire, value in filters if value is not None
    }


def _sort(order: object) -> str:
    return _SORTS[check_choice("order", order, ("asc", "desc"))]


def _iso(argument: str, value: object) -> str:
    """An aware datetime as VideoSDK's (and JavaScript's) ISO text: UTC, milliseconds, Z."""
    moment = check_aware_datetime(argument, value).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _remaining(client: VideoSDK, deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return deadline - client._retry.clock()


async def _bounded(client: VideoSDK, timeout: object, work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` with every request it sends within ``timeout`` seconds in all."""
    limit = check_timeout("timeout", timeout)
    if limit is None or limit == math.inf:
        return await work()
    deadline = client._retry.clock() + limit
    return await within_deadline(deadline, work(), label=f"the call's {limit:g}s")


def _not_listed(what: str, pages: int) -> NotFoundError:
    error = NotFoundError(f"{what} is not listed", status=404, provider="videosdk")
    error.attempts = pages
    return error


def _image(image: object) -> dict[str, Any]:
    """A version's image, as the Node SDK completes it: a reference given as text becomes
    ``{imageUrl, imageCR, imageType}``; a mapping gets what it lacks of those."""
    if isinstance(image, str):
        wire: dict[str, Any] = {"imageUrl": check_text("image", image, max_length=2048)}
    elif isinstance(image, Mapping):
        wire = check_json_object("image", image)
        url = wire.get("imageUrl")
        if not isinstance(url, str) or not url.strip():
            raise InvalidRequestError("image", "needs an imageUrl string")
    else:
        raise InvalidRequestError("image", "must be an image reference or a mapping with imageUrl")
    if "imageCR" not in wire:
        head, slash, _ = wire["imageUrl"].partition("/")
        wire["imageCR"] = head if slash and any(mark in head for mark in ".:") else "docker.io"
    wire.setdefault("imageType", "private" if wire.get("imagePullSecret") else "public")
    check_choice("image.imageType", wire["imageType"], _IMAGE_TYPES)
    return wire


def _version_fields(
    *,
    image: object = None,
    name: object = None,
    min_replicas: object = None,
    max_replicas: object = None,
    profile: object = None,
    region: object = None,
    version_tag: object = None,
    env_secret: object = None,
    build_id: object = None,
    schedule: object = None,
    webhook: Webhook | str | None = None,
) -> dict[str, Any]:
    """The wire fields of a version's settings, each checked; only those given."""
    wire: dict[str, Any] = {}
    if image is not None:
        wire["image"] = _image(image)
    for argument, key, value in (
        ("name", "name", name),
        ("region", "region", region),
        ("version_tag", "versionTag", version_tag),
        ("env_secret", "envSecret", env_secret),
        ("build_id", "buildId", build_id),
    ):
        if value is not None:
            wire[key] = check_text(argument, value)
    if min_replicas is not None:
        wire["minReplica"] = check_count(
            "min_replicas", min_replicas, minimum=0, maximum=MAX_REPLICAS
        )
    if max_replicas is not None:
        wire["maxReplica"] = check_count(
            "max_replicas", max_replicas, minimum=0, maximum=MAX_REPLICAS
        )
    if wire.get("maxReplica", math.inf) < wire.get("minReplica", 0):
        raise InvalidRequestError("max_replicas", "must be at least min_replicas")
    if profile is not None:
        wire["profile"] = check_choice("profile", profile, PROFILES)
    if schedule is not None:
        wire["schedule"] = check_json_value("schedule", schedule)
    hook = _check_webhook(webhook, RUNTIME_WEBHOOK_EVENTS)
    if hook is not None:
        wire["webhook"] = hook
    return wire


def _dispatch_from_wire(
    data: Any,
    *,
    room_id: str,
    agent_id: str,
    version_id: str | None,
    deployment_id: str | None,
    metadata: dict[str, Any] | None,
) -> Dispatch:
    """``{message, data: {success, status, roomId, agentId, jobId?, workerId?}}``."""
    inner = expect_object(data, "runtime.dispatch").get("data")
    if not isinstance(inner, dict):
        raise ResponseDecodeError("runtime.dispatch: the answer has no data object")
    raw_status = inner.get("status")
    success = inner.get("success")
    # VideoSDK says where the agent went: a custom room id comes back as the room's own.
    room = _text_or_none(inner.get("roomId")) or room_id
    return Dispatch(
        id=room,
        room_id=room,
        agent_id=_text_or_none(inner.get("agentId")) or agent_id,
        version_id=_text_or_none(inner.get("versionId")) or version_id,
        job_id=_text_or_none(inner.get("jobId")),
        worker_id=_text_or_none(inner.get("workerId")),
        success=success if isinstance(success, bool) else None,
        # Accepted with no word on how far it got: on its way.
        status=session_status(raw_status) if raw_status is not None else SessionStatus.QUEUED,
        raw_status=raw_status if isinstance(raw_status, str) else None,
        deployment_id=deployment_id,
        metadata=metadata,
        raw=inner,
    )


_RUNTIME_SESSION_LISTING = Listing(
    operation="runtime.sessions.list",
    path=_CLOUD_DEPLOYMENTS + "/{deployment}/sessions",
    style=PageNumbers(items="sessions", total=_CLOUD_TOTALS),
    structure=_runtime_session_from_wire,
)
_LOG_LISTING: Listing[LogEntry] = Listing(
    operation="runtime.logs",
    path=_CLOUD_DEPLOYMENTS + "/{deployment}/console-logs",
    style=PageNumbers(items="logs", total=_CLOUD_TOTALS),
    structure=functools.partial(_log_entry, deployment_id="", session_id=None),
    key=_log_key,
)
_AGENT_DEPLOYMENT_LISTING = Listing(
    operation="runtime.deployments.list",
    path=_CLOUD_DEPLOYMENTS,
    style=PageNumbers(items="deployments", total=_CLOUD_TOTALS),
    structure=_agent_deployment_from_wire,
)
_VERSION_LISTING = Listing(
    operation="runtime.versions.list",
    path=_CLOUD_VERSIONS,
    style=PageNumbers(items="versions", total=_CLOUD_TOTALS),
    structure=_version_from_wire,
)


# ---- the agent runtime: resources --------------------------------------------------------


class Rooms(Resource):
    """``client.rooms``: VideoSDK rooms, where agents are dispatched."""

    async def create(
        self,
        *,
        custom_room_id: str | None = None,
        auto_close_after: int | None = None,
        timeout: float | None = None,
    ) -> Room:
        """Creates a room. With ``custom_room_id`` VideoSDK answers the same room for the
        same id, so the call is retried like a read; without it, it is sent at most once.
        ``auto_close_after`` closes the room's session after that many seconds
        (``autoCloseConfig {type: "session-ends", duration}``)."""
        body: dict[str, Any] = {}
        mode = RetryMode.AT_MOST_ONCE
        if custom_room_id is not None:
            body["customRoomId"] = check_text("custom_room_id", custom_room_id, max_length=256)
            mode = RetryMode.IDEMPOTENT
        if auto_close_after is not None:
            seconds = check_count("auto_close_after", auto_close_after, minimum=1)
            body["autoCloseConfig"] = {"type": "session-ends", "duration": seconds}
        return await self._post(
            "rooms.create",
            _ROOMS,
            lambda data: _room_from_wire(_object_answer(data, "rooms.create")),
            json=body,
            mode=mode,
            timeout=timeout,
        )


class RuntimeSessions(Resource):
    """``client.runtime.sessions``: the sessions of an agent deployment, in rooms.

    VideoSDK lists them per deployment and has no call for one session: ``get`` and
    ``find`` read the listing (filtered by session or room), ``wait`` polls it, and ``end``
    ends a room's session (``POST /v2/sessions/end``).
    """

    _client: VideoSDK

    def list(
        self,
        deployment_id: str,
        *,
        agent_id: str | None = None,
        version_id: str | None = None,
        room_id: str | None = None,
        session_id: str | None = None,
        order: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[RuntimeSession]:
        """The deployment's sessions (VideoSDK's order: newest first unless ``order`` is
        ``"asc"``), filtered by agent, version, room or session id when given, walked
        page by page as it is iterated. ``timeout`` bounds each page's request."""
        encoded = path_segment("deployment_id", deployment_id)
        query = _query(
            ("agent_id", "agentId", agent_id),
            ("version_id", "versionId", version_id),
            ("room_id", "roomId", room_id),
            ("session_id", "sessionId", session_id),
        )
        if order is not None:
            query["sort"] = _sort(order)

        def structure(wire: Any) -> RuntimeSession:
            session = _runtime_session_from_wire(wire)
            if session.deployment_id is None:
                set_derived(session, deployment_id=deployment_id)
            return session

        return self._list(
            _RUNTIME_SESSION_LISTING,
            path={"deployment": encoded},
            query=query,
            structure=structure,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )

    async def get(
        self, deployment_id: str, session_id: str, *, timeout: float | None = None
    ) -> RuntimeSession:
        """The session ``session_id`` of ``deployment_id``, from the listing filtered by it;
        NotFoundError when it is not listed. ``timeout`` bounds the whole lookup."""
        path_segment("deployment_id", deployment_id)
        check_segment("session_id", session_id)

        async def look() -> RuntimeSession:
            pages = 0
            async for page in self.list(deployment_id, session_id=session_id).pages():
                pages += 1
                for session in page.items:
                    if session.id == session_id:
                        return session
            raise _not_listed(f"session {session_id} of deployment {deployment_id}", pages)

        return await _bounded(self._client, timeout, look)

    async def find(
        self,
        deployment_id: str,
        *,
        room_id: str,
        agent_id: str | None = None,
        since: datetime | None = None,
        timeout: float | None = 30.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
    ) -> RuntimeSession:
        """The newest session of ``deployment_id`` in ``room_id`` (of ``agent_id``, started
        at ``since`` or later, when given), polling the listing until one appears: the
        session a dispatch into that room started. RequestTimeoutError after ``timeout``
        seconds (None: as long as it takes)."""
        path_segment("deployment_id", deployment_id)
        room = check_segment("room_id", room_id)
        agent = check_text("agent_id", agent_id) if agent_id is not None else None
        after = check_aware_datetime("since", since) if since is not None else None
        limit = check_timeout("timeout", timeout)
        interval = check_seconds("poll_interval", poll_interval, allow_infinite=False)
        ceiling = check_seconds("max_poll_interval", max_poll_interval)
        policy = self._client._retry
        give_up = None if limit is None or limit == math.inf else policy.clock() + limit
        label = f"the call's {limit:g}s" if give_up is not None else ""
        looked = False
        while True:
            try:
                found = await within_deadline(
                    give_up, self._newest_in_room(deployment_id, room, agent, after), label=label
                )
            except RequestTimeoutError as error:
                if not looked or give_up is None or policy.clock() < give_up:
                    raise
                raise self._not_found_in(deployment_id, room, label) from error
            looked = True
            if found is not None:
                return found
            pause = interval
            if give_up is not None:
                left = give_up - policy.clock()
                if left <= 0:
                    raise self._not_found_in(deployment_id, room, label)
                pause = min(interval, left)
            await policy.sleep(pause)
            interval = min(interval * 1.5, ceiling)

    @staticmethod
    def _not_found_in(deployment_id: str, room_id: str, label: str) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"runtime.sessions.find: no session of deployment {deployment_id} in room "
            f"{room_id} within {label}"
        )

    async def _newest_in_room(
        self, deployment_id: str, room_id: str, agent_id: str | None, since: datetime | None
    ) -> RuntimeSession | None:
        listing = self.list(
            deployment_id,
            room_id=room_id,
            agent_id=agent_id,
            order="desc",
            max_items=_FIND_MAX_SCAN,
        )
        async for session in listing:
            # Checked here too: a listing that ignores its filters must not fool us.
            if session.room_id != room_id:
                continue
            if agent_id is not None and session.agent_id not in (None, agent_id):
                continue
            if since is not None and (session.started_at is None or session.started_at < since):
                continue
            return session
        return None

    async def wait(
        self,
        deployment_id: str,
        session_id: str | None = None,
        *,
        room_id: str | None = None,
        **options: Unpack[WaitOptions],
    ) -> RuntimeSession:
        """Polls until the session reaches ``until`` (default RUNNING, or a later stage)
        and returns it. Give the session's id, or ``room_id`` to wait for the newest
        session in that room (found first, within the same ``timeout``). The options are
        every provider's (:class:`WaitOptions`); a ``receiver`` that hears the session's
        ``agent-session-*`` webhooks ends a pause at once.

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``.
        """
        path_segment("deployment_id", deployment_id)
        if (session_id is None) == (room_id is None):
            raise InvalidRequestError("session_id", "give the session_id or a room_id, one of them")
        if session_id is not None:
            check_segment("session_id", session_id)
        target, limit, interval, ceiling = check_wait_arguments(
            options.get("until", SessionStatus.RUNNING),
            options.get("timeout", 120.0),
            options.get("poll_interval", 0.5),
            options.get("max_poll_interval", 5.0),
        )
        policy = self._client._retry
        began = policy.clock()
        if room_id is not None:
            found = await self.find(
                deployment_id,
                room_id=room_id,
                timeout=limit,
                poll_interval=interval,
                max_poll_interval=ceiling,
            )
            session_id = found.id
            if limit is not None and limit != math.inf:
                # What finding it took comes out of the same wait.
                limit = max(limit - (policy.clock() - began), 1e-3)
        sid = session_id
        assert sid is not None

        async def get() -> RuntimeSession:
            return await self.get(deployment_id, sid)

        return await wait_for_status(
            get,
            sid,
            until=target,
            timeout=limit,
            retry=policy,
            poll_interval=interval,
            max_poll_interval=ceiling,
            events=options.get("receiver"),
        )

    async def end(
        self,
        *,
        room_id: str,
        session_id: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> RuntimeSession:
        """Ends the room's session (only ``session_id`` when given; ``force`` sends
        VideoSDK's ``vsdkForceKill``) and returns it as VideoSDK reports it: the room
        session, with ``ended_at`` set. Retried like a read (ending twice changes nothing);
        a room VideoSDK does not know raises NotFoundError."""
        room = check_segment("room_id", room_id)
        body: dict[str, Any] = {"roomId": room}
        if session_id is not None:
            body["sessionId"] = check_segment("session_id", session_id)
        if check_flag("force", force):
            body["vsdkForceKill"] = True
        session = await self._post(
            "runtime.sessions.end",
            _END_ROOM_SESSION,
            lambda data: _runtime_session_from_wire(_object_answer(data, "runtime.sessions.end")),
            json=body,
            timeout=timeout,
        )
        if session_id is None:
            # The room's session is over: so is every dispatch into it this client holds.
            self._client._held.discard(room)
            if session.room_id is not None:
                self._client._held.discard(session.room_id)
        return session


class _RoomLookup:
    """The reconciler of a dispatch: finds the agent's session in the dispatch's room.

    The marker it is handed is the room id. Sessions are looked for in ``deployment_id``,
    else in every deployment of the agent. In a room the dispatch created, any session of
    the agent is the dispatch's; in a room the caller named, a session running that started
    at most :data:`_RECONCILE_SKEW` before the attempt (VideoSDK's clock may run behind
    ours), or one that started after it.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        agent_id: str,
        deployment_id: str | None,
        new_room: bool,
        version_id: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        self._runtime = runtime
        self._agent_id = agent_id
        self._deployment_id = deployment_id
        self._new_room = new_room
        self._version_id = version_id
        self._metadata = metadata

    async def _deployments(self) -> list[str]:
        if self._deployment_id is not None:
            return [self._deployment_id]
        found: list[str] = []
        listing = self._runtime.deployments.list(
            agent_id=self._agent_id, max_items=_RECONCILE_MAX_DEPLOYMENTS + 1
        )
        async for deployment in listing:
            if deployment.agent_id in (None, self._agent_id):
                found.append(deployment.id)
        if not found:
            raise Inconclusive(
                f"agent {self._agent_id!r} has no deployment whose sessions could be looked "
                f"through (pass deployment_id=)"
            )
        if len(found) > _RECONCILE_MAX_DEPLOYMENTS:
            raise Inconclusive(f"agent {self._agent_id!r} has too many deployments to look through")
        return found

    def _ours(self, session: RuntimeSession, room_id: str, since: datetime) -> bool:
        if session.room_id != room_id or session.agent_id not in (None, self._agent_id):
            return False
        if self._new_room:
            return True
        started = session.started_at
        if started is None:
            raise Inconclusive(f"a session in room {room_id} has no start time")
        if started >= since:
            return True
        return session.ended_at is None and started >= since - _RECONCILE_SKEW

    async def find(self, marker: str, *, since: datetime) -> Dispatch | None:
        scanned = 0
        for deployment_id in await self._deployments():
            listing = self._runtime.sessions.list(
                deployment_id, room_id=marker, agent_id=self._agent_id, order="desc"
            )
            async for session in listing:
                scanned += 1
                if scanned > _RECONCILE_MAX_SCAN:
                    raise Inconclusive(f"over {_RECONCILE_MAX_SCAN} sessions were looked through")
                if self._ours(session, marker, since):
                    return Dispatch(
                        id=marker,
                        room_id=marker,
                        agent_id=self._agent_id,
                        version_id=session.version_id or self._version_id,
                        session_id=session.id,
                        status=session.status,
                        raw_status=session.raw_status,
                        deployment_id=deployment_id,
                        started_at=session.started_at,
                        ended_at=session.ended_at,
                        metadata=self._metadata,
                        raw=session.raw,
                    )
        return None


class AgentDeployments(Resource):
    """``client.runtime.deployments``: agent deployments (``/ai/v1/cloud/deployments``)."""

    _client: VideoSDK

    async def create(
        self,
        *,
        name: str | None = None,
        agent_id: str | None = None,
        template: str | None = None,
        env_secret: str | None = None,
        timeout: float | None = None,
    ) -> AgentDeployment:
        """Creates a deployment (and its agent, unless ``agent_id`` names one). Sent at most
        once: creating is not idempotent."""
        body = _query(
            ("name", "name", name),
            ("agent_id", "agentId", agent_id),
            ("template", "template", template),
            ("env_secret", "envSecret", env_secret),
        )
        return await self._post(
            "runtime.deployments.create",
            _CLOUD_DEPLOYMENTS,
            lambda data: _agent_deployment_from_wire(
                _object_answer(data, "runtime.deployments.create")
            ),
            json=body,
            mode=RetryMode.AT_MOST_ONCE,
            timeout=timeout,
        )

    def list(
        self,
        *,
        agent_id: str | None = None,
        name: str | None = None,
        status: str | None = None,
        deployment_id: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[AgentDeployment]:
        """Every deployment, or those of ``agent_id``, whose name matches the regular
        expression ``name``, in ``status``; walked page by page as it is iterated."""
        query = _query(
            ("agent_id", "agentId", agent_id),
            ("name", "name", name),
            ("status", "status", status),
            ("deployment_id", "deploymentId", deployment_id),
        )
        return self._list(
            _AGENT_DEPLOYMENT_LISTING,
            query=query,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )

    async def get(self, deployment_id: str, *, timeout: float | None = None) -> AgentDeployment:
        """The deployment ``deployment_id``, from the listing filtered by it (VideoSDK has no
        call for one); NotFoundError when it is not listed."""
        check_segment("deployment_id", deployment_id)

        async def look() -> AgentDeployment:
            pages = 0
            async for page in self.list(deployment_id=deployment_id).pages():
                pages += 1
                for deployment in page.items:
                    if deployment.id == deployment_id:
                        return deployment
            raise _not_listed(f"deployment {deployment_id}", pages)

        return await _bounded(self._client, timeout, look)

    async def latest(self, deployment_id: str, *, timeout: float | None = None) -> AgentVersion:
        """The deployment's newest version."""
        path = f"{_CLOUD_DEPLOYMENTS}/{path_segment('deployment_id', deployment_id)}/latest"
        return await self._get(
            "runtime.deployments.latest",
            path,
            lambda data: _version_from_wire(_object_answer(data, "runtime.deployments.latest")),
            timeout=timeout,
        )

    async def update(
        self, deployment_id: str, *, env_secret: str, timeout: float | None = None
    ) -> AgentDeployment:
        """Attaches the secret ``env_secret`` (its id) to the deployment and returns the
        deployment (read back when VideoSDK answers only ``{message}``)."""
        path = f"{_CLOUD_DEPLOYMENTS}/{path_segment('deployment_id', deployment_id)}/update"
        body = {"envSecret": check_text("env_secret", env_secret)}

        async def update() -> AgentDeployment:
            reply = await self._request("runtime.deployments.update", "PUT", path, json=body)
            if _carries_object(reply.data):
                return _agent_deployment_from_wire(
                    _object_answer(reply.data, "runtime.deployments.update")
                )
            return await self.get(deployment_id)

        return await _bounded(self._client, timeout, update)

    async def delete(
        self, deployment_id: str, *, force: bool = False, timeout: float | None = None
    ) -> None:
        """Deletes the deployment; ``force`` also when sessions run. Retried like a read: a
        retry that finds it gone (an earlier attempt deleted it) counts as done."""
        path = f"{_CLOUD_DEPLOYMENTS}/{path_segment('deployment_id', deployment_id)}/delete"
        body = {"force": True} if check_flag("force", force) else {}
        try:
            await self._request(
                "runtime.deployments.delete", "POST", path, json=body, timeout=timeout
            )
        except NotFoundError as error:
            if not (error.attempts or 0) > 1:
                raise


class AgentVersions(Resource):
    """``client.runtime.versions``: the versions of agent deployments
    (``/ai/v1/cloud/versions``): image, scaling, profile, region, session webhooks."""

    _client: VideoSDK

    async def create(
        self,
        *,
        deployment_id: str,
        agent_id: str,
        image: str | Mapping[str, Any],
        name: str | None = None,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
        profile: str | None = None,
        region: str | None = None,
        version_tag: str | None = None,
        env_secret: str | None = None,
        build_id: str | None = None,
        schedule: Any = None,
        webhook: Webhook | str | None = None,
        timeout: float | None = None,
    ) -> AgentVersion:
        """Creates a version of ``deployment_id``; VideoSDK activates it at once.

        ``image`` is an image reference (``"registry.example.com/team/agent:1.4"``) or
        VideoSDK's image object. ``max_replicas`` is at most 50 and at least
        ``min_replicas`` (VideoSDK refuses, never clamps); ``profile`` is one of
        :data:`PROFILES`; ``webhook`` (a URL for every ``agent-session-*`` event, or a
        :class:`Webhook` naming some of :data:`RUNTIME_WEBHOOK_EVENTS`) receives its
        sessions' events. Sent at most once.
        """
        body: dict[str, Any] = {
            "agentId": check_text("agent_id", agent_id),
            "deploymentId": check_text("deployment_id", deployment_id),
        }
        body.update(
            _version_fields(
                image=image,
                name=name,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                profile=profile,
                region=region,
                version_tag=version_tag,
                env_secret=env_secret,
                build_id=build_id,
                schedule=schedule,
                webhook=webhook,
            )
        )
        return await self._post(
            "runtime.versions.create",
            _CLOUD_VERSIONS,
            lambda data: _version_from_wire(_object_answer(data, "runtime.versions.create")),
            json=body,
            mode=RetryMode.AT_MOST_ONCE,
            timeout=timeout,
        )

    def list(
        self,
        *,
        deployment_id: str | None = None,
        agent_id: str | None = None,
        order: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[AgentVersion]:
        """Versions, of ``deployment_id`` or ``agent_id`` when given, walked page by page."""
        query = _query(
            ("deployment_id", "deploymentId", deployment_id), ("agent_id", "agentId", agent_id)
        )
        if order is not None:
            query["sort"] = _sort(order)
        return self._list(
            _VERSION_LISTING,
            query=query,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )

    def _path(self, version_id: str, suffix: str = "") -> str:
        return f"{_CLOUD_VERSIONS}/{path_segment('version_id', version_id)}{suffix}"

    async def get(self, version_id: str, *, timeout: float | None = None) -> AgentVersion:
        """The version ``version_id``."""
        return await self._get(
            "runtime.versions.get",
            self._path(version_id),
            lambda data: _version_from_wire(_object_answer(data, "runtime.versions.get")),
            timeout=timeout,
        )

    async def update(
        self,
        version_id: str,
        *,
        image: str | Mapping[str, Any] | None = None,
        name: str | None = None,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
        profile: str | None = None,
        region: str | None = None,
        version_tag: str | None = None,
        env_secret: str | None = None,
        schedule: Any = None,
        webhook: Webhook | str | None = None,
        timeout: float | None = None,
    ) -> AgentVersion:
        """Changes the settings given (a partial ``PUT``) and returns the version, read
        back when VideoSDK answers only ``{message}``. ``timeout`` bounds both calls."""
        path = self._path(version_id)
        body = _version_fields(
            image=image,
            name=name,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            profile=profile,
            region=region,
            version_tag=version_tag,
            env_secret=env_secret,
            schedule=schedule,
            webhook=webhook,
        )
        if not body:
            raise InvalidRequestError("fields", "nothing to update: give at least one setting")

        async def update() -> AgentVersion:
            reply = await self._request("runtime.versions.update", "PUT", path, json=body)
            if _carries_object(reply.data):
                return _version_from_wire(_object_answer(reply.data, "runtime.versions.update"))
            return await self.get(version_id)

        return await _bounded(self._client, timeout, update)

    async def activate(self, version_id: str, *, timeout: float | None = None) -> None:
        """Makes the version the one its deployment runs (``{activate: true}``)."""
        await self._request(
            "runtime.versions.activate",
            "PUT",
            self._path(version_id, "/activate"),
            json={"activate": True},
            timeout=timeout,
        )

    async def deactivate(
        self, version_id: str, *, force: bool = False, timeout: float | None = None
    ) -> None:
        """Stops the version (``{activate: false}``); while its sessions run VideoSDK wants
        ``force=True``, which ends them (else ConflictError)."""
        body: dict[str, Any] = {"activate": False}
        if check_flag("force", force):
            body["force"] = True
        await self._request(
            "runtime.versions.deactivate",
            "PUT",
            self._path(version_id, "/activate"),
            json=body,
            timeout=timeout,
        )

    async def clear_schedule(self, version_id: str, *, timeout: float | None = None) -> None:
        """Removes the version's schedule."""
        await self._request(
            "runtime.versions.clear_schedule",
            "DELETE",
            self._path(version_id, "/schedule"),
            timeout=timeout,
        )


class Runtime(Resource):
    """``client.runtime``: VideoSDK's agent runtime.

    ``dispatch`` puts an agent into a room; ``sessions``
    (:class:`RuntimeSessions`), ``deployments`` (:class:`AgentDeployments`) and
    ``versions`` (:class:`AgentVersions`) manage what runs; ``logs`` reads a deployment's
    console logs.
    """

    _client: VideoSDK

    def __init__(self, client: VideoSDK) -> None:
        super().__init__(client)
        self.sessions = RuntimeSessions(client)
        self.deployments = AgentDeployments(client)
        self.versions = AgentVersions(client)

    def dispatch(
        self,
        *,
        agent_id: str,
        room_id: str | None = None,
        deployment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        version_id: str | None = None,
        version_tag: str | None = None,
        room_options: Mapping[str, Any] | None = None,
        sip_options: Mapping[str, Any] | None = None,
        general: bool = False,
        reconcile: bool = True,
        wait_for_capacity: float | None = None,
        timeout: float | None = None,
    ) -> SessionStart[Dispatch]:
        """Dispatches the agent ``agent_id`` into ``room_id`` (a new room when None). Await
        the result for the :class:`Dispatch`, or use it with ``async with`` to have the
        room's agent session ended on exit (also on error or cancel).

        ``version_id`` pins a version (default: the latest deployed), ``version_tag``
        picks one by tag; ``general=True`` dispatches a managed (low-code) agent, which needs
        ``version_id`` and takes no tag. ``metadata``, ``room_options`` and ``sip_options``
        are handed to the agent as they are.

        Sent at most once. With ``reconcile`` (the default) an ambiguous failure is settled
        by looking for the agent's session in the room, in ``deployment_id`` (or, when
        None, every deployment of the agent); ``reconcile=False`` raises
        StartOutcomeUnknownError instead, its ``marker`` the room id. A refusal for want of
        workers is AgentAtCapacityError; ``wait_for_capacity`` seconds keep trying with
        capped back-off until a worker takes it. ``timeout`` bounds the whole dispatch
        (the room's creation, retries, reconciliation and waiting for capacity).
        """
        agent = check_text("agent_id", agent_id)
        room = check_segment("room_id", room_id) if room_id is not None else None
        deployment = (
            check_segment("deployment_id", deployment_id) if deployment_id is not None else None
        )
        body: dict[str, Any] = {"agentId": agent}
        if metadata is not None:
            body["metadata"] = check_json_object("metadata", metadata)
        if version_id is not None:
            body["versionId"] = check_text("version_id", version_id)
        if version_tag is not None:
            body["versionTag"] = check_text("version_tag", version_tag)
        if room_options is not None:
            body["roomOptions"] = check_json_object("room_options", room_options)
        if sip_options is not None:
            body["sipOptions"] = check_json_object("sip_options", sip_options)
        if check_flag("general", general):
            if version_id is None:
                raise InvalidRequestError("version_id", "a general dispatch needs a version_id")
            if version_tag is not None:
                raise InvalidRequestError(
                    "version_tag", "a general dispatch takes a version_id, not a version_tag"
                )
        check_flag("reconcile", reconcile)
        patience = (
            None
            if wait_for_capacity is None
            else check_seconds("wait_for_capacity", wait_for_capacity, allow_infinite=False)
        )
        limit = check_timeout("timeout", timeout)
        client = self._client

        async def start(managed: bool) -> Dispatch:
            deadline = None if limit is None or limit == math.inf else client._retry.clock() + limit
            label = f"the call's {limit:g}s" if deadline is not None else ""
            work = self._dispatch(
                body,
                path=_GENERAL_DISPATCH if general else _DISPATCH,
                room=room,
                deployment=deployment,
                reconcile=reconcile,
                patience=patience,
                deadline=deadline,
                managed=managed,
            )
            return await within_deadline(deadline, work, label=label)

        return SessionStart(
            start,
            client._end_session,
            held=client._held,
            starts=client._starts,
            what="runtime.dispatch(...)",
            running_loop=client._transport.running_loop,
        )

    async def _dispatch(
        self,
        body: dict[str, Any],
        *,
        path: str,
        room: str | None,
        deployment: str | None,
        reconcile: bool,
        patience: float | None,
        deadline: float | None,
        managed: bool,
    ) -> Dispatch:
        client = self._client
        policy = client._retry
        agent: str = body["agentId"]
        new_room = room is None
        if room is None:
            room = (await client.rooms.create()).room_id
        into = room
        metadata = body.get("metadata")

        def structure(reply: Reply) -> Dispatch:
            return _dispatch_from_wire(
                reply.data,
                room_id=into,
                agent_id=agent,
                version_id=body.get("versionId"),
                deployment_id=deployment,
                metadata=metadata,
            )

        lookup = (
            _RoomLookup(
                self,
                agent_id=agent,
                deployment_id=deployment,
                new_room=new_room,
                version_id=body.get("versionId"),
                metadata=metadata,
            )
            if reconcile
            else None
        )
        plan = StartPlan(
            call=client._call(
                "runtime.dispatch",
                "POST",
                path,
                # The room goes as meetingId, and as roomId too, as VideoSDK's Node SDK sends.
                json={**body, "meetingId": into, "roomId": into},
                mode=RetryMode.AT_MOST_ONCE,
            ),
            structure=structure,
            describe=f"runtime.dispatch of agent {agent!r} into room {into!r}",
            hint=(
                f"A dispatch's answer names no session: look for the agent's session in room "
                f"{into} (runtime.sessions.find(deployment_id, room_id={into!r})) before "
                f"dispatching again."
            ),
            reconciler=lookup,
            marker=into if lookup is not None else None,
        )
        give_up = None if patience is None else policy.clock() + patience
        refusals = 0
        while True:
            try:
                return await start_at_most_once(
                    client._transport, plan, held=client._held, managed=managed, timeout=None
                )
            except AgentAtCapacityError as refused:
                # Nothing was dispatched: waiting for a free worker is safe, within bounds.
                if give_up is None:
                    raise
                delay = refused.retry_after
                if delay is None:
                    delay = policy.backoff(refusals)
                refusals += 1
                until = policy.clock() + delay
                left = _remaining(client, deadline)
                if until > give_up or (left is not None and delay >= left):
                    raise
                await policy.sleep(delay)

    def logs(
        self,
        deployment_id: str,
        *,
        agent_id: str | None = None,
        version_id: str | None = None,
        session_id: str | None = None,
        room_id: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[LogEntry]:
        """The deployment's console logs as :class:`~agentcloud.LogEntry` lines, filtered by
        agent, version, session, room or user, between ``since`` and ``until``
        (timezone-aware; VideoSDK's default is the last 24 hours), newest first unless
        ``order="asc"``. A history, walked page by page, not a live stream. ``timeout``
        bounds each page's request."""
        encoded = path_segment("deployment_id", deployment_id)
        query = _query(
            ("agent_id", "agentId", agent_id),
            ("version_id", "versionId", version_id),
            ("session_id", "sessionId", session_id),
            ("user_id", "userId", user_id),
            ("room_id", "roomId", room_id),
        )
        if since is not None:
            query["start"] = _iso("since", since)
        if until is not None:
            query["end"] = _iso("until", until)
        if since is not None and until is not None and until <= since:
            raise InvalidRequestError("until", "must be later than since")
        if order is not None:
            query["sort"] = _sort(order)

        def structure(wire: Any) -> LogEntry:
            return _log_entry(wire, deployment_id=deployment_id, session_id=session_id)

        return self._list(
            _LOG_LISTING,
            path={"deployment": encoded},
            query=query,
            structure=structure,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )
