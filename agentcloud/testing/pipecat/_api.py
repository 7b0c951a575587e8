"""Pipecat Cloud's documented endpoints, written from its OpenAPI document and API facts.

Each check raises a `Refusal`, which the pipeline answers in Pipecat's error shape
(`{"error": ..., "code": ...}` with a string code), so a handler reads as the list of its
checks. Beside the documented `/v1/...` paths it serves the organization-scoped ones the
official `pipecatcloud` CLI calls (`/v1/organizations/{org}/services/...`, agent details
wrapped as `{"body": ...}`), authorized by the private key as the CLI's token.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import decode_json, json_response
from .._world import Refusal
from ._bot import DROPPED_HEADERS, BotRequest, answer_with
from ._logs import parse_log_query
from ._query import parse_session_query
from ._records import EmulatedAgent, PipecatSessionRecord
from ._views import (
    agent_view,
    detail_view,
    end_state_of,
    listed_view,
    log_view,
    service_item,
    start_answer,
)

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
NOT_FOUND = "NOT_FOUND"
REGIONS = (
    ("us-west", "US West (Oregon)"),
    ("us-east", "US East (Virginia)"),
    ("eu-central", "Europe (Frankfurt)"),
    ("ap-south", "Asia Pacific (Mumbai)"),
)
PROFILES = ("agent-1x", "agent-2x", "agent-3x")
_SERVICE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])")
_END_STATE = re.compile(r"[a-z][a-z0-9_]*")
END_STATES = (
    "active",
    "completed",
    "ended_before_agent_start",
    "agent_start_timeout",
    "terminated",
    "agent_error",
    "unknown",
)
PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; the document marks these bodies required."""
    raw = await request.read()
    if not raw.strip():
        raise Refusal(400, "Request body is required", code=BAD_REQUEST)
    try:
        options = decode_json(raw)
    except ValueError:
        raise Refusal(400, "Invalid JSON body", code=BAD_REQUEST) from None
    if not isinstance(options, dict):
        raise Refusal(400, "Body must be a JSON object", code=BAD_REQUEST)
    return options


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The agent settings of a create or update body, checked as the API checks them."""
    settings: dict[str, Any] = {}
    if "image" in body and "buildId" in body:
        raise Refusal(400, "Specify either image or buildId, not both", code=BAD_REQUEST)
    for key in ("image", "buildId", "secretSet", "imagePullSecretSet", "nodeType"):
        if key in body:
            if not isinstance(body[key], str) or not body[key]:
                raise Refusal(400, f"{key} must be a non-empty string", code=BAD_REQUEST)
            settings[key] = body[key]
    if settings.get("nodeType", "arm") != "arm":
        raise Refusal(400, "Only nodeType arm is supported", code=BAD_REQUEST)
    scaling = body.get("autoScaling")
    if scaling is not None:
        if not isinstance(scaling, dict):
            raise Refusal(400, "autoScaling must be an object", code=BAD_REQUEST)
        for key in ("minAgents", "maxAgents"):
            value = scaling.get(key)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 50
            ):
                raise Refusal(400, f"autoScaling.{key} must be 0..50", code=BAD_REQUEST)
            if value is not None:
                settings[key] = value
    if "agentProfile" in body:
        if body["agentProfile"] not in PROFILES:
            raise Refusal(400, "Invalid agentProfile", code=BAD_REQUEST)
        settings["agentProfile"] = body["agentProfile"]
    krisp = body.get("krispViva")
    if krisp is not None:
        if not isinstance(krisp, dict) or krisp.get("audioFilter") not in ("tel", "pro", None):
            raise Refusal(400, "krispViva.audioFilter must be tel, pro or null", code=BAD_REQUEST)
        settings["krispViva"] = krisp.get("audioFilter")
    duration = body.get("maxSessionDuration")
    if duration is not None:
        if (
            not isinstance(duration, int)
            or isinstance(duration, bool)
            or not (60 <= duration <= 14400)
        ):
            raise Refusal(400, "maxSessionDuration must be 60..14400", code=BAD_REQUEST)
        settings["maxSessionDuration"] = duration
    if "forceRedeploy" in body and not isinstance(body["forceRedeploy"], bool):
        raise Refusal(400, "forceRedeploy must be a boolean", code=BAD_REQUEST)
    return settings


async def _start_options(request: web.Request) -> dict[str, Any]:
    options = await _json_object(request)
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
    _check_size(size, options.get("transport"))


def _check_size(size: int, transport: str | None) -> None:
    limit = MAX_BODY_BYTES[transport or "daily"]
    if size > limit:
        raise Refusal(413, f"Request body is {size} bytes; the limit is {limit} bytes")


class PipecatApi:
    """Route handlers for Pipecat Cloud's endpoints, bound to its world."""

    def __init__(self, world: PipecatWorld) -> None:
        self._world = world

    def routes(self) -> list[web.RouteDef]:
        agent = "/v1/agents/{agentName}"
        proxy = "/v1/public/{serviceName}/sessions/{sessionId}/{path:.+}"
        org = "/v1/organizations/{org}"
        service = org + "/services/{agentName}"
        return [
            web.post("/v1/public/{agentName}/start", self.start_session),
            # HEAD comes with GET (aiohttp adds it), to the same handler.
            *(web.route(m, proxy, self.call_bot) for m in PROXY_METHODS if m != "HEAD"),
            web.get("/v1/agents", self.list_agents),
            web.post("/v1/agents", self.create_agent),
            web.get(agent, self.get_agent),
            web.post(agent, self.update_agent),
            web.delete(agent, self.delete_agent),
            web.get(f"{agent}/logs", self.list_logs),
            web.get(f"{agent}/sessions", self.list_sessions),
            web.get(f"{agent}/sessions/{{sessionId}}", self.get_session),
            web.delete(f"{agent}/sessions/{{sessionId}}", self.stop_session),
            web.get("/v1/regions", self.list_regions),
            # The organization-scoped paths of the official CLI.
            web.get(f"{org}/services", self._in_org(self.list_agents)),
            web.get(service, self._in_org(self.get_agent_wrapped)),
            web.delete(service, self._in_org(self.delete_agent)),
            web.get(f"{service}/logs", self._in_org(self.list_logs)),
            web.get(f"{service}/sessions", self._in_org(self.list_sessions)),
            web.get(f"{service}/sessions/{{sessionId}}", self._in_org(self.get_session)),
            web.delete(f"{service}/sessions/{{sessionId}}", self._in_org(self.stop_session)),
            web.get(f"{org}/regions", self._in_org(self.list_regions)),
        ]

    def _in_org(self, handler: Any) -> Any:
        """`handler` behind the organization check of an organization-scoped path."""

        async def scoped(request: web.Request) -> web.StreamResponse:
            self._authorize(request, public=False)
            if request.match_info["org"] not in self._world.organization_names:
                raise Refusal(404, "Organization not found")
            response: web.StreamResponse = await handler(request)
            return response

        return scoped

    def _authorize(self, request: web.Request, *, public: bool, code: str | None = None) -> None:
        """Refuse with 401 unless the bearer key is right: public to start and to reach a
        session's bot, private otherwise (some paths word the 401 with a `code` of their own)."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        expected = self._world.public_key if public else self._world.api_key
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.strip().encode(), expected.encode()
        ):
            if code is not None:
                raise Refusal(401, "Unauthorized", code=code)
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
        self._world.settle_agent(agent)
        if not agent.accepting:
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

    def _agent_details(self, request: web.Request) -> dict[str, Any]:
        self._authorize(request, public=False)
        agent = self._agent(request, missing="Not found", code=NOT_FOUND)
        self._world.settle_agent(agent)
        return agent_view(agent, self._world.active_session_count(agent.name))

    async def get_agent(self, request: web.Request) -> web.Response:
        return json_response(self._agent_details(request))

    async def get_agent_wrapped(self, request: web.Request) -> web.Response:
        # The organization-scoped path wraps the details, as the official CLI reads them.
        return json_response({"body": self._agent_details(request)})

    async def create_agent(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        body = await _json_object(request)
        name = body.get("serviceName")
        if not isinstance(name, str) or len(name) > 54 or _SERVICE_NAME.fullmatch(name) is None:
            raise Refusal(400, "Invalid serviceName", code=BAD_REQUEST)
        settings = _settings(body)
        if ("image" in settings) == ("buildId" in settings):
            raise Refusal(400, "Either image or buildId must be provided", code=BAD_REQUEST)
        region = body.get("region", "us-west")
        if region not in {code for code, _ in REGIONS}:
            raise Refusal(400, f"Invalid region: {region}", code=BAD_REQUEST)
        if name in self._world.agents:
            raise Refusal(400, "Service already exists", code=BAD_REQUEST)
        agent = self._world.create_agent(name, region=region, settings=settings)
        return json_response(agent_view(agent, 0))

    async def update_agent(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request, missing="Service not found", code=NOT_FOUND)
        body = await _json_object(request)
        if "region" in body and body["region"] != agent.region:
            raise Refusal(400, "The region of an agent cannot change", code=BAD_REQUEST)
        settings = _settings(body)
        self._world.update_agent(agent, settings, force=body.get("forceRedeploy") is True)
        return json_response(agent_view(agent, self._world.active_session_count(agent.name)))

    async def delete_agent(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request, missing="Not found", code=NOT_FOUND)
        self._world.delete_agent(agent)
        return json_response({"status": "OK"})

    async def list_regions(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False, code="UNAUTHORIZED")
        return json_response(
            {"regions": [{"code": code, "display_name": name} for code, name in REGIONS]}
        )

    # ---- logs

    async def list_logs(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request, missing="Not found", code=NOT_FOUND)
        query = parse_log_query(request.query)
        matching = [line for line in self._world.logs_of(agent.name) if query.matches(line)]
        matching.sort(key=lambda line: (line.at, line.sequence), reverse=not query.ascending)
        window = matching[query.offset : query.offset + query.limit]
        cap = self._world.logs_total_cap
        total = (
            {"value": cap, "relation": "gte"}
            if cap is not None and len(matching) > cap
            else {"value": len(matching), "relation": "eq"}
        )
        return json_response({"total": total, "logs": [log_view(line) for line in window]})

    # ---- the session API

    async def call_bot(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request, public=True)
        world = self._world
        agent = world.agents.get(request.match_info["serviceName"])
        if agent is None:
            raise Refusal(404, "Service not found")
        session = world.sessions.get(request.match_info["sessionId"])
        if session is None or session.agent != agent.name or session.timeline.phase.is_terminal:
            raise Refusal(404, "Service not found")
        body = await request.read()
        bot = world.bots.get(agent.name)
        running_at = session.timeline.running_at
        settle = bot.not_ready_for if bot is not None else 0.0
        world.settle_agent(agent)
        if (
            running_at is None
            or world.book.clock.now() < running_at + settle
            or not agent.accepting
        ):
            raise Refusal(400, NOT_READY, code="PCC-1001")
        _check_size(len(body), session.transport)
        call = BotRequest(
            agent=agent.name,
            session_id=session.id,
            method=request.method,
            path=request.match_info["path"],
            query={key: request.query[key] for key in request.query},
            headers={
                name: value
                for name, value in request.headers.items()
                if name.lower() not in DROPPED_HEADERS
            },
            body=body,
        )
        response = await answer_with(bot, call)
        if request.method == "HEAD" and isinstance(response, web.Response):
            response.body = None
        return response

    # ---- sessions

    async def list_sessions(self, request: web.Request) -> web.Response:
        self._authorize(request, public=False)
        agent = self._agent(request)
        query = parse_session_query(request.query)
        end_state = request.query.get("endState")
        if end_state is not None and _END_STATE.fullmatch(end_state) is None:
            raise Refusal(400, f"Invalid endState: {end_state[:64]}", code=BAD_REQUEST)
        matching = [
            s
            for s in self._world.session_listing(agent.name)
            if query.matches(s) and (end_state is None or end_state_of(s) == end_state)
        ]
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
