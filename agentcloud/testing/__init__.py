"""Test helpers: an emulator of VideoSDK Agent Cloud and Pipecat Cloud.

    from agentcloud.testing import Emulator, FaultPlan, ManualClock

    async with Emulator(clock=ManualClock()) as emu:
        ...  # point any HTTP client, or emu.videosdk() / emu.pipecat(), at emu.url

The emulator writes and reads the vendors' JSON itself, from their documentation; it
never uses the SDK's models or converters, so a mapping mistake cannot hide on both sides.
"""

from ._clock import Clock, ManualClock, SystemClock
from ._emulator import DEFAULT_AGENT, Emulator
from ._faults import FaultKind, FaultPlan
from ._lifecycle import Lifecycle, Phase
from ._recording import RecordedRequest
from ._serve import serve
from ._state import EmulatedAgent, EmulatedDeployment
from ._webhooks import WebhookDelivery

__all__ = [
    "DEFAULT_AGENT",
    "Clock",
    "EmulatedAgent",
    "EmulatedDeployment",
    "Emulator",
    "FaultKind",
    "FaultPlan",
    "Lifecycle",
    "ManualClock",
    "Phase",
    "RecordedRequest",
    "SystemClock",
    "WebhookDelivery",
    "serve",
]
