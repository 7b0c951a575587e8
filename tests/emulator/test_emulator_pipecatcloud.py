"""The official `pipecatcloud` package, pointed at the emulator by PIPECAT_API_HOST.

`pipecatcloud.config` reads PIPECAT_<SETTING> from the environment on every call, so
setting PIPECAT_API_HOST to `emu.url` sends `Session.start()` to the emulator.
"""

from __future__ import annotations

import pytest

from agentcloud.testing import Emulator, FaultPlan, Phase

pipecatcloud_session = pytest.importorskip("pipecatcloud.session")
pipecatcloud_exception = pytest.importorskip("pipecatcloud.exception")
Session = pipecatcloud_session.Session
SessionParams = pipecatcloud_session.SessionParams
AgentStartError = pipecatcloud_exception.AgentStartError


@pytest.fixture(autouse=True)
def point_pipecatcloud_at(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAT_API_HOST", emu.url)


async def test_start_returns_the_session_the_emulator_created(emu: Emulator) -> None:
    params = SessionParams(data={"user": "42"}, use_daily=True, daily_room_properties={"exp": 9})
    result = await Session(
        agent_name="my-agent", api_key=emu.pipecat_public_key, params=params
    ).start()
    [request] = emu.requests
    assert request.path == "/v1/public/my-agent/start"
    assert request.body == {
        "createDailyRoom": True,
        "body": {"user": "42"},
        "dailyRoomProperties": {"exp": 9},
    }
    assert request.headers["Authorization"] == "[REDACTED]"
    assert set(result) == {"sessionId", "dailyRoom", "dailyToken"}
    # The id is one the emulator knows (this raises KeyError otherwise).
    assert emu.session_phase("pipecat", result["sessionId"]) is Phase.QUEUED


def expected_error(body: dict[str, object]) -> tuple[str, object]:
    """What the real service's answer makes pipecatcloud raise: same message and code."""
    error = AgentStartError(body)
    return error.message, error.error_code


async def test_a_wrong_key_raises_the_401_agent_start_error(emu: Emulator) -> None:
    with pytest.raises(AgentStartError) as raised:
        await Session(agent_name="my-agent", api_key="pk_not_valid").start()
    assert (raised.value.message, raised.value.error_code) == expected_error(
        {"error": "Unauthorized / token expired", "code": "401"}
    )
    assert raised.value.message == "401 - Unauthorized / token expired"


async def test_the_private_key_cannot_start_sessions(emu: Emulator) -> None:
    with pytest.raises(AgentStartError) as raised:
        await Session(agent_name="my-agent", api_key=emu.pipecat_api_key).start()
    assert raised.value.error_code == "401"


async def test_rate_limiting_raises_the_429_agent_start_error(emu: Emulator) -> None:
    emu.faults = FaultPlan(script=["rate_limited"])
    with pytest.raises(AgentStartError) as raised:
        await Session(agent_name="my-agent", api_key=emu.pipecat_public_key).start()
    # The real 429 body has `message`, not `error`: pipecatcloud reports "Unknown error".
    assert (raised.value.message, raised.value.error_code) == expected_error(
        {"status": 429, "code": "429", "message": "Rate limit exceeded. Please try again later"}
    )
    assert raised.value.message == "429 - Unknown error. Please contact support."


async def test_an_agent_at_capacity_raises_its_code(emu: Emulator) -> None:
    emu.pipecat_agent("my-agent").max_sessions = 0
    with pytest.raises(AgentStartError) as raised:
        await Session(agent_name="my-agent", api_key=emu.pipecat_public_key).start()
    assert raised.value.error_code == "PCC-AGENT-AT-CAPACITY"
