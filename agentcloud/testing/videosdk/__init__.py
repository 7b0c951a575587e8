"""The emulator's VideoSDK Agent Cloud: deployment sessions, deployments, signed webhooks,
and the agent runtime (agents, deployments, versions, rooms, dispatches, console logs).

Served on the `Emulator` as ``emu.videosdk()`` (a `VideoSDK` client wired to it),
``emu.videosdk_api_key``, ``emu.videosdk_secret``, ``emu.videosdk_deployment_id``,
``emu.videosdk_webhook_public_key``, ``emu.videosdk_token(...)``,
``emu.videosdk_deployment(id)`` and ``emu.add_videosdk_deployment(...)``; for the agent
runtime, the seeded ``emu.videosdk_agent_id``, ``emu.videosdk_runtime_deployment_id`` and
``emu.videosdk_runtime_version_id``, ``emu.videosdk_agent(id)`` (change its ``workers``,
so "No workers available" can be provoked), ``emu.add_videosdk_agent(...)``,
``emu.videosdk_room(id)``, ``emu.add_videosdk_room(...)``,
``emu.videosdk_runtime_session(id)``, ``emu.videosdk_runtime_logs(deployment_id)`` and
``emu.add_videosdk_log(...)``. ``emu.seed_sessions("videosdk", n, runtime=True)`` seeds
past runtime sessions. Constructor options ``videosdk_api_key=`` and ``videosdk_secret=``.

The JSON is written from the vendor's pages (see ``_views``), never with the SDK's models.
"""

from collections.abc import Callable

from .._world import World as WorldProtocol
from ._demo import demo
from ._records import EmulatedDeployment
from ._world import VideoSDKWorld

__all__ = ["DEMO", "EXPORTS", "EmulatedDeployment", "World"]

World: Callable[..., WorldProtocol] = VideoSDKWorld
"""The entry point the emulator's core looks up (see `agentcloud.testing._world`)."""

DEMO = demo
"""This vendor's scene of ``agentcloud demo``."""

EXPORTS = ("EmulatedDeployment",)
"""Names `agentcloud.testing` re-exports."""
