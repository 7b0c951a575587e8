"""Users get the `agentcloud_emulator` fixture from the installed package's pytest11 entry
point: this directory does not import the plugin, so the fixture resolves only through it."""

from __future__ import annotations

from importlib.metadata import entry_points

from agentcloud import SessionStatus
from agentcloud.testing import Emulator


def test_the_plugin_is_registered_for_pytest() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "agentcloud"]
    assert plugin.value == "agentcloud.testing.pytest_plugin"


async def test_the_fixture_serves_a_working_emulator(agentcloud_emulator: Emulator) -> None:
    async with agentcloud_emulator.pipecat() as pc:
        session = await pc.sessions.start()
        assert session.status is SessionStatus.STARTING  # Pipecat took it; the bot is not up
        assert [s.id async for s in pc.sessions.list()] == [session.id]
