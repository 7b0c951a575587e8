"""The JSON of VideoSDK's agent runtime, written from VideoSDK's pages and its Node SDK.

- a dispatch answers ``{"message": "Agent dispatch requested successfully.", "data":
  {"success": true, "status": "assigned", "roomId", "agentId"}}`` (the dispatch page);
- a deployment's sessions are listed as ``{sessionId, roomId, versionId, start, end}``;
- ending a room's session answers the room session ``{id, roomId, start, end,
  participants, status, links}``;
- console logs are ``{log, timestamp, level, metadata}``;
- a created room is ``{roomId, customRoomId, userId, disabled, createdAt, updatedAt, id,
  links}``.

How the ``/ai/v1/cloud`` listings page is not documented: by default they carry no paging
metadata at all (exactly the documented shapes), or one of the two envelopes VideoSDK's
Node SDK reads (``pageInfo`` or ``pagination``), as the world is told.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from .._timestamps import iso_millis
from ._runtime_records import (
    ConsoleLog,
    EmulatedAgent,
    EmulatedAgentDeployment,
    EmulatedRoom,
    EmulatedVersion,
    RuntimeSessionRecord,
)
from ._views import session_end

__all__ = [
    "DISPATCHED",
    "PagingEnvelope",
    "agent_deployment_view",
    "created_agent_deployment_view",
    "dispatch_answer",
    "listed_runtime_session_view",
    "log_view",
    "paging_envelope",
    "room_session_view",
    "room_view",
    "version_view",
]

DISPATCHED = "Agent dispatch requested successfully."

#: How the ``/ai/v1/cloud`` listings say where they are: not at all, or in one envelope.
PagingEnvelope = Literal["pageInfo", "pagination"] | None


def _iso(moment: float | None) -> str | None:
    return None if moment is None else iso_millis(moment)


def paging_envelope(
    envelope: PagingEnvelope, total: int, page: int, per_page: int
) -> dict[str, Any]:
    """The paging fields a listing answer carries beside its items."""
    pages = max(1, math.ceil(total / per_page))
    if envelope == "pageInfo":
        return {
            "pageInfo": {
                "currentPage": page,
                "perPage": per_page,
                "lastPage": pages,
                "total": total,
            }
        }
    if envelope == "pagination":
        return {
            "pagination": {"page": page, "perPage": per_page, "total": total, "totalPages": pages}
        }
    return {}


def _links(base_url: str, room_id: str, session_id: str | None = None) -> dict[str, str]:
    links = {"get_room": f"{base_url}/v2/rooms/{room_id}"}
    if session_id is None:
        links["get_session"] = f"{base_url}/v2/sessions/?roomId={room_id}"
    else:
        links["get_session"] = f"{base_url}/v2/sessions/{session_id}"
    return links


def room_view(room: EmulatedRoom, *, user_id: str, base_url: str) -> dict[str, Any]:
    return {
        "roomId": room.room_id,
        "customRoomId": room.custom_room_id,
        "userId": user_id,
        "disabled": room.disabled,
        "createdAt": iso_millis(room.created_at),
        "updatedAt": iso_millis(room.updated_at),
        "id": room.id,
        "links": _links(base_url, room.room_id),
    }


def dispatch_answer(room: EmulatedRoom, agent: EmulatedAgent) -> dict[str, Any]:
    return {
        "message": DISPATCHED,
        "data": {
            "success": True,
            "status": "assigned",
            "roomId": room.room_id,
            "agentId": agent.id,
        },
    }


def listed_runtime_session_view(session: RuntimeSessionRecord) -> dict[str, Any]:
    return {
        "sessionId": session.id,
        "roomId": session.room_id,
        "versionId": session.version_id,
        "start": iso_millis(session.timeline.created_at),
        "end": _iso(session_end(session.timeline)),
    }


def room_session_view(
    session: RuntimeSessionRecord, agent: EmulatedAgent, *, base_url: str
) -> dict[str, Any]:
    start = iso_millis(session.timeline.created_at)
    end = _iso(session_end(session.timeline))
    return {
        "id": session.id,
        "roomId": session.room_id,
        "start": start,
        "end": end,
        "participants": [
            {
                "participantId": agent.id,
                "name": agent.name,
                "timelog": [{"start": start, "end": end}],
            }
        ],
        "status": "ongoing" if end is None else "ended",
        "links": _links(base_url, session.room_id, session.id),
    }


def created_agent_deployment_view(deployment: EmulatedAgentDeployment) -> dict[str, Any]:
    return {
        "id": deployment.id,
        "agentId": deployment.agent_id,
        "name": deployment.name,
        "template": deployment.template,
        "status": deployment.status,
    }


def agent_deployment_view(deployment: EmulatedAgentDeployment) -> dict[str, Any]:
    return {
        **created_agent_deployment_view(deployment),
        "envSecret": deployment.env_secret,
        "createdAt": iso_millis(deployment.created_at),
        "updatedAt": iso_millis(deployment.updated_at),
    }


def version_view(version: EmulatedVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "agentId": version.agent_id,
        "deploymentId": version.deployment_id,
        "name": version.name,
        "versionTag": version.version_tag,
        "region": version.region,
        "profile": version.profile,
        "minReplica": version.min_replica,
        "maxReplica": version.max_replica,
        "image": dict(version.image),
        "active": version.active,
        "status": "active" if version.active else "inactive",
        "schedule": version.schedule,
        "createdAt": iso_millis(version.created_at),
    }


def log_view(log: ConsoleLog) -> dict[str, Any]:
    metadata = {
        "deploymentId": log.deployment_id,
        "agentId": log.agent_id,
        "versionId": log.version_id,
        "sessionId": log.session_id,
        "roomId": log.room_id,
        "userId": log.user_id,
    }
    return {
        "log": log.message,
        "timestamp": iso_millis(log.at),
        "level": log.level,
        "metadata": {key: value for key, value in metadata.items() if value is not None},
    }
