"""LiveKit's emulated world: the project's keys, rooms, agent workers and dispatches."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import json_response
from .._lifecycle import Lifecycle, Phase
from .._seeding import SeededSession, SeedPlan, seed_into
from .._state import SessionRecord
from .._world import Refusal, WorldContext
from ._api import LiveKitApi
from ._records import (
    DEFAULT_AGENT,
    DEFAULT_ROOM,
    JobRecord,
    LiveKitDispatchRecord,
    LiveKitRoomRecord,
    LiveKitWorker,
    short_id,
)
from ._tokens import PlainRefusal, TokenCheck, mint
from ._views import dispatch_view, job_view, protojson, room_view
from ._webhooks import CONTENT_TYPE, event_for, sign, webhook_body

if TYPE_CHECKING:
    from agentcloud.providers.livekit import LiveKitCloud

__all__ = ["LiveKitWorld"]

# Twirp's error codes by HTTP status, for refusals that name none.
_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "bad_route",
    408: "deadline_exceeded",
    409: "already_exists",
    412: "failed_precondition",
    429: "resource_exhausted",
    500: "internal",
    501: "unimplemented",
    503: "unavailable",
}
_AT_ONCE = Lifecycle(start_delay=0.0, run_duration=None)
_JOB_STATUSES = ("JS_SUCCESS", "JS_FAILED", "JS_CANCELLED")


def _uuid_bits(text: str) -> int:
    return uuid.UUID(text).int


class LiveKitWorld:
    """LiveKit Cloud's agent dispatch and room services, under /twirp/.

    Options (``Emulator(livekit_<option>=...)``): ``api_key`` and ``api_secret``, random
    unless given, and ``worker_capacity``, the live-job cap of the seeded worker (None, the
    default: no cap). Seeded with that worker, serving the agent "my-agent". A dispatch
    of an agent no worker serves waits with no job (QUEUED) until one registers; one that
    finds every worker full gets a job that fails at once with ``JSR_NO_CAPACITY``. Jobs
    are pending for the lifecycle's start delay, then running until it ends them
    (``JS_SUCCESS``), a deletion cancels them (``JS_CANCELLED``) or a test ends them
    (`finish_job`).
    """

    name: str = "livekit"
    path_prefixes: tuple[str, ...] = ("/twirp/",)
    attributes: tuple[str, ...] = (
        "api_key",
        "api_secret",
        "agent_name",
        "worker_id",
        "token",
        "webhooks",
        "room",
        "dispatch",
        "worker",
        "add_worker",
        "finish_job",
    )
    server_error_message: str = "internal error"

    def __init__(
        self,
        context: WorldContext,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        worker_capacity: int | None = None,
    ) -> None:
        self.book = context.sessions
        self._context = context
        self.api_key = api_key or f"API{secrets.token_urlsafe(9)}"
        """The API key: tokens' issuer."""
        self.api_secret = api_secret or secrets.token_urlsafe(32)
        """The API secret that signs tokens and webhooks (HS256)."""
        self.agent_name = DEFAULT_AGENT
        """The agent the seeded worker serves."""
        self.worker_id = ""
        """The seeded worker's id."""
        self._seeded_capacity = worker_capacity
        self.tokens = TokenCheck(self.api_key, self.api_secret)
        self.rooms: dict[str, LiveKitRoomRecord] = {}
        self.sessions: dict[str, LiveKitDispatchRecord] = {}
        self.workers: dict[str, LiveKitWorker] = {}
        self.webhook_urls: list[str] = []
        # Event ids come from a stream of their own, so deliveries never shift record ids.
        self._event_ids = random.Random(self.book.random_bits(64))
        self._api = LiveKitApi(self)
        self.book.add_listener(self._job_event)

    # ---- the World protocol

    def routes(self) -> list[web.RouteDef]:
        return self._api.routes()

    def seed_world(self) -> None:
        self.worker_id = self.add_worker(DEFAULT_AGENT, capacity=self._seeded_capacity).id

    def error_response(self, refusal: Refusal) -> web.Response:
        if isinstance(refusal, PlainRefusal):
            return web.Response(
                text=refusal.message, status=refusal.status, headers=refusal.headers
            )
        body: dict[str, Any] = {
            "code": refusal.code or _CODES.get(refusal.status, "unknown"),
            "msg": refusal.message,
        }
        meta = refusal.extra.get("meta")
        if meta:
            body["meta"] = meta
        return json_response(body, status=refusal.status, headers=refusal.headers)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return self.error_response(
            Refusal(429, "rate limit exceeded", code="resource_exhausted", headers=headers)
        )

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key, self.api_secret)

    def seed_sessions(
        self, plan: SeedPlan, *, room: str = DEFAULT_ROOM, agent_name: str = DEFAULT_AGENT
    ) -> list[str]:
        """Past dispatches of `agent_name` in `room` (created when missing), each with its
        job (on the seeded worker) already run."""

        def build(drawn: SeededSession) -> LiveKitDispatchRecord:
            failed = drawn.timeline.phase is Phase.FAILED
            return LiveKitDispatchRecord(
                id=short_id("AD_", _uuid_bits(drawn.id)),
                agent_name=agent_name,
                room=room,
                metadata="",
                restart_policy="JRP_ON_FAILURE",
                deployment="",
                attributes={},
                created_at=drawn.timeline.created_at,
                timeline=drawn.timeline,
                sequence=self.book.next_sequence(),
                job=JobRecord(
                    id=short_id("AJ_", _uuid_bits(drawn.related_ids[0])),
                    worker_id=self.worker_id,
                    error="the agent exited with an error" if failed else "",
                ),
            )

        ids = seed_into(self.sessions, self.book, plan, build, provider=self.name)
        if ids:
            oldest = self.sessions[ids[-1]].created_at
            target = self.rooms.get(room) or self._new_room(room, created_at=oldest)
            target.dispatch_ids.extend(reversed(ids))
        return ids

    def client(self, **kwargs: Any) -> LiveKitCloud:
        from agentcloud.providers.livekit import LiveKitCloud

        return LiveKitCloud(
            api_key=self.api_key,
            api_secret=self.api_secret,
            base_url=self._context.base_url(),
            **kwargs,
        )

    def environment(self) -> dict[str, str]:
        return {
            "LIVEKIT_URL": self._context.base_url(),
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
        }

    # ---- served as emu.livekit_<name>

    def token(
        self, video: Mapping[str, Any] | None = None, *, ttl: float = 600.0, **keys: str
    ) -> str:
        """An access token with these ``video`` grants (e.g. ``{"roomList": True}``), for
        raw HTTP calls; ``api_key=``/``api_secret=`` sign it with other keys."""
        return mint(
            keys.get("api_key", self.api_key),
            keys.get("api_secret", self.api_secret),
            dict(video or {}),
            ttl=ttl,
        )

    def webhooks(self, url: str) -> None:
        """Deliver the project's webhooks (job and room events) to `url` (loopback only),
        signed with the API key and secret."""
        self.webhook_urls.append(url)

    def room(self, name: str) -> LiveKitRoomRecord:
        """The open room named `name` (KeyError if none)."""
        return self.rooms[name]

    def dispatch(self, dispatch_id: str) -> LiveKitDispatchRecord:
        """The dispatch with that id, deleted or not (KeyError if none)."""
        return self.sessions[dispatch_id]

    def worker(self, worker_id: str) -> LiveKitWorker:
        """The registered worker with that id (KeyError if none); it may be changed."""
        return self.workers[worker_id]

    def add_worker(
        self,
        agent_name: str = DEFAULT_AGENT,
        *,
        capacity: int | None = None,
        fail_jobs: bool = False,
        lifecycle: Lifecycle | None = None,
    ) -> LiveKitWorker:
        """Register an agent worker for `agent_name`; dispatches that were waiting for
        one get their jobs now (as far as its `capacity` goes)."""
        if capacity is not None and capacity < 0:
            raise ValueError("capacity must be >= 0 or None")
        self.book.tick()
        worker = LiveKitWorker(
            id=short_id("AW_", self.book.random_bits(72)),
            agent_name=agent_name,
            capacity=capacity,
            fail_jobs=fail_jobs,
            lifecycle=lifecycle,
        )
        self.workers[worker.id] = worker
        for room in self.rooms.values():
            for dispatch in self.room_dispatches(room.name):
                if dispatch.job is None and dispatch.agent_name == agent_name:
                    self._assign(dispatch)
        return worker

    def finish_job(
        self, dispatch_id: str, *, status: str = "JS_FAILED", error: str = "agent error"
    ) -> None:
        """End the dispatch's live job now as `status` (``JS_FAILED``, ``JS_SUCCESS`` or
        ``JS_CANCELLED``); `error` is the failed job's message."""
        if status not in _JOB_STATUSES:
            raise ValueError(f"status must be one of {', '.join(_JOB_STATUSES)}")
        self.book.tick()
        dispatch = self.sessions[dispatch_id]
        if dispatch.job is None or not dispatch.live:
            raise ValueError(f"dispatch {dispatch_id} has no live job")
        dispatch.job.final_status = status
        dispatch.job.error = error if status == "JS_FAILED" else ""
        self.book.stop(dispatch)

    # ---- what the API does

    def room_view(self, room: LiveKitRoomRecord) -> dict[str, Any]:
        agents = sum(
            1
            for dispatch in self.room_dispatches(room.name)
            if dispatch.job is not None and dispatch.job_status() == "JS_RUNNING"
        )
        return room_view(room, participants=agents)

    def dispatch_view(self, dispatch: LiveKitDispatchRecord) -> dict[str, Any]:
        return dispatch_view(dispatch, self)

    def room_dispatches(self, name: str) -> list[LiveKitDispatchRecord]:
        """The room's dispatches, oldest first."""
        room = self.rooms[name]
        found = [self.sessions[dispatch_id] for dispatch_id in room.dispatch_ids]
        return sorted(found, key=lambda dispatch: (dispatch.created_at, dispatch.sequence))

    def _new_room(
        self, name: str, *, created_at: float | None = None, **fields: Any
    ) -> LiveKitRoomRecord:
        room = LiveKitRoomRecord(
            sid=short_id("RM_", self.book.random_bits(72)),
            name=name,
            created_at=self.book.clock.now() if created_at is None else created_at,
            **fields,
        )
        self.rooms[name] = room
        self._room_event("room_started", room)
        return room

    def create_room(
        self,
        name: str,
        *,
        empty_timeout: int = 0,
        departure_timeout: int = 0,
        max_participants: int = 0,
        metadata: str = "",
    ) -> LiveKitRoomRecord:
        """The room `name`, created unless it exists (then it is returned unchanged)."""
        existing = self.rooms.get(name)
        if existing is not None:
            return existing
        return self._new_room(
            name,
            empty_timeout=empty_timeout or 300,
            departure_timeout=departure_timeout or 20,
            max_participants=max_participants,
            metadata=metadata,
        )

    def delete_room(self, room: LiveKitRoomRecord) -> None:
        """Close the room: its live jobs are cancelled and its dispatches go with it."""
        for dispatch in self.room_dispatches(room.name):
            if dispatch.live and dispatch.job is not None:
                dispatch.job.reason = "JSR_ROOM_CLOSED"
                self.book.stop(dispatch)
        del self.rooms[room.name]
        self._room_event("room_finished", room)

    def create_dispatch(
        self,
        *,
        agent_name: str,
        room: str,
        metadata: str = "",
        restart_policy: str = "JRP_ON_FAILURE",
        deployment: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A new dispatch in `room` (created when missing), as the create call answers it:
        before its job is launched."""
        target = self.rooms.get(room) or self.create_room(room)
        now = self.book.clock.now()
        dispatch = LiveKitDispatchRecord(
            id=short_id("AD_", self.book.random_bits(72)),
            agent_name=agent_name,
            room=target.name,
            metadata=metadata,
            restart_policy=restart_policy,
            deployment=deployment,
            attributes=dict(attributes or {}),
            created_at=now,
            timeline=self.book.new_timeline(None, always_fail=False),
            sequence=self.book.next_sequence(),
        )
        self.sessions[dispatch.id] = dispatch
        target.dispatch_ids.append(dispatch.id)
        view = self.dispatch_view(dispatch)
        self._assign(dispatch)
        return view

    def delete_dispatch(self, dispatch: LiveKitDispatchRecord) -> dict[str, Any]:
        """Delete the dispatch: its live job is cancelled; the room forgets it."""
        self.rooms[dispatch.room].dispatch_ids.remove(dispatch.id)
        dispatch.deleted_at = self.book.clock.now()
        if dispatch.live and dispatch.job is not None:
            dispatch.job.reason = "JSR_DISPATCH_DELETED"
            self.book.stop(dispatch)
        return self.dispatch_view(dispatch)

    def _load(self, worker: LiveKitWorker) -> int:
        return sum(
            1
            for session in self.book.active_sessions()
            if isinstance(session, LiveKitDispatchRecord)
            and session.job is not None
            and session.job.worker_id == worker.id
        )

    def _assign(self, dispatch: LiveKitDispatchRecord) -> None:
        """Launch the dispatch's job on a worker with room for it, if any serves its agent."""
        serving = [w for w in self.workers.values() if w.agent_name == dispatch.agent_name]
        if not serving:
            return  # it waits, jobless, for a worker to register
        loads = {worker.id: self._load(worker) for worker in serving}
        free = [w for w in serving if w.capacity is None or loads[w.id] < w.capacity]
        job_id = short_id("AJ_", self.book.random_bits(72))
        if not free:
            dispatch.job = JobRecord(
                id=job_id,
                worker_id="",
                reason="JSR_NO_CAPACITY",
                error="no agent worker has capacity for the job",
            )
            dispatch.timeline = self.book.new_timeline(_AT_ONCE, always_fail=True)
        else:
            worker = min(free, key=lambda w: loads[w.id])
            dispatch.job = JobRecord(id=job_id, worker_id=worker.id)
            dispatch.timeline = self.book.new_timeline(
                worker.lifecycle, always_fail=worker.fail_jobs
            )
            if dispatch.timeline.will_fail:
                dispatch.job.error = "the agent failed to start the job"
        self.book.begin(dispatch)

    # ---- webhooks

    def _event_id(self) -> str:
        return short_id("EV_", self._event_ids.getrandbits(72))

    def _deliver(self, key: str, event: str, payload: dict[str, Any]) -> None:
        if not self.webhook_urls:
            return
        body = webhook_body(
            {
                "event": event,
                **payload,
                "id": self._event_id(),
                "createdAt": str(int(self.book.clock.now())),
            }
        )
        token = sign(body, self.api_key, self.api_secret)
        for url in self.webhook_urls:
            self._context.webhooks.enqueue(
                session_id=key,
                event=event,
                url=url,
                body=body,
                signature=token,
                headers={"Content-Type": CONTENT_TYPE, "Authorization": token},
            )

    def _job_event(self, session: SessionRecord, phase: Phase) -> None:
        if not isinstance(session, LiveKitDispatchRecord) or session.job is None:
            return
        event = event_for(phase)
        if event is None:
            return
        room = self.rooms.get(session.room)
        job = job_view(session, self.room_view(room) if room is not None else None)
        self._deliver(session.id, event, {"job": protojson(job)})

    def _room_event(self, event: str, room: LiveKitRoomRecord) -> None:
        self._deliver(room.sid, event, {"room": protojson(room_view(room))})
