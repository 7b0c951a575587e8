"""The endpoints of VideoSDK's agent runtime: rooms, dispatch, room sessions and
``/ai/v1/cloud`` (deployments, their sessions and console logs, versions).

Each check raises a `Refusal`, answered in VideoSDK's error shape (`{"message": ...}`), so
a handler reads as the list of its checks. Request fields follow VideoSDK's pages and what
its Node SDK and CLI send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from .._json import json_response
from .._world import Refusal
from ._api import (
    _json_object,
    _optional_object,
    _page_of,
    _required_string,
    _webhook,
    authorize,
)
from ._runtime import LOG_WINDOW
from ._runtime_records import (
    ConsoleLog,
    EmulatedAgentDeployment,
    EmulatedRoom,
    EmulatedVersion,
    RuntimeSessionRecord,
)
from ._runtime_views import (
    agent_deployment_view,
    created_agent_deployment_view,
    dispatch_answer,
    listed_runtime_session_view,
    log_view,
    paging_envelope,
    room_session_view,
    room_view,
    version_view,
)
from ._webhooks import RUNTIME_WEBHOOK_EVENTS

if TYPE_CHECKING:
    from ._world import VideoSDKWorld

__all__ = ["RuntimeApi"]

_Item = TypeVar("_Item")

CLOUD = "/ai/v1/cloud"
_PROFILES = ("cpu-small", "cpu-medium", "cpu-large")
_IMAGE_TYPES = ("public", "private", "managed")
_MAX_REPLICAS = 50
_MAX_NAME_PATTERN = 200


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise Refusal(400, f'"{name}" must be a non-empty string')
    return value


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise Refusal(400, f'"{name}" must be a boolean')
    return value


def _replica(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_REPLICAS:
        raise Refusal(400, f'"{name}" must be an integer from 0 to {_MAX_REPLICAS}')
    return value


def _image(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refusal(400, '"image" must be an object')
    url = value.get("imageUrl")
    if not isinstance(url, str) or not url:
        raise Refusal(400, '"image.imageUrl" is required')
    kind = value.get("imageType", "public")
    if kind not in _IMAGE_TYPES:
        raise Refusal(400, f'"image.imageType" must be one of {", ".join(_IMAGE_TYPES)}')
    return dict(value)


def _sort(request: web.Request) -> str:
    sort = request.query.get("sort", "-1")
    if sort not in ("1", "-1"):
        raise Refusal(400, '"sort" must be 1 or -1')
    return sort


def _time(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Refusal(400, f'"{name}" must be an ISO 8601 date') from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _filters(request: web.Request, **fields: Callable[[Any], Any]) -> list[Callable[[Any], bool]]:
    """A check per query filter given: ``wire name -> the item's value of it``."""
    checks: list[Callable[[Any], bool]] = []
    for name, field in fields.items():
        wanted = request.query.get(name)
        if wanted is not None:
            checks.append(_equals(field, wanted))
    return checks


def _equals(field: Callable[[Any], Any], wanted: str) -> Callable[[Any], bool]:
    return lambda item: bool(field(item) == wanted)


