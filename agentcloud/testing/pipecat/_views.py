"""Pipecat Cloud's JSON, written from its OpenAPI document and API facts.

Every answer on a documented path validates against the vendor's OpenAPI document. One
consequence worth knowing: the session listing's schema does not allow `endedAt: null`,
so a listed session that is still active has no `endedAt` key at all, while the session
details (whose schema allows null) carry `endedAt: null`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from .._lifecycle import Phase
from .._timestamps import iso_millis
from ._metrics import resource_metrics
from ._records import EmulatedAgent, PipecatSessionRecord
from ._tokens import hs256_jwt, websocket_token

__all__ = ["agent_view", "detail_view", "listed_view", "service_item", "start_answer"]

_ICE_URLS = [
    "stun:stun.cloudflare.com:3478",
    "turn:turn.cloudflare.com:3478?transport=udp",
    "turn:turn.cloudflare.com:3478?transport=tcp",
    "turns:turn.cloudflare.com:5349?transport=tcp",
]


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


def start_answer(
    agent: EmulatedAgent,
    session: PipecatSessionRecord,
    options: dict[str, Any],
    token_secret: str,
) -> dict[str, Any]:
    """The answer to a start: the session id, plus what the chosen transport needs."""
    answer: dict[str, Any] = {"sessionId": session.id}
    if session.daily_room:
        room = session.id.replace("-", "")[:20]
        domain = "cloud-" + agent.organization_id.replace("-", "")
        answer["dailyRoom"] = f"https://{domain}.daily.co/{room}"
        answer["dailyToken"] = hs256_jwt(
            {"r": room, "d": domain, **(options.get("dailyMeetingTokenProperties") or {})},
            token_secret,
        )
    if session.transport == "websocket":
        service_host = f"{agent.name}.{agent.organization_id[:8]}"
        answer["wsUrl"] = f"wss://{agent.region}.api.pipecat.daily.co/ws/generic/{service_host}"
        answer["token"] = websocket_token({"sh": service_host, "sid": session.id}, token_secret)
        if options.get("body") is not None:
            answer["body"] = base64.b64encode(json.dumps(options["body"]).encode()).decode()
    if options.get("enableDefaultIceServers"):
        answer["iceConfig"] = {
            "iceServers": [
                {
                    "urls": list(_ICE_URLS),
                    "username": "emulator-" + session.id[:8],
                    "credential": hashlib.sha256(session.id.encode()).hexdigest()[:32],
                }
            ]
        }
    return answer


def _deployment(agent: EmulatedAgent) -> dict[str, Any]:
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


def service_item(agent: EmulatedAgent, *, with_deployment: bool) -> dict[str, Any]:
    """An agent as the agent listing shows it."""
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
        item["deployment"] = _deployment(agent)
    return item


def agent_view(agent: EmulatedAgent, active_sessions: int) -> dict[str, Any]:
    """An agent's details."""
    phase_started = iso_millis(agent.updated_at)
    return {
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
        "activeSessionCount": active_sessions,
        "agentProfile": "agent-1x",
        "deployment": _deployment(agent),
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
