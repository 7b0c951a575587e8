"""Pipecat Cloud's documented endpoints, written from its OpenAPI document and API facts.

Every answer on a documented path validates against the vendor's OpenAPI document. One
consequence worth knowing: the session listing's schema does not allow `endedAt: null`,
so a listed session that is still active has no `endedAt` key at all, while the session
details (whose schema allows null) carry `endedAt: null`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from aiohttp import web
from attrs import frozen

from ._lifecycle import Phase
from ._pipecat_metrics import resource_metrics
from ._pipecat_query import SessionQuery, parse_session_query
from ._responses import json_response, pipecat_error
from ._state import EmulatedAgent, EmulatorState, PipecatSessionRecord
from ._timestamps import iso_millis

__all__ = ["PipecatApi", "PipecatCredentials"]

TRANSPORTS = ("daily", "webrtc", "websocket")
# Express's body-parser sizes ("1mb", "4kb") are binary units.
MAX_BODY_BYTES = {"websocket": 4 * 1024, "daily": 1024 * 1024, "webrtc": 1024 * 1024}
UNAUTHORIZED = "Unauthorized / token expired"
NOT_READY = (
    "Attempt to start agent when deployment is not in ready state. Is your image pull secret valid?"
)


@frozen(kw_only=True)
class PipecatCredentials:
    private_key: str
    public_key: str


def _end_state(session: PipecatSessionRecord) -> str:
    timeline = session.timeline
    if timeline.phase is Phase.FAILED:
        return "agent_error"
    if timeline.phase is Phase.COMPLETED:
        return "terminated" if timeline.terminated else "completed"
    return "active"


def _completion_status(session: PipecatSessionRecord) -> str | None:
    phase = session.timeline.phase
    if phase is Phase.FAILED:
        return "HTTP_ERROR"
    return "HTTP_COMPLETED" if phase is Phase.COMPLETED else None


def _session_fields(session: PipecatSessionRecord) -> dict[str, Any]:
    timeline = session.timeline
    ran = timeline.running_at is not None
    return {
        "sessionId": session.id,
        "serviceId": session.service_id,
        "organizationId": session.organization_id,
        "deploymentId": session.deployment_id,
        "botStartSeconds": session.bot_start_seconds if ran else None,
        "coldStart": session.cold_start if ran else None,
        "completionStatus": _completion_status(session),
        "createdAt": iso_millis(timeline.created_at),
        "updatedAt": iso_millis(timeline.updated_at),
        # Not in the OpenAPI document, but read by the official CLI.
        "endState": _end_state(session),
    }


def _ended_at(session: PipecatSessionRecord) -> str | None:
    ended = session.timeline.ended_at
    return None if ended is None else iso_millis(ended)


def listed_view(session: PipecatSessionRecord) -> dict[str, Any]:
    item = _session_fields(session)
    if (ended := _ended_at(session)) is not None:
        item["endedAt"] = ended
    return item


def detail_view(session: PipecatSessionRecord, now: float) -> dict[str, Any]:
    ran = session.timeline.running_at is not None
    meeting_ids = (
        [{"participantId": session.participant_id, "meetingId": session.meeting_id}]
        if ran and session.daily_room
        else []
    )
    return {
        **_session_fields(session),
        "endedAt": _ended_at(session),
        "resourceMetrics": resource_metrics(session, now),
        "meetingIds": meeting_ids,
    }


def _matches(session: PipecatSessionRecord, query: SessionQuery) -> bool:
    timeline = session.timeline
    ended = timeline.phase.is_terminal
    if (query.status == "active" and ended) or (query.status == "ended" and not ended):
        return False
    if query.deployment_id is not None and session.deployment_id != query.deployment_id:
        return False
    cold = session.cold_start if timeline.running_at is not None else None
    if (query.start_type == "cold" and cold is not True) or (
        query.start_type == "warm" and cold is not False
    ):
        return False
    if query.start_time is not None and timeline.created_at < query.start_time:
        return False
    if query.end_time is not None and timeline.created_at > query.end_time:
        return False
    if query.start_time_min or query.start_time_max:
        seconds = session.bot_start_seconds if timeline.running_at is not None else None
        if seconds is None:
            return False
        if query.start_time_min and seconds < query.start_time_min:
            return False
        if query.start_time_max and seconds > query.start_time_max:
            return False
    return True


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def _hs256_jwt(claims: dict[str, Any], secret: str) -> str:
    """A standard HS256 JWT. Built by hand: PyJWT re-validates the key on every call, which
    was a third of the emulator's work per start and skewed the start benchmarks."""
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_JWT_HEADER}.{payload}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PipecatApi:
    """Route handlers for Pipecat Cloud's endpoints, bound to the emulator's state."""

    def __init__(self, *, state: EmulatorState, credentials: PipecatCredentials) -> None:
        self._state = state
        self._credentials = credentials
        # Signs the fake Daily and websocket tokens; nothing ever verifies them.
        self._token_secret = state.new_id()

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

    def _refuse(self, request: web.Request, *, public: bool) -> web.Response | None:
        """A 401 unless the bearer key is the right one: public to start, private otherwise."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        expected = self._credentials.public_key if public else self._credentials.private_key
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.strip().encode(), expected.encode()
        ):
            return pipecat_error(401, UNAUTHORIZED)
        return None

    # ---- start

    async def start_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=True):
            return refusal
        agent = self._state.agents.get(request.match_info["agentName"])
        if agent is None:
            return pipecat_error(404, "Service not found")
        options = await self._start_options(request)
        if isinstance(options, web.Response):
            return options
        transport = options.get("transport")
        if "body" in options and options["body"] is not None:
            size = len(json.dumps(options["body"], separators=(",", ":")).encode())
            limit = MAX_BODY_BYTES[transport or "daily"]
            if size > limit:
                return pipecat_error(
                    413, f"Request body is {size} bytes; the limit is {limit} bytes"
                )
        if not agent.ready:
            return pipecat_error(400, NOT_READY, code="PCC-1001")
        if (
            agent.max_sessions is not None
            and self._state.active_session_count(agent.name) >= agent.max_sessions
        ):
            return pipecat_error(
                429,
                f"Agent {agent.name} is at capacity. Please try again later.",
                code="PCC-AGENT-AT-CAPACITY",
            )
        create_room = bool(options.get("createDailyRoom", False))
        session = self._state.start_pipecat_session(
            agent=agent, transport=transport, daily_room=create_room
        )
        return json_response(self._start_answer(agent, session, options))

    async def _start_options(self, request: web.Request) -> dict[str, Any] | web.Response:
        raw = await request.read()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return pipecat_error(400, "Invalid JSON body", code="GENERIC_BAD_REQUEST")
        if not isinstance(options, dict):
            return pipecat_error(400, "Body must be a JSON object", code="GENERIC_BAD_REQUEST")
        for flag in ("createDailyRoom", "enableDefaultIceServers"):
            if flag in options and not isinstance(options[flag], bool):
                return pipecat_error(400, f"{flag} must be a boolean", code="GENERIC_BAD_REQUEST")
        for name in ("dailyRoomProperties", "dailyMeetingTokenProperties"):
            if options.get(name) is not None and not isinstance(options[name], dict):
                return pipecat_error(400, f"{name} must be an object", code="GENERIC_BAD_REQUEST")
        transport = options.get("transport")
        if transport is not None and transport not in TRANSPORTS:
            return pipecat_error(
                400,
                f"transport must be one of {', '.join(TRANSPORTS)}",
                code="GENERIC_BAD_REQUEST",
            )
        return options

    def _start_answer(
        self, agent: EmulatedAgent, session: PipecatSessionRecord, options: dict[str, Any]
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {"sessionId": session.id}
        if session.daily_room:
            room = session.id.replace("-", "")[:20]
            domain = "cloud-" + agent.organization_id.replace("-", "")
            answer["dailyRoom"] = f"https://{domain}.daily.co/{room}"
            answer["dailyToken"] = _hs256_jwt(
                {"r": room, "d": domain, **(options.get("dailyMeetingTokenProperties") or {})},
                self._token_secret,
            )
        if session.transport == "websocket":
            service_host = f"{agent.name}.{agent.organization_id[:8]}"
            answer["wsUrl"] = f"wss://{agent.region}.api.pipecat.daily.co/ws/generic/{service_host}"
            claims = _b64url(json.dumps({"sh": service_host, "sid": session.id}).encode())
            mac = hmac.new(self._token_secret.encode(), claims.encode(), hashlib.sha256)
            answer["token"] = f"{claims}.{_b64url(mac.digest())}"
            if options.get("body") is not None:
                answer["body"] = base64.b64encode(json.dumps(options["body"]).encode()).decode()
        if options.get("enableDefaultIceServers"):
            answer["iceConfig"] = {
                "iceServers": [
                    {
                        "urls": [
                            "stun:stun.cloudflare.com:3478",
                            "turn:turn.cloudflare.com:3478?transport=udp",
                            "turn:turn.cloudflare.com:3478?transport=tcp",
                            "turns:turn.cloudflare.com:5349?transport=tcp",
                        ],
                        "username": "emulator-" + session.id[:8],
                        "credential": hashlib.sha256(session.id.encode()).hexdigest()[:32],
                    }
                ]
            }
        return answer

    # ---- agents

    def _service_item(self, agent: EmulatedAgent, *, with_deployment: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": agent.id,
            "name": agent.name,
            "region": agent.region,
            "desiredDeploymentId": agent.deployment_id,
            "activeDeploymentId": agent.deployment_id,
            "reconciledDeploymentId": agent.deployment_id,
            "organizationId": agent.organization_id,
            "createdAt": iso_millis(agent.created_at),
            "updatedAt": iso_millis(agent.updated_at),
            "deletedAt": None,
        }
        if with_deployment:
            item["deployment"] = self._deployment(agent)
        return item

    def _deployment(self, agent: EmulatedAgent) -> dict[str, Any]:
        return {
            "id": agent.deployment_id,
            "manifest": {
                "apiVersion": "pipecatcloud.daily.co/v1",
                "kind": "PCService",
                "metadata": {"name": agent.name, "namespace": agent.organization_id[:8]},
                "spec": {
                    "dailyNodeType": "arm",
                    "image": f"emulator/{agent.name}:latest",
                    "autoScaling": {"minReplicas": 1, "maxReplicas": 10},
                    "envFromSecretNames": [],
                    "resources": {"cpu": "500m", "memory": "1Gi"},
                    "krispViva": {"audioFilters": False},
                },
            },
            "serviceId": agent.id,
            "createdAt": iso_millis(agent.created_at),
            "updatedAt": iso_millis(agent.updated_at),
        }

    async def list_agents(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=False):
            return refusal
        with_deployment = request.query.get("includeActiveDeployment", "").lower() == "true"
        region = request.query.get("region")
        services = [
            self._service_item(agent, with_deployment=with_deployment)
            for agent in self._state.agents.values()
            if region is None or agent.region == region
        ]
        return json_response({"services": services})

    async def get_agent(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=False):
            return refusal
        agent = self._state.agents.get(request.match_info["agentName"])
        if agent is None:
            return pipecat_error(404, "Not found", code="NOT_FOUND")
        phase_started = iso_millis(agent.updated_at)
        return json_response(
            {
                "name": agent.name,
                "region": agent.region,
                "ready": agent.ready,
                "available": agent.ready,
                "createdAt": iso_millis(agent.created_at),
                "updatedAt": iso_millis(agent.updated_at),
                "desiredDeploymentId": agent.deployment_id,
                "activeDeploymentId": agent.deployment_id,
                "reconciledDeploymentId": agent.deployment_id,
                "activeDeploymentReady": agent.ready,
                "autoScaling": {"maxReplicas": 10, "minReplicas": 1},
                "activeSessionCount": self._state.active_session_count(agent.name),
                "agentProfile": "agent-1x",
                "deployment": self._deployment(agent),
                "krispViva": {"audioFilter": None},
                "currentRevision": {
                    "deploymentID": agent.deployment_id,
                    "phase": "Active" if agent.ready else "Failed",
                    "readyReplicas": 1 if agent.ready else 0,
                    "phaseStartedAt": phase_started,
                    "health": {
                        "ready": agent.ready,
                        "state": "running" if agent.ready else "waiting",
                        "restartCount": 0,
                        "replicasStarted": 1,
                    },
                },
                # No rolling update is ever in progress here. The vendor's example says
                # `previousRevision: null`, but null next to `allOf` fails OpenAPI 3.0
                # validators, so the key is left out, as "present during rolling updates".
            }
        )

    # ---- sessions

    def _agent_or_404(self, request: web.Request) -> EmulatedAgent | web.Response:
        agent = self._state.agents.get(request.match_info["agentName"])
        if agent is None:
            return pipecat_error(404, "Agent deployment not found")
        return agent

    def _session_or_404(
        self, agent: EmulatedAgent, session_id: str
    ) -> PipecatSessionRecord | web.Response:
        session = self._state.pipecat_sessions.get(session_id)
        if session is None or session.agent != agent.name:
            return pipecat_error(404, "Session not found")
        return session

    async def list_sessions(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=False):
            return refusal
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        query = parse_session_query(request.query)
        if isinstance(query, list):
            return pipecat_error(
                400, "Invalid parameters", err={"issues": query, "name": "ZodError"}
            )
        matching = [s for s in self._state.pipecat_listing(agent.name) if _matches(s, query)]
        window = matching[query.offset : query.offset + query.limit]
        return json_response(
            {"total_count": len(matching), "sessions": [listed_view(s) for s in window]}
        )

    async def get_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=False):
            return refusal
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        session = self._session_or_404(agent, request.match_info["sessionId"])
        if isinstance(session, web.Response):
            return session
        return json_response(detail_view(session, self._state.clock.now()))

    async def stop_session(self, request: web.Request) -> web.Response:
        if refusal := self._refuse(request, public=False):
            return refusal
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        session_id = request.match_info["sessionId"]
        if not _is_uuid(session_id):
            return pipecat_error(400, "Invalid session ID format", code="GENERIC_BAD_REQUEST")
        session = self._session_or_404(agent, session_id)
        if isinstance(session, web.Response):
            return session
        # Stopping a stopped session answers the same: retried DELETEs converge.
        self._state.stop(session)
        return json_response({"status": "terminated", "session_id": session.id})
