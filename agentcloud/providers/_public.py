"""The names ``agentcloud`` re-exports from the built-in providers, for type checkers.

At run time ``agentcloud`` resolves them lazily through the registry; this module only
lets static tools see them (``from agentcloud import VideoSDK`` type-checks).
"""

from .livekit import LiveKitCloud, LiveKitJob, LiveKitRoom, LiveKitSession
from .pipecat import (
    Agent,
    Connection,
    MeetingId,
    PipecatCloud,
    PipecatSession,
    ResourceMetrics,
    ResourceSample,
)
from .videosdk import (
    RUNTIME_WEBHOOK_EVENTS,
    WEBHOOK_EVENTS,
    AgentDeployment,
    AgentVersion,
    Deployment,
    Dispatch,
    Room,
    RuntimeSession,
    VideoSDK,
    VideoSDKSession,
    Webhook,
)

__all__ = [
    "RUNTIME_WEBHOOK_EVENTS",
    "WEBHOOK_EVENTS",
    "Agent",
    "AgentDeployment",
    "AgentVersion",
    "Connection",
    "Deployment",
    "Dispatch",
    "LiveKitCloud",
    "LiveKitJob",
    "LiveKitRoom",
    "LiveKitSession",
    "MeetingId",
    "PipecatCloud",
    "PipecatSession",
    "ResourceMetrics",
    "ResourceSample",
    "Room",
    "RuntimeSession",
    "VideoSDK",
    "VideoSDKSession",
    "Webhook",
]
