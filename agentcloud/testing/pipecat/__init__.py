"""The emulator's Pipecat Cloud: agents, public starts, session listings and details.

Served on the `Emulator` as ``emu.pipecat()`` (a `PipecatCloud` client wired to it, agent
"my-agent" by default), ``emu.pipecat_api_key``, ``emu.pipecat_public_key``,
``emu.pipecat_organization_id``, ``emu.pipecat_agent(name)`` and
``emu.add_pipecat_agent(...)``; constructor options ``pipecat_api_key=``,
``pipecat_public_key=`` and ``pipecat_max_sessions=``.

The JSON is written from the vendor's OpenAPI document (see ``_views``), never with the
SDK's models.
"""

from collections.abc import Callable

from .._world import World as WorldProtocol
from ._demo import demo
from ._records import DEFAULT_AGENT, EmulatedAgent
from ._world import PipecatWorld

__all__ = ["DEFAULT_AGENT", "DEMO", "EXPORTS", "EmulatedAgent", "World"]

World: Callable[..., WorldProtocol] = PipecatWorld
"""The entry point the emulator's core looks up (see `agentcloud.testing._world`)."""

DEMO = demo
"""This vendor's scene of ``agentcloud demo``."""

EXPORTS = ("DEFAULT_AGENT", "EmulatedAgent")
"""Names `agentcloud.testing` re-exports."""
