"""VideoSDK Agent Cloud's documented endpoints, written from the vendor's pages.

JSON shapes and their casing quirks follow the pages exactly: `metaData` and
`webhook.endPoint` are sent, `metadata` and `webhook.endpoint` are listed back; the
deployment listing says `created_at` where every other answer says `createdAt`; times are
ISO strings with milliseconds; `duration` is whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jwt
from aiohttp import web
from attrs import frozen

from ._lifecycle import Phase
from ._responses import json_response, videosdk_error
from ._state import (
    EmulatedDeployment,
    EmulatorState,
    VideoSDKSessionRecord,
    WebhookSubscription,
)
from ._timestamps import iso_millis

_Item = TypeVar("_Item")

__all__ = ["VIDEOSDK_WEBHOOK_EVENTS", "VideoSDKApi", "VideoSDKCredentials", "webhook_event_for"]

VIDEOSDK_WEBHOOK_EVENTS = (
    "ai-deployment-session-starting",
    "ai-deployment-session-started",
    "ai-deployment-session-stopping",
    "ai-deployment-session-stopped",
    "ai-deployment-session-failed",
)
_EVENT_OF_PHASE = dict(zip(Phase, VIDEOSDK_WEBHOOK_EVENTS, strict=True))
_SERVER_ROLE = "crawler"


def webhook_event_for(phase: Phase) -> str:
    """The webhook event announcing that a session entered `phase`."""
    return _EVENT_OF_PHASE[phase]


@frozen(kw_only=True)
class VideoSDKCredentials:
    api_key: str
    secret: str


def _paging(request: web.Request) -> tuple[int, int] | web.Response:
    values: list[int] = []
    for name in ("page", "perPage"):
        raw = request.query.get(name)
        if raw is None:
            values.append(1 if name == "page" else 10)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            return videosdk_error(400, f'"{name}" must be a positive integer')
        values.append(value)
    return values[0], values[1]


def _page_info(total: int, page: int, per_page: int) -> dict[str, int]:
    # The page's example repeats totalItems as `total`.
    return {"totalItems": total, "currentPage": page, "perPage": per_page, "total": total}


def _session_end(session: VideoSDKSessionRecord) -> float | None:
    # A stopped session ended when it stopped running; a failed one when it failed.
    timeline = session.timeline
    return timeline.stopping_at if timeline.stopping_at is not None else timeline.ended_at


def _session_core(session: VideoSDKSessionRecord) -> dict[str, Any]:
    return {
        "sessionId": session.id,
        "status": session.timeline.phase.value,
        "deploymentId": session.deployment_id,
        "tag": session.tag,
        "start": iso_millis(session.timeline.created_at),
    }


def _end_and_duration(session: VideoSDKSessionRecord) -> dict[str, Any]:
    end = _session_end(session)
    if end is None:
        return {"end": None, "duration": None}
    return {
        "end": iso_millis(end),
        "duration": math.floor(end - session.timeline.created_at),
    }


def _stamps(session: VideoSDKSessionRecord) -> dict[str, str]:
    return {
        "createdAt": iso_millis(session.timeline.created_at),
        "updatedAt": iso_millis(session.timeline.updated_at),
    }


def started_view(session: VideoSDKSessionRecord) -> dict[str, Any]:
    return {**_session_core(session), **_stamps(session)}


def detail_view(session: VideoSDKSessionRecord) -> dict[str, Any]:
    return {**_session_core(session), **_end_and_duration(session), **_stamps(session)}


def listed_view(session: VideoSDKSessionRecord) -> dict[str, Any]:
    webhook = session.webhook
    return {
        "webhook": None
        if webhook is None
        else {"endpoint": webhook.endpoint, "events": list(webhook.events)},
        **_session_core(session),
        **_stamps(session),
        **_end_and_duration(session),
        "metadata": session.metadata,
    }


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json() if await request.read() else {}
    except ValueError:
        return videosdk_error(400, "Request body must be valid JSON")
    if not isinstance(body, dict):
        return videosdk_error(400, "Request body must be a JSON object")
    return body


def _required_string(body: dict[str, Any], name: str) -> str | web.Response:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        return videosdk_error(400, f'"{name}" is required')
    return value


def _optional_object(body: dict[str, Any], name: str) -> dict[str, Any] | web.Response:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        return videosdk_error(400, f'"{name}" must be an object')
    return value


def _webhook(body: dict[str, Any]) -> WebhookSubscription | web.Response | None:
    value = body.get("webhook")
    if value is None:
        return None
    if not isinstance(value, dict):
        return videosdk_error(400, '"webhook" must be an object')
    endpoint = value.get("endPoint")
    if not isinstance(endpoint, str) or not endpoint:
        return videosdk_error(400, '"webhook.endPoint" is required')
    events = value.get("events", [])
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        return videosdk_error(400, '"webhook.events" must be a list of event names')
    unknown = [event for event in events if event not in VIDEOSDK_WEBHOOK_EVENTS]
    if unknown:
        return videosdk_error(
            400,
            f"Invalid webhook event: {unknown[0]}",
            details={"allowedEvents": list(VIDEOSDK_WEBHOOK_EVENTS)},
        )
    return WebhookSubscription(endpoint=endpoint, events=tuple(events))


class VideoSDKApi:
    """Route handlers for VideoSDK's endpoints, bound to the emulator's state."""

    def __init__(
        self, *, state: EmulatorState, credentials: VideoSDKCredentials, public_key_pem: str
    ) -> None:
        self._state = state
        self._credentials = credentials
        self._public_key_pem = public_key_pem

    def routes(self) -> list[web.RouteDef]:
        sessions = "/ai/v1/ai-deployment-sessions"
        deployments = "/ai/v1/ai-deployments"
        return [
            web.post(f"{sessions}/start", self.start_session),
            web.post(f"{sessions}/end", self.end_session),
            web.get(sessions, self.list_sessions),
            web.get(f"{sessions}/{{sessionId}}", self.get_session),
            web.post(deployments, self.create_deployment),
            web.get(deployments, self.list_deployments),
            web.get(f"{deployments}/{{deploymentId}}/{{tag}}", self.get_deployment),
            web.get("/v2/public/rsa-public-key", self.public_key),
        ]

    def _refuse(self, request: web.Request) -> web.Response | None:
        """A 401 unless the request carries a valid server token, as VideoSDK checks it."""
        token = request.headers.get("Authorization", "").strip()
        if not token:
            return videosdk_error(401, "Unauthorized: no authorization token was provided")
        if " " in token:
            return videosdk_error(
                401, "Unauthorized: send the token itself, without a prefix such as 'Bearer '"
            )
        try:
            claims = jwt.decode(token, self._credentials.secret, algorithms=["HS256"])
        except jwt.ExpiredSignatureError:
            return videosdk_error(401, "Unauthorized: token expired")
        except jwt.InvalidTokenError:
            return videosdk_error(401, "Unauthorized: invalid token")
        if claims.get("apikey") != self._credentials.api_key:
            return videosdk_error(401, "Unauthorized: invalid apikey")
        roles = claims.get("roles")
        if not isinstance(roles, list) or _SERVER_ROLE not in roles:
            return videosdk_error(401, "Unauthorized: the token lacks the 'crawler' role")
        return None

    async def start_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        body = await _json_object(request)
        if isinstance(body, web.Response):
            return body
        deployment_id = _required_string(body, "deploymentId")
        if isinstance(deployment_id, web.Response):
            return deployment_id
        tag = _required_string(body, "tag")
        if isinstance(tag, web.Response):
            return tag
        env = _optional_object(body, "env")
        if isinstance(env, web.Response):
            return env
        metadata = _optional_object(body, "metaData")
        if isinstance(metadata, web.Response):
            return metadata
        webhook = _webhook(body)
        if isinstance(webhook, web.Response):
            return webhook
        deployment = self._state.deployments.get(deployment_id)
        if deployment is None:
            return videosdk_error(404, "Deployment not found")
        if tag not in deployment.tags:
            return videosdk_error(404, f"No deployment found with tag {tag}")
        session = self._state.start_videosdk_session(
            deployment=deployment, tag=tag, env=env, metadata=metadata, webhook=webhook
        )
        return json_response(
            {"message": "Session started successfully", "data": started_view(session)}
        )

    async def end_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        body = await _json_object(request)
        if isinstance(body, web.Response):
            return body
        session_id = _required_string(body, "sessionId")
        if isinstance(session_id, web.Response):
            return session_id
        session = self._state.videosdk_sessions.get(session_id)
        if session is None:
            return videosdk_error(404, "Session not found")
        # Ending an ended session answers its final state: retried ends converge.
        self._state.stop(session)
        return json_response(
            {"message": "Session stopped successfully", "data": detail_view(session)}
        )

    async def list_sessions(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        return _page_of(request, self._state.videosdk_listing(), listed_view)

    async def get_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        session = self._state.videosdk_sessions.get(request.match_info["sessionId"])
        if session is None:
            return videosdk_error(404, "Session not found")
        return json_response(detail_view(session))

    async def create_deployment(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        body = await _json_object(request)
        if isinstance(body, web.Response):
            return body
        name = _required_string(body, "name")
        if isinstance(name, web.Response):
            return name
        description = body.get("description", "")
        if not isinstance(description, str):
            return videosdk_error(400, '"description" must be a string')
        deployment = self._state.add_deployment(name=name, description=description)
        return json_response(
            {
                "id": deployment.id,
                "name": deployment.name,
                "description": deployment.description,
                "status": deployment.status,
                "createdAt": iso_millis(deployment.created_at),
                "updatedAt": iso_millis(deployment.updated_at),
            }
        )

    async def list_deployments(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        return _page_of(request, self._state.deployments_listing(), _listed_deployment)

    async def get_deployment(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request):
            return refusal
        deployment = self._state.deployments.get(request.match_info["deploymentId"])
        tag = request.match_info["tag"]
        if deployment is None or tag not in deployment.tags:
            return videosdk_error(404, "Deployment not found")
        return json_response(
            {
                "id": deployment.id,
                "name": deployment.name,
                "tag": tag,
                "description": deployment.description,
                "status": deployment.status,
                "createdAt": iso_millis(deployment.created_at),
            }
        )

    async def public_key(self, request: web.Request) -> web.Response:
        # Public by design: receivers fetch it to verify webhook signatures.
        return json_response({"publicKey": self._public_key_pem})


def _listed_deployment(deployment: EmulatedDeployment) -> dict[str, Any]:
    # The deployment listing says created_at where every other call says createdAt.
    return {
        "id": deployment.id,
        "name": deployment.name,
        "tag": deployment.latest_tag,
        "description": deployment.description,
        "status": deployment.status,
        "created_at": iso_millis(deployment.created_at),
    }


def _page_of(
    request: web.Request, listing: Sequence[_Item], view: Callable[[_Item], dict[str, Any]]
) -> web.Response:
    """One page of a page/perPage listing in VideoSDK's {data, pageInfo} envelope."""
    paging = _paging(request)
    if isinstance(paging, web.Response):
        return paging
    page, per_page = paging
    chunk = listing[(page - 1) * per_page : page * per_page]
    return json_response(
        {
            "data": [view(item) for item in chunk],
            "pageInfo": _page_info(len(listing), page, per_page),
        }
    )
