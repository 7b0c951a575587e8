"""Pipecat Cloud's records: agents (its "services"), their deployments, their sessions and
their log lines.

Plain data; the world (`_world.py`) changes them and the views (`_views.py`) write them.
"""

from __future__ import annotations

from attrs import define, field, frozen

from .._lifecycle import Lifecycle, Timeline

__all__ = [
    "DEFAULT_AGENT",
    "EmulatedAgent",
    "LogLine",
    "PipecatSessionRecord",
    "Rollout",
]

DEFAULT_AGENT = "my-agent"
"""The agent every emulator starts with, ready."""


@define(kw_only=True)
class Rollout:
    """A deployment on its way out: the operator reconciles it after half of `delay`, and it
    passes validation (ready) once the whole `delay` has passed."""

    started_at: float
    delay: float
    previous: str | None
    """The deployment it replaces (None for a new agent): it keeps serving meanwhile."""

    @property
    def reconciled_at(self) -> float:
        return self.started_at + self.delay / 2

    @property
    def ready_at(self) -> float:
        return self.started_at + self.delay


@define(kw_only=True)
class EmulatedAgent:
    """A Pipecat Cloud agent (a "service"). Mutable: tests may flip its flags at any time.

    `deployment_id` is the desired deployment, `reconciled_deployment_id` the one rolled
    out; `ready` says the reconciled deployment passed validation and `available` (None:
    the same as `ready`) that sessions are accepted. `max_sessions` caps active sessions
    (None: no cap), answered with PCC-AGENT-AT-CAPACITY past it.
    """

    id: str
    name: str
    organization_id: str
    deployment_id: str
    created_at: float
    updated_at: float
    region: str = "us-west"
    ready: bool = True
    available: bool | None = None
    max_sessions: int | None = None
    fail_sessions: bool = False
    lifecycle: Lifecycle | None = None
    reconciled_deployment_id: str | None = None
    rollout: Rollout | None = None
    image: str | None = None
    build_id: str | None = None
    secret_set: str | None = None
    image_pull_secret_set: str | None = None
    min_agents: int = 0
    max_agents: int = 50
    agent_profile: str = "agent-1x"
    krisp_filter: str | None = None
    max_session_duration: int | None = None
    deployments: list[str] = field(factory=list)
    """Every deployment id the agent has had, oldest first."""
    deploy_errors: list[tuple[str, str]] = field(factory=list)
    """(code, message) pairs its status reports as ``errors``: a failed deploy."""

    def __attrs_post_init__(self) -> None:
        if self.reconciled_deployment_id is None and self.rollout is None:
            self.reconciled_deployment_id = self.deployment_id
        if not self.deployments:
            self.deployments.append(self.deployment_id)

    @property
    def accepting(self) -> bool:
        """Whether a start (or a call to a session's bot) is taken now."""
        return self.ready if self.available is None else self.available

    @property
    def serving_deployment_id(self) -> str:
        """The deployment new sessions run on: the reconciled one, else the desired one."""
        return self.reconciled_deployment_id or self.deployment_id


@define(kw_only=True)
class PipecatSessionRecord:
    id: str
    agent: str
    service_id: str
    organization_id: str
    deployment_id: str
    timeline: Timeline
    sequence: int
    cold_start: bool
    bot_start_seconds: int
    transport: str | None
    daily_room: bool
    participant_id: str
    meeting_id: str
    metrics_seed: int
    provider: str = "pipecat"


@frozen(kw_only=True)
class LogLine:
    """One line of an agent's logs."""

    agent: str
    at: float
    message: str
    deployment_id: str | None
    session_id: str | None
    sequence: int
