"""Testing your own code against the emulator, with agentcloud's pytest fixture.

The ``agentcloud_emulator`` fixture comes with the package (no conftest needed) and is
async, so it needs pytest-asyncio; the tests are marked for it here (with
``asyncio_mode = "auto"`` in your pytest configuration the marks can go).

    python -m pytest examples/testing
"""

import pytest
from greeter import start_greeter

from agentcloud import SessionFailedError
from agentcloud.testing import Emulator, FaultKind, FaultPlan, ManualClock, fake_time


@pytest.mark.asyncio
async def test_the_greeter_runs_for_its_user(agentcloud_emulator: Emulator) -> None:
    async with agentcloud_emulator.videosdk() as client:
        session = await start_greeter(client, agentcloud_emulator.videosdk_deployment_id, "ada")

    assert session.status == "running"
    # What was sent is in the emulator's request log (credentials redacted).
    (start,) = [r for r in agentcloud_emulator.requests if r.path.endswith("/start")]
    assert start.body["metaData"]["user"] == "ada"


@pytest.mark.asyncio
async def test_a_vendor_hiccup_still_starts_one_session() -> None:
    # The start meets a proxy's 503, the lookup that follows a 429; then all is well.
    faults = FaultPlan(script=[FaultKind.SERVICE_UNAVAILABLE, FaultKind.RATE_LIMITED])
    clock = ManualClock()
    # fake_time: back-off and polling step the emulator's clock instead of waiting.
    with fake_time(clock=clock) as time:
        async with Emulator(clock=clock, faults=faults) as emu, emu.videosdk() as client:
            session = await start_greeter(client, emu.videosdk_deployment_id, "bob")
            sessions = await client.sessions.list().collect()

    assert session.status == "running"
    assert [s.id for s in sessions] == [session.id]  # retried safely: no second session
    assert time.sleeps  # there was back-off, and it took no real time


@pytest.mark.asyncio
async def test_a_broken_deployment_is_reported(agentcloud_emulator: Emulator) -> None:
    broken = agentcloud_emulator.add_videosdk_deployment(name="broken", fail_sessions=True)
    async with agentcloud_emulator.videosdk() as client:
        with pytest.raises(SessionFailedError) as failure:
            await start_greeter(client, broken.id, "eve")

    assert failure.value.session.status == "failed"
