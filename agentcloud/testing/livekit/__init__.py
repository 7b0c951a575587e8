"""The emulator's LiveKit Cloud: rooms, agent dispatches and their jobs, over Twirp.

Served on the `Emulator` as ``emu.livekit()`` (a `LiveKitCloud` client wired to it),
``emu.livekit_api_key``, ``emu.livekit_api_secret``, ``emu.livekit_agent_name`` (the
seeded worker's agent, "my-agent"), ``emu.livekit_worker_id``, ``emu.livekit_token(...)``
(an access token for raw HTTP calls), ``emu.livekit_webhooks(url)``,
``emu.livekit_room(name)``, ``emu.livekit_dispatch(id)``, ``emu.livekit_worker(id)``,
``emu.add_livekit_worker(...)`` and ``emu.livekit_finish_job(id, status=...)``;
constructor options ``livekit_api_key=``, ``livekit_api_secret=`` and
``livekit_worker_capacity=``. ``emu.environment()`` holds ``LIVEKIT_URL``,
``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET``.

Twirp JSON always, and protobuf when ``livekit-protocol`` is installed, so the official
``livekit-api`` client runs against it unmodified. The messages are written from
LiveKit's protobuf definitions (see ``_views``), never with the SDK's models.
"""

from collections.abc import Callable

from .._world import World as WorldProtocol
from ._demo import demo
from ._records import LiveKitDispatchRecord, LiveKitRoomRecord, LiveKitWorker
from ._world import LiveKitWorld

__all__ = [
    "DEMO",
    "EXPORTS",
    "LiveKitDispatchRecord",
    "LiveKitRoomRecord",
    "LiveKitWorker",
    "World",
]

World: Callable[..., WorldProtocol] = LiveKitWorld
"""The entry point the emulator's core looks up (see `agentcloud.testing._world`)."""

DEMO = demo
"""This vendor's scene of ``agentcloud demo``."""

EXPORTS = ("LiveKitDispatchRecord", "LiveKitRoomRecord", "LiveKitWorker")
"""Names `agentcloud.testing` re-exports."""
