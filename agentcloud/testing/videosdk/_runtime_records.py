"""The records of VideoSDK's agent runtime: agents and their workers, deployments, versions,
rooms, the sessions agents run in rooms, and their console logs.

Plain data, mutable where a test may want to change the world under a client (an agent's
workers, its timers); `_runtime.py` changes them and `_runtime_views.py` writes them.
"""

from __future__ import annotations

from typing import Any

from attrs import define, frozen

from .._lifecycle import Lifecycle, Timeline
from ._records import WebhookSubscription

__all__ = [
    "ConsoleLog",
    "EmulatedAgent",
    "EmulatedAgentDeployment",
    "EmulatedRoom",
    "EmulatedVersion",
    "RuntimeSessionRecord",
]


@define(kw_only=True)
class EmulatedAgent:
    """An agent and its worker pool.

    `workers` is how many sessions it runs at once: a dispatch past that is refused with
    "No workers available" (0 refuses them all); `registered` False refuses every dispatch
    with "No Workers Registered". `lifecycle` (None: the emulator's) times its sessions;
    `fail_sessions` makes every one of them fail. All may be changed at any time.
    """

    id: str
    name: str
    workers: int = 10
    registered: bool = True
    lifecycle: Lifecycle | None = None
    fail_sessions: bool = False
    created_at: float


@define(kw_only=True)
class EmulatedAgentDeployment:
    """A deployment of an agent (``/ai/v1/cloud/deployments``); deleted ones are kept,
    flagged, so their ids stay unknown to every call."""

    id: str
    agent_id: str
    name: str
    template: str | None = None
    status: str = "active"
    env_secret: str | None = None
    deleted: bool = False
    created_at: float
    updated_at: float


@define(kw_only=True)
class EmulatedVersion:
    """A version of a deployment: what runs (image, scaling, profile, region), whether the
    deployment runs it (`active`), and where its sessions' webhooks go."""

    id: str
    agent_id: str
    deployment_id: str
    name: str
    image: dict[str, Any]
    version_tag: str | None = None
    region: str = "us002"
    profile: str = "cpu-small"
    min_replica: int = 0
    max_replica: int = 1
    active: bool = False
    env_secret: str | None = None
    build_id: str | None = None
    schedule: Any = None
    webhook: WebhookSubscription | None = None
    created_at: float
    updated_at: float
    sequence: int


@define(kw_only=True)
class EmulatedRoom:
    """A room: VideoSDK's ``xxxx-xxxx-xxxx`` id, and a caller's own id when it gave one."""

    id: str
    room_id: str
    custom_room_id: str | None = None
    disabled: bool = False
    auto_close: dict[str, Any] | None = None
    created_at: float
    updated_at: float


@define(kw_only=True)
class RuntimeSessionRecord:
    """An agent's session in a room, started by a dispatch. `deployment_id` and
    `version_id` are None for a self-hosted agent (one with no deployment)."""

    id: str
    room_id: str
    agent_id: str
    deployment_id: str | None
    version_id: str | None
    metadata: dict[str, Any]
    timeline: Timeline
    sequence: int
    provider: str = "videosdk"


@frozen(kw_only=True)
class ConsoleLog:
    """One console log line of an agent deployment."""

    at: float
    message: str
    level: str
    deployment_id: str
    agent_id: str | None = None
    version_id: str | None = None
    session_id: str | None = None
    room_id: str | None = None
    user_id: str | None = None
    sequence: int