class RuntimeApi:
    """Route handlers for the agent runtime, bound to the VideoSDK world."""

    def __init__(self, world: VideoSDKWorld) -> None:
        self._world = world
        self._runtime = world.runtime

    def routes(self) -> list[web.RouteDef]:
        deployment = f"{CLOUD}/deployments/{{deploymentId}}"
        version = f"{CLOUD}/versions/{{versionId}}"
        return [
            web.post("/v2/rooms", self.create_room),
            web.post("/v2/agent/dispatch", self.dispatch),
            web.post("/v2/agent/connect", self.dispatch),
            web.post("/v2/agent/general/dispatch", self.general_dispatch),
            web.post("/v2/sessions/end", self.end_room_session),
            web.post(f"{CLOUD}/deployments", self.create_deployment),
            web.get(f"{CLOUD}/deployments", self.list_deployments),
            web.get(f"{deployment}/sessions", self.list_sessions),
            web.get(f"{deployment}/console-logs", self.list_logs),
            web.get(f"{deployment}/latest", self.latest_version),
            web.put(f"{deployment}/update", self.update_deployment),
            web.post(f"{deployment}/delete", self.delete_deployment),
            web.post(f"{CLOUD}/versions", self.create_version),
            web.get(f"{CLOUD}/versions", self.list_versions),
            web.get(version, self.get_version),
            web.put(version, self.update_version),
            web.put(f"{version}/activate", self.activate_version),
            web.delete(f"{version}/schedule", self.clear_schedule),
        ]

    def _authorize(self, request: web.Request) -> None:
        authorize(request, api_key=self._world.api_key, secret=self._world.secret)

    def _page_of(
        self,
        request: web.Request,
        key: str,
        listing: Sequence[_Item],
        view: Callable[[_Item], dict[str, Any]],
    ) -> web.Response:
        def paging(total: int, page: int, per_page: int) -> dict[str, Any]:
            return paging_envelope(self._world.runtime_paging, total, page, per_page)

        return _page_of(request, listing, view, items=key, paging=paging)

    def _deployment(self, deployment_id: str) -> EmulatedAgentDeployment:
        deployment = self._runtime.deployments.get(deployment_id)
        if deployment is None or deployment.deleted:
            raise Refusal(404, "Deployment not found")
        return deployment

    def _version(self, version_id: str) -> EmulatedVersion:
        version = self._runtime.versions.get(version_id)
        deployment = (
            None if version is None else self._runtime.deployments.get(version.deployment_id)
        )
        if version is None or deployment is None or deployment.deleted:
            raise Refusal(404, "Version not found")
        return version

    def _room(self, room_id: str) -> EmulatedRoom:
        room = self._runtime.room(room_id)
        if room is None:
            raise Refusal(404, "Room not found")
        return room

    # ---- rooms and dispatch

    async def create_room(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        custom = _optional_string(body, "customRoomId")
        _webhook(body, allowed=tuple(_room_events(body)))
        auto_close = _optional_object(body, "autoCloseConfig") or None
        room = self._runtime.add_room(custom_room_id=custom, auto_close=auto_close)
        view = room_view(room, user_id=self._runtime.user_id, base_url=self._world.base_url())
        return json_response(view)

    async def dispatch(self, request: web.Request) -> web.Response:
        return await self._dispatch(request, general=False)

    async def general_dispatch(self, request: web.Request) -> web.Response:
        return await self._dispatch(request, general=True)

    async def _dispatch(self, request: web.Request, *, general: bool) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        agent_id = _required_string(body, "agentId")
        if body.get("meetingId") is None and body.get("roomId") is not None:
            body = {**body, "meetingId": body["roomId"]}
        room = self._room(_required_string(body, "meetingId"))
        metadata = _optional_object(body, "metadata")
        _optional_object(body, "roomOptions")
        _optional_object(body, "sipOptions")
        version_id = _optional_string(body, "versionId")
        # The general dispatch ignores a tag and needs the version.
        version_tag = None if general else _optional_string(body, "versionTag")
        if general and version_id is None:
            raise Refusal(400, '"versionId" is required')
        self._runtime.dispatch(
            agent_id=agent_id,
            room=room,
            metadata=metadata,
            version_id=version_id,
            version_tag=version_tag,
        )
        return json_response(dispatch_answer(room, self._runtime.agents[agent_id]))

    async def end_room_session(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        room_id = _optional_string(body, "roomId") or _optional_string(body, "customRoomId")
        if room_id is None:
            raise Refusal(400, '"roomId" is required')
        room = self._room(room_id)
        session_id = _optional_string(body, "sessionId")
        _optional_bool(body, "vsdkForceKill")
        session = self._runtime.end_room(room, session_id)
        agent = self._runtime.agents[session.agent_id]
        return json_response(room_session_view(session, agent, base_url=self._world.base_url()))

    # ---- deployments

    async def create_deployment(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        name = _optional_string(body, "name")
        template = _optional_string(body, "template")
        env_secret = _optional_string(body, "envSecret")
        agent_id = _optional_string(body, "agentId")
        if agent_id is not None and agent_id not in self._runtime.agents:
            raise Refusal(404, "Agent not found")
        if agent_id is None:
            count = len(self._runtime.agents) + 1
            agent_id = self._runtime.add_agent(name=name or f"agent-{count}", deployed=False).id
        deployment = self._runtime.add_deployment(
            agent_id=agent_id,
            name=name or self._runtime.agents[agent_id].name,
            template=template,
            env_secret=env_secret,
        )
        return json_response(created_agent_deployment_view(deployment))

    async def list_deployments(self, request: web.Request) -> web.Response:
        self._authorize(request)
        checks = _filters(
            request,
            agentId=lambda d: d.agent_id,
            status=lambda d: d.status,
            deploymentId=lambda d: d.id,
        )
        pattern = request.query.get("name")
        if pattern is not None:
            if len(pattern) > _MAX_NAME_PATTERN:
                raise Refusal(400, '"name" is too long')
            try:
                compiled = re.compile(pattern)
            except re.error:
                raise Refusal(400, '"name" must be a valid regular expression') from None
            checks.append(lambda d: compiled.search(d.name) is not None)
        listing = [d for d in self._runtime.deployment_listing() if all(c(d) for c in checks)]
        return self._page_of(request, "deployments", listing, agent_deployment_view)

    async def list_sessions(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._deployment(request.match_info["deploymentId"])
        sort = _sort(request)
        room = request.query.get("roomId")
        if room is not None:
            known = self._runtime.room(room)
            room = known.room_id if known is not None else room
        checks = _filters(
            request,
            agentId=lambda s: s.agent_id,
            versionId=lambda s: s.version_id,
            sessionId=lambda s: s.id,
        )
        if room is not None:
            checks.append(_equals(lambda s: s.room_id, room))
        listing: Sequence[RuntimeSessionRecord] = self._runtime.deployment_sessions(deployment.id)
        if checks:
            listing = [s for s in listing if all(c(s) for c in checks)]
        if sort == "1":
            listing = listing[::-1]
        return self._page_of(request, "sessions", listing, listed_runtime_session_view)

    async def list_logs(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._deployment(request.match_info["deploymentId"])
        sort = _sort(request)
        now = self._world.book.clock.now()
        start = _time(request, "start")
        end = _time(request, "end")
        since = start if start is not None else now - LOG_WINDOW
        checks = _filters(
            request,
            agentId=lambda log: log.agent_id,
            versionId=lambda log: log.version_id,
            sessionId=lambda log: log.session_id,
            userId=lambda log: log.user_id,
            roomId=lambda log: log.room_id,
        )
        checks.append(lambda log: log.at >= since)
        if end is not None:
            checks.append(lambda log: log.at <= end)
        logs: list[ConsoleLog] = [
            log
            for log in self._runtime.logs
            if log.deployment_id == deployment.id and all(c(log) for c in checks)
        ]
        logs.sort(key=lambda log: (log.at, log.sequence), reverse=sort == "-1")
        return self._page_of(request, "logs", logs, log_view)

    async def latest_version(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._deployment(request.match_info["deploymentId"])
        versions = [v for v in self._runtime.versions.values() if v.deployment_id == deployment.id]
        if not versions:
            raise Refusal(404, "No version found for this deployment")
        return json_response(version_view(max(versions, key=lambda v: v.sequence)))

    async def update_deployment(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._deployment(request.match_info["deploymentId"])
        body = await _json_object(request)
        deployment.env_secret = _required_string(body, "envSecret")
        deployment.updated_at = self._world.book.clock.now()
        return json_response({"message": "Deployment updated successfully"})

    async def delete_deployment(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._deployment(request.match_info["deploymentId"])
        body = await _json_object(request)
        force = _optional_bool(body, "force")
        versions = {
            v.id for v in self._runtime.versions.values() if v.deployment_id == deployment.id
        }
        running = [s for s in self._runtime.live_sessions() if s.version_id in versions]
        if running and not force:
            raise Refusal(409, "The deployment has running sessions; pass force to delete it")
        self._runtime.delete_deployment(deployment)
        return json_response({"message": "Deployment deleted successfully"})

    # ---- versions

    def _settings(self, body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """The version settings in ``body``, checked; on create, the image is required."""
        settings: dict[str, Any] = {}
        if "image" in body or not partial:
            settings["image"] = _image(body.get("image"))
        for wire, name in (
            ("name", "name"),
            ("versionTag", "version_tag"),
            ("region", "region"),
            ("envSecret", "env_secret"),
            ("buildId", "build_id"),
        ):
            value = _optional_string(body, wire)
            if value is not None:
                settings[name] = value
        profile = body.get("profile")
        if profile is not None:
            if profile not in _PROFILES:
                raise Refusal(400, f'"profile" must be one of {", ".join(_PROFILES)}')
            settings["profile"] = profile
        for wire, name in (("minReplica", "min_replica"), ("maxReplica", "max_replica")):
            count = _replica(body, wire)
            if count is not None:
                settings[name] = count
        if "schedule" in body:
            settings["schedule"] = body["schedule"]
        webhook = _webhook(body, allowed=RUNTIME_WEBHOOK_EVENTS)
        if webhook is not None:
            settings["webhook"] = webhook
        return settings

    def _check_scaling(self, minimum: int, maximum: int) -> None:
        if maximum < minimum:
            raise Refusal(400, '"maxReplica" must be greater than or equal to "minReplica"')

    async def create_version(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        agent_id = _required_string(body, "agentId")
        deployment = self._deployment(_required_string(body, "deploymentId"))
        if deployment.agent_id != agent_id:
            raise Refusal(400, "The deployment does not belong to this agent")
        settings = self._settings(body, partial=False)
        self._check_scaling(settings.get("min_replica", 0), settings.get("max_replica", 1))
        image = settings.pop("image")
        version = self._runtime.add_version(deployment=deployment, image=image, **settings)
        return json_response(version_view(version))

    async def list_versions(self, request: web.Request) -> web.Response:
        self._authorize(request)
        sort = _sort(request)
        checks = _filters(
            request, agentId=lambda v: v.agent_id, deploymentId=lambda v: v.deployment_id
        )
        versions = [
            v
            for v in self._runtime.versions.values()
            if not self._runtime.deployments[v.deployment_id].deleted and all(c(v) for c in checks)
        ]
        versions.sort(key=lambda v: v.sequence, reverse=sort == "-1")
        return self._page_of(request, "versions", versions, version_view)

    async def get_version(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return json_response(version_view(self._version(request.match_info["versionId"])))

    async def update_version(self, request: web.Request) -> web.Response:
        self._authorize(request)
        version = self._version(request.match_info["versionId"])
        body = await _json_object(request)
        settings = self._settings(body, partial=True)
        self._check_scaling(
            settings.get("min_replica", version.min_replica),
            settings.get("max_replica", version.max_replica),
        )
        for name, value in settings.items():
            setattr(version, name, value)
        version.updated_at = self._world.book.clock.now()
        return json_response({"message": "Version updated successfully"})

    async def activate_version(self, request: web.Request) -> web.Response:
        self._authorize(request)
        version = self._version(request.match_info["versionId"])
        body = await _json_object(request)
        activate = body.get("activate")
        if not isinstance(activate, bool):
            raise Refusal(400, '"activate" is required and must be a boolean')
        force = _optional_bool(body, "force")
        if activate:
            self._runtime.activate(version)
            return json_response({"message": "Version activated successfully"})
        if self._runtime.live_sessions(version_id=version.id) and not force:
            raise Refusal(409, "The version has running sessions; pass force to deactivate it")
        self._runtime.stop_version(version)
        version.active = False
        version.updated_at = self._world.book.clock.now()
        return json_response({"message": "Version deactivated successfully"})

    async def clear_schedule(self, request: web.Request) -> web.Response:
        self._authorize(request)
        version = self._version(request.match_info["versionId"])
        version.schedule = None
        version.updated_at = self._world.book.clock.now()
        return json_response({"message": "Schedule removed successfully"})


def _room_events(body: dict[str, Any]) -> list[str]:
    """A room's webhook may name any of VideoSDK's room events (patterns included): every
    name given is accepted, so long as it is a string."""
    hook = body.get("webhook")
    events = hook.get("events") if isinstance(hook, dict) else None
    return [e for e in events if isinstance(e, str)] if isinstance(events, list) else []
