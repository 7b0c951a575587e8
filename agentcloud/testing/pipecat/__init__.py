"""The emulator's Pipecat Cloud: agents, public starts, session listings and details.

Served on the `Emulator` as ``emu.pipecat()`` (a `PipecatCloud` client wired to it, agent
"my-agent" by default), ``emu.pipecat_api_key``, ``emu.pipecat_public_key``,
``emu.pipecat_organization_id``, ``emu.pipecat_organization`` (its name),
``emu.pipecat_agent(name)``, ``emu.add_pipecat_agent(...)``, ``emu.pipecat_bot(agent,
handler, not_ready_for=0)`` (the bot behind the session API), ``emu.pipecat_log(...)`` /
``emu.pipecat_logs(agent)``, ``emu.pipecat_webhooks(url, secret=None, spelling="svix",
duplicates=0)`` (Standard-Webhooks-signed deliveries; returns the secret) and
``emu.pipecat_official_cli_environment()`` (what points the official ``pipecatcloud`` CLI
here); constructor options ``pipecat_api_key=``, ``pipecat_public_key=``,
``pipecat_max_sessions=``, ``pipecat_organization=``, ``pipecat_readiness_delay=`` and
``pipecat_logs_total_cap=``. Agents have a deployment timeline (created or updated ones are
reconciled after half the readiness delay and ready after all of it), sessions write logs
as they move, and listed sessions always carry ``endedAt`` (null while active).

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
