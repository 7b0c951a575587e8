"""Pipecat Cloud's JSON, written from its OpenAPI document and API facts.

Every answer on a documented path validates against the vendor's OpenAPI document, with
one documented deviation: a listed session always carries `endedAt`, null while it is
active, as the real API answers (the official CLI indexes `s["endedAt"]` on every listed
item), although the listing's schema types it as a non-nullable string. The session
details carry `events` (the lifecycle the official CLI reads, not in the document).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from .._lifecycle import Phase
from .._timestamps import iso_millis
from ._metrics import resource_metrics
from ._records import EmulatedAgent, LogLine, PipecatSessionRecord
from ._tokens import hs256_jwt, websocket_token

__all__ = [
    "agent_view",
    "end_state_of",
    "detail_view",
    "listed_view",
    "log_view",
    "service_item",
    "start_answer",
]

_ICE_URLS = [
    "stun:stun.cloudflare.com:3478",
    "turn:turn.cloudflare.com:3478?transport=udp",
    "turn:turn.cloudflare.com:3478?transport=tcp",
    "turns:turn.cloudflare.com:5349?transport=tcp",
]


def end_state_of(session: PipecatSessionRecord) -> str:
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
        "endState": end_state_of(session),
    }


def _ended_at(session: PipecatSessionRecord) -> str | None:
    ended = session.timeline.ended_at
    return None if ended is None else iso_millis(ended)


def listed_view(session: PipecatSessionRecord) -> dict[str, Any]:
    return {**_session_fields(session), "endedAt": _ended_at(session)}


def _events(session: PipecatSessionRecord) -> list[dict[str, Any]]:
    """The lifecycle events the official CLI shows: without REQUEST_ARRIVED_AT_BOT no bot
    has served the caller yet."""
    timeline = session.timeline
    events = [{"eventCode": "SESSION_START_INITIATED", "eventTs": iso_millis(timeline.created_at)}]
    if timeline.running_at is not None:
        events.append(
            {"eventCode": "REQUEST_ARRIVED_AT_BOT", "eventTs": iso_millis(timeline.running_at)}
        )
    if timeline.ended_at is not None:
        code = "SESSION_TIMEOUT" if timeline.phase is Phase.FAILED else "SESSION_COMPLETED"
        events.append({"eventCode": code, "eventTs": iso_millis(timeline.ended_at)})
    return events


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
        "events": _events(session),
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


def _deployment(agent: EmulatedAgent, deployment_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "dailyNodeType": "arm",
        "image": agent.image or f"emulator/{agent.name}:latest",
        "autoScaling": {"minReplicas": agent.min_agents, "maxReplicas": agent.max_agents},
        "envFromSecretNames": [agent.secret_set] if agent.secret_set else [],
        "resources": {"cpu": "500m", "memory": "1Gi"},
        "krispViva": {"audioFilters": agent.krisp_filter is not None},
    }
    if agent.image_pull_secret_set:
        spec["imagePullSecretName"] = agent.image_pull_secret_set
    if agent.max_session_duration is not None:
        spec["maxSessionDurationSeconds"] = agent.max_session_duration
    return {
        "id": deployment_id,
        "manifest": {
            "apiVersion": "pipecatcloud.daily.co/v1",
            "kind": "PCService",
            "metadata": {"name": agent.name, "namespace": agent.organization_id[:8]},
            "spec": spec,
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
        "organizationId": agent.organization_id,
        "createdAt": iso_millis(agent.created_at),
        "updatedAt": iso_millis(agent.updated_at),
        "deletedAt": None,
    }
    if agent.reconciled_deployment_id is not None:
        item["reconciledDeploymentId"] = agent.reconciled_deployment_id
    if with_deployment:
        item["deployment"] = _deployment(agent, agent.deployment_id)
    return item


def _phase(agent: EmulatedAgent) -> str:
    if agent.rollout is not None:
        return "Validating" if agent.reconciled_deployment_id == agent.deployment_id else "Creating"
    return "Active" if agent.ready else "Failed"


def _revision(
    agent: EmulatedAgent, deployment_id: str, phase: str, ready: bool, since: float
) -> dict[str, Any]:
    return {
        "deploymentID": deployment_id,
        "phase": phase,
        "readyReplicas": max(agent.min_agents, 1) if ready else 0,
        "phaseStartedAt": iso_millis(since),
        "health": {
            "ready": ready,
            "state": "running" if ready else "waiting",
            "restartCount": 0,
            "replicasStarted": 1 if ready else 0,
        },
    }


def agent_view(agent: EmulatedAgent, active_sessions: int) -> dict[str, Any]:
    """An agent's details. While a rollout runs, `previousRevision` shows the deployment it
    replaces (the key is left out otherwise: null beside `allOf` fails OpenAPI 3.0
    validators, and the document calls it "present during rolling updates")."""
    rollout = agent.rollout
    since = rollout.started_at if rollout is not None else agent.updated_at
    view: dict[str, Any] = {
        "name": agent.name,
        "region": agent.region,
        "ready": agent.ready,
        "available": agent.accepting,
        "createdAt": iso_millis(agent.created_at),
        "updatedAt": iso_millis(agent.updated_at),
        "desiredDeploymentId": agent.deployment_id,
        "activeDeploymentId": agent.deployment_id,
        "activeDeploymentReady": agent.ready,
        "autoScaling": {"maxReplicas": agent.max_agents, "minReplicas": agent.min_agents},
        "activeSessionCount": active_sessions,
        "agentProfile": agent.agent_profile,
        "deployment": _deployment(agent, agent.deployment_id),
        "krispViva": {"audioFilter": agent.krisp_filter},
        "currentRevision": _revision(
            agent, agent.deployment_id, _phase(agent), agent.ready and rollout is None, since
        ),
    }
    if agent.reconciled_deployment_id is not None:
        # Null right after a create; the document types it as a plain string, so it is
        # left out until the operator has reconciled a deployment.
        view["reconciledDeploymentId"] = agent.reconciled_deployment_id
    if rollout is not None and rollout.previous is not None:
        view["previousRevision"] = _revision(agent, rollout.previous, "Draining", True, since)
    if agent.deploy_errors:
        # Undocumented; what the official CLI reads (only present when a deploy failed).
        view["errors"] = [{"code": code, "message": text} for code, text in agent.deploy_errors]
    return view


def log_view(line: LogLine) -> dict[str, Any]:
    """A log line as the logs listing shows it (nanosecond timestamps, as Pipecat's)."""
    whole = int(line.at)
    nanos = round((line.at - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = iso_millis(whole)[:-5] + f".{nanos:09d}Z"
    return {"log": line.message, "timestamp": stamp, "deploymentId": line.deployment_id}
