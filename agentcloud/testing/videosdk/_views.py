"""VideoSDK's JSON, written from the vendor's pages.

Casing quirks follow the pages exactly: `metadata` and `webhook.endpoint` are listed back
(where `metaData` and `webhook.endPoint` are sent); the deployment listing says
`created_at` where every other answer says `createdAt`; times are ISO strings with
milliseconds; `duration` is whole seconds.
"""

from __future__ import annotations

import math
from typing import Any

from .._lifecycle import Timeline
from .._timestamps import iso_millis
from ._records import EmulatedDeployment, VideoSDKSessionRecord

__all__ = [
    "created_deployment_view",
    "deployment_view",
    "detail_view",
    "listed_deployment_view",
    "listed_view",
    "page_info",
    "session_end",
    "started_view",
]


def page_info(total: int, page: int, per_page: int) -> dict[str, int]:
    # The page's example repeats totalItems as `total`.
    return {"totalItems": total, "currentPage": page, "perPage": per_page, "total": total}


def session_end(timeline: Timeline) -> float | None:
    """When a session ended, as VideoSDK reports it: a stopped one when it stopped running,
    a failed one when it failed; None while it runs."""
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
    end = session_end(session.timeline)
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


def _deployment_core(deployment: EmulatedDeployment) -> dict[str, Any]:
    return {"id": deployment.id, "name": deployment.name}


def created_deployment_view(deployment: EmulatedDeployment) -> dict[str, Any]:
    return {
        **_deployment_core(deployment),
        "description": deployment.description,
        "status": deployment.status,
        "createdAt": iso_millis(deployment.created_at),
        "updatedAt": iso_millis(deployment.updated_at),
    }


def deployment_view(deployment: EmulatedDeployment, tag: str | None) -> dict[str, Any]:
    return {
        **_deployment_core(deployment),
        "tag": tag,
        "description": deployment.description,
        "status": deployment.status,
        "createdAt": iso_millis(deployment.created_at),
    }


def listed_deployment_view(deployment: EmulatedDeployment) -> dict[str, Any]:
    # The deployment listing says created_at where every other call says createdAt.
    return {
        **_deployment_core(deployment),
        "tag": deployment.latest_tag,
        "description": deployment.description,
        "status": deployment.status,
        "created_at": iso_millis(deployment.created_at),
    }
