"""Pipecat Cloud's documented endpoints, written from its OpenAPI document and API facts.

Each check raises a `Refusal`, which the pipeline answers in Pipecat's error shape
(`{"error": ..., "code": ...}` with a string code), so a handler reads as the list of its
checks.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import decode_json, json_response
from .._world import Refusal
from ._query import parse_session_query
from ._records import EmulatedAgent, PipecatSessionRecord
from ._views import agent_view, detail_view, listed_view, service_item, start_answer

if TYPE_CHECKING:
    from ._world import PipecatWorld

__all__ = ["PipecatApi"]

TRANSPORTS = ("daily", "webrtc", "websocket")
# Express's body-parser sizes ("1mb", "4kb") are binary units.
MAX_BODY_BYTES = {"websocket": 4 * 1024, "daily": 1024 * 1024, "webrtc": 1024 * 1024}
UNAUTHORIZED = "Unauthorized / token expired"
NOT_READY = (
    "Attempt to start agent when deployment is not in ready state. Is your image pull secret valid?"
)
BAD_REQUEST = "GENERIC_BAD_REQUEST"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


async def _start_options(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        options = decode_json(raw) if raw.strip() else {}
    except ValueError:
        raise Refusal(400, "Invalid JSON body", code=BAD_REQUEST) from None
    if not isinstance(options, dict):
        raise Refusal(400, "Body must be a JSON object", code=BAD_REQUEST)
    for flag in ("createDailyRoom", "enableDefaultIceServers"):
        if flag in options and not isinstance(options[flag], bool):
            raise Refusal(400, f"{flag} must be a boolean", code=BAD_REQUEST)
    for name in ("dailyRoomProperties", "dailyMeetingTokenProperties"):
        if options.get(name) is not None and not isinstance(options[name], dict):
            raise Refusal(400, f"{name} must be an object", code=BAD_REQUEST)
    transport = options.get("transport")
    if transport is not None and transport not in TRANSPORTS:
        raise Refusal(400, f"transport must be one of {', '.join(TRANSPORTS)}", code=BAD_REQUEST)
    return options


def _check_body_size(options: dict[str, Any]) -> None:
    if options.get("body") is None:
        return
    size = len(json.dumps(options["body"], separators=(",", ":")).encode())
    limit = MAX_BODY_BYTES[options.get("transport") or "daily"]
    if size > limit:
        raise Refusal(413, f"Request body is {size} bytes; the limit is {limit} bytes")


class PipecatApi:
    """Route handlers for Pipecat Cloud's endpoints, bound to its world."""

    def __init__(self, world: PipecatWorld) -> None:
        self._world = world

    def routes(self) -> list[web.RouteDef]:
        agent = "/v1/agents/{agentName}"
        return [
            web.post("/v1/public/{agentName}/start", self.start_session),
            web.get("/v1/agents", self.list_agents),
            web.get(agent, self.get_agent),
            web.get(f"{agent}/sessions", self.list_sessions),
            web.get(f"{agent}/sessions/{{sessionId}}", self.get_session),
            web.delete(f"{agent}/sessions/{{sessionId}}", self.stop_session),
        ]

    def _authorize(self, request: web.Request, *, public: bool) -> None:
        """Refuse with 401 unless the bearer key is right: public to start, private otherwise."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        expected = self._world.public_key if public else self._world.api_key
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.strip().encode(), expected.encode()
        ):
            raise Refusal(401, UNAUTHORIZED)

    def _agent(
        self,
        request: web.Request,
        *,
        missing: str = "Agent deployment not found",
        code: str | None = None,
    ) -> EmulatedAgent:
        agent = self._world.agents.get(request.match_info["agentName"])
        if agent is None:
            raise Refusal(404, missing, code=code)
        return agent

    def _session(self, agent: EmulatedAgent, session_id: str) -> PipecatSessionRecord:
        session = self._world.sessions.get(session_id)
        if session is None or session.agent != agent.name:
            raise Refusal(404, "Session not found")
        return session

    # ---- start

    async def start_session(self, request: web.Request) -> web.Response:
        self._authorize(request, public=True)
        agent = self._agent(request, missing="Service not found")
        options = await _start_options(request)
        _check_body_size(options)
        if not agent.ready:
            raise Refusal(400, NOT_READY, code="PCC-1001")
        if (
            agent.max_sessions is not None
            and self._world.active_session_count(agent.name) >= agent.max_sessions
        ):
            raise Refusal(
                429,
                f"Agent {agent.name} is at capacity. Please try again later.",
                code="PCC-AGENT-AT-CAPACITY",
            )
        session = self._world.start_session(
            agent=agent,
            transport=options.get("transport"),
            daily_room=bool(options.get("createDailyRoom", False)),
        )
        return json_response(start_answer(agent, session, options, self._world.token_secret))

    # ---- agents

    async def list_agents(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        with_deployment = request.query.get("includeActiveDeployment", "").lower() == "true"
        region = request.query.get("region")
        services = [
            service_item(agent, with_deployment=with_deployment)
            for agent in self._world.agents.values()
            if region is None or agent.region == region
        ]
        return json_response({"services": services})

    async def get_agent(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request, missing="Not found", code="NOT_FOUND")
        return json_response(agent_view(agent, self._world.active_session_count(agent.name)))

    # ---- sessions

    async def list_sessions(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request)
        query = parse_session_query(request.query)
        matching = [s for s in self._world.session_listing(agent.name) if query.matches(s)]
        window = matching[query.offset : query.offset + query.limit]
        return json_response(
            {"total_count": len(matching), "sessions": [listed_view(s) for s in window]}
        )

    async def get_session(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        session = self._session(self._agent(request), request.match_info["sessionId"])
        return json_response(detail_view(session, self._world.book.clock.now()))

    async def stop_session(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request)
        session_id = request.match_info["sessionId"]
        if _UUID.fullmatch(session_id) is None:
            raise Refusal(400, "Invalid session ID format", code=BAD_REQUEST)
        session = self._session(agent, session_id)
        # Stopping a stopped session answers the same: retried DELETEs converge.
        self._world.book.stop(session)
        return json_response({"status": "terminated", "session_id": session.id})
