"""VideoSDK's records: deployments, sessions and their webhook subscriptions.

Plain data; the world (`_world.py`) changes them and the views (`_views.py`) write them.
"""

from __future__ import annotations

from typing import Any

from attrs import Factory, define, frozen

from .._lifecycle import Lifecycle, Timeline

__all__ = ["DEFAULT_TAG", "EmulatedDeployment", "VideoSDKSessionRecord", "WebhookSubscription"]

DEFAULT_TAG = "v1.0"


@frozen(kw_only=True)
class WebhookSubscription:
    """A VideoSDK session's webhook: where to POST and which events."""

    endpoint: str
    events: tuple[str, ...]


@define(kw_only=True)
class EmulatedDeployment:
    """A VideoSDK AI deployment. Mutable: tests may flip its flags at any time."""

    id: str
    name: str
    description: str = ""
    tags: list[str] = Factory(lambda: [DEFAULT_TAG])
    status: str = "available"
    created_at: float
    updated_at: float
    fail_sessions: bool = False
    lifecycle: Lifecycle | None = None

    @property
    def latest_tag(self) -> str | None:
        """The newest of the deployment's tags, or None when it has none."""
        return self.tags[-1] if self.tags else None


@define(kw_only=True)
class VideoSDKSessionRecord:
    id: str
    deployment_id: str
    tag: str
    env: dict[str, Any]
    metadata: dict[str, Any]
    webhook: WebhookSubscription | None
    timeline: Timeline
    sequence: int
    provider: str = "videosdk"
