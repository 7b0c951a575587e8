"""VideoSDK Agent Cloud's documented endpoints, written from the vendor's pages.

Each check raises a `Refusal`, which the pipeline answers in VideoSDK's error shape
(`{"message": ...}`), so a handler reads as the list of its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import jwt
from aiohttp import web

from .._json import decode_json, json_response
from .._world import Refusal
from ._records import VideoSDKSessionRecord, WebhookSubscription
from ._views import (
    created_deployment_view,
    deployment_view,
    detail_view,
    listed_deployment_view,
    listed_view,
    page_info,
    started_view,
)
from ._webhooks import VIDEOSDK_WEBHOOK_EVENTS

if TYPE_CHECKING:
    from ._world import VideoSDKWorld

_Item = TypeVar("_Item")

__all__ = ["VideoSDKApi"]

SESSIONS = "/ai/v1/ai-deployment-sessions"
DEPLOYMENTS = "/ai/v1/ai-deployments"
_SERVER_ROLE = "crawler"


def _paging(request: web.Request) -> tuple[int, int]:
    values: list[int] = []
    for name, default in (("page", 1), ("perPage", 10)):
        raw = request.query.get(name)
        if raw is None:
            values.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise Refusal(400, f'"{name}" must be a positive integer')
        values.append(value)
    return values[0], values[1]


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = decode_json(raw) if raw else {}
    except ValueError:
        raise Refusal(400, "Request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise Refusal(400, "Request body must be a JSON object")
    return body


def _required_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Refusal(400, f'"{name}" is required')
    return value


def _optional_object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refusal(400, f'"{name}" must be an object')
    return value


def _webhook(
    body: dict[str, Any], allowed: tuple[str, ...] = VIDEOSDK_WEBHOOK_EVENTS
) -> WebhookSubscription | None:
    value = body.get("webhook")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refusal(400, '"webhook" must be an object')
    endpoint = value.get("endPoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise Refusal(400, '"webhook.endPoint" is required')
    events = value.get("events", [])
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise Refusal(400, '"webhook.events" must be a list of event names')
    unknown = [event for event in events if event not in allowed]
    if unknown:
        raise Refusal(
            400,
            f"Invalid webhook event: {unknown[0]}",
            details={"allowedEvents": list(allowed)},
        )
    return WebhookSubscription(endpoint=endpoint, events=tuple(events))


def _page_info_envelope(total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"pageInfo": page_info(total, page, per_page)}


def _page_of(
    request: web.Request,
    listing: Sequence[_Item],
    view: Callable[[_Item], dict[str, Any]],
    *,
    items: str = "data",
    paging: Callable[[int, int, int], dict[str, Any]] = _page_info_envelope,
) -> web.Response:
    """One page of a page/perPage listing: its ``items`` beside the fields ``paging(total,
    page, per_page)`` gives (by default VideoSDK's {data, pageInfo} envelope)."""
    page, per_page = _paging(request)
    chunk = listing[(page - 1) * per_page : page * per_page]
    return json_response(
        {items: [view(item) for item in chunk], **paging(len(listing), page, per_page)}
    )


def authorize(request: web.Request, *, api_key: str, secret: str) -> None:
    """Refuse with 401 unless the request carries a valid server token, as VideoSDK does."""
    token = request.headers.get("Authorization", "").strip()
    if not token:
        raise Refusal(401, "Unauthorized: no authorization token was provided")
    if " " in token:
        raise Refusal(
            401, "Unauthorized: send the token itself, without a prefix such as 'Bearer '"
        )
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise Refusal(401, "Unauthorized: token expired") from None
    except jwt.InvalidTokenError:
        raise Refusal(401, "Unauthorized: invalid token") from None
    if claims.get("apikey") != api_key:
        raise Refusal(401, "Unauthorized: invalid apikey")
    roles = claims.get("roles")
    if not isinstance(roles, list) or _SERVER_ROLE not in roles:
        raise Refusal(401, "Unauthorized: the token lacks the 'crawler' role")


class VideoSDKApi:
    """Route handlers for VideoSDK's endpoints, bound to its world."""

    def __init__(self, world: VideoSDKWorld) -> None:
        self._world = world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{SESSIONS}/start", self.start_session),
            web.post(f"{SESSIONS}/end", self.end_session),
            web.get(SESSIONS, self.list_sessions),
            web.get(f"{SESSIONS}/{{sessionId}}", self.get_session),
            web.post(DEPLOYMENTS, self.create_deployment),
            web.get(DEPLOYMENTS, self.list_deployments),
            web.get(f"{DEPLOYMENTS}/{{deploymentId}}/{{tag}}", self.get_deployment),
            web.get("/v2/public/rsa-public-key", self.public_key),
        ]

    def _authorize(self, request: web.Request) -> None:
        authorize(request, api_key=self._world.api_key, secret=self._world.secret)

    def _session(self, session_id: str) -> VideoSDKSessionRecord:
        session = self._world.sessions.get(session_id)
        if session is None:
            raise Refusal(404, "Session not found")
        return session

    async def start_session(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        deployment_id = _required_string(body, "deploymentId")
        tag = _required_string(body, "tag")
        env = _optional_object(body, "env")
        metadata = _optional_object(body, "metaData")
        webhook = _webhook(body)
        deployment = self._world.deployments.get(deployment_id)
        if deployment is None:
            raise Refusal(404, "Deployment not found")
        if tag not in deployment.tags:
            raise Refusal(404, f"No deployment found with tag {tag}")
        session = self._world.start_session(
            deployment=deployment, tag=tag, env=env, metadata=metadata, webhook=webhook
        )
        return json_response(
            {"message": "Session started successfully", "data": started_view(session)}
        )

    async def end_session(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        session = self._session(_required_string(body, "sessionId"))
        # Ending an ended session answers its final state: retried ends converge.
        self._world.book.stop(session)
        return json_response(
            {"message": "Session stopped successfully", "data": detail_view(session)}
        )

    async def list_sessions(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return _page_of(request, self._world.session_listing(), listed_view)

    async def get_session(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return json_response(detail_view(self._session(request.match_info["sessionId"])))

    async def create_deployment(self, request: web.Request) -> web.Response:
        self._authorize(request)
        body = await _json_object(request)
        name = _required_string(body, "name")
        description = body.get("description", "")
        if not isinstance(description, str):
            raise Refusal(400, '"description" must be a string')
        deployment = self._world.add_deployment(name=name, description=description)
        return json_response(created_deployment_view(deployment))

    async def list_deployments(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return _page_of(request, self._world.deployment_listing(), listed_deployment_view)

    async def get_deployment(self, request: web.Request) -> web.Response:
        self._authorize(request)
        deployment = self._world.deployments.get(request.match_info["deploymentId"])
        tag = request.match_info["tag"]
        if deployment is None or tag not in deployment.tags:
            raise Refusal(404, "Deployment not found")
        return json_response(deployment_view(deployment, tag))

    async def public_key(self, request: web.Request) -> web.Response:
        # Public by design: receivers fetch it to verify webhook signatures.
        return json_response({"publicKey": self._world.webhook_public_key})
