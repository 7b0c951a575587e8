"""Pipecat Cloud's records: agents (its "services") and their sessions.

Plain data; the world (`_world.py`) changes them and the views (`_views.py`) write them.
"""

from __future__ import annotations

from attrs import define

from .._lifecycle import Lifecycle, Timeline

__all__ = ["DEFAULT_AGENT", "EmulatedAgent", "PipecatSessionRecord"]

DEFAULT_AGENT = "my-agent"
"""The agent every emulator starts with, ready."""


@define(kw_only=True)
class EmulatedAgent:
    """A Pipecat Cloud agent (a "service"). Mutable: tests may flip its flags at any time."""

    id: str
    name: str
    organization_id: str
    deployment_id: str
    created_at: float
    updated_at: float
    region: str = "us-west"
    ready: bool = True
    max_sessions: int | None = None
    fail_sessions: bool = False
    lifecycle: Lifecycle | None = None


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
