"""Pipecat Cloud beyond the four session calls through the blocking client, against the
emulator: deploying agents and waiting for them, regions, the session API (``send``) and
logs. The async scenarios are in tests/integration/test_pipecat_platform_against_emulator.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcloud import (
    Agent,
    APIError,
    BotReply,
    InvalidRequestError,
    LogEntry,
    NotFoundError,
    Region,
    RequestTimeoutError,
)
from agentcloud.models import Page
from agentcloud.sync import Pager, PipecatCloud
from agentcloud.testing import Emulator, ManualClock
from tests.sync.scenarios import covers


@covers("pipecat agents.create", "pipecat agents.wait_ready", "pipecat agents.update")
@covers("pipecat agents.delete", "pipecat regions.list")
def test_deploy_update_wait_and_delete(pc: PipecatCloud) -> None:
    created = pc.agents.create("voice", image="img:1", min_agents=1, max_agents=3)
    assert isinstance(created, Agent)
    assert (created.name, created.ready, created.deployed) == ("voice", False, False)
    with pytest.raises(RequestTimeoutError, match="voice"):
        pc.agents.wait_ready("voice", timeout=0.2)  # the deploy takes a clock second
    ready = pc.agents.wait_ready("voice", timeout=120)
    assert isinstance(ready, Agent)
    assert ready.deployed
    assert (ready.min_agents, ready.max_agents) == (1, 3)
    assert pc.agents.get("voice").deployed  # what the wait saw is what a get sees

    updated = pc.agents.update("voice", image="img:2")
    assert updated.ready is True  # the old deployment's: not done yet
    assert not updated.deployed
    redeployed = pc.agents.wait_ready("voice", timeout=120)
    assert redeployed.desired_deployment_id == updated.desired_deployment_id
    assert redeployed.deployed
    forced = pc.agents.update("voice", force_redeploy=True)
    assert forced.desired_deployment_id != redeployed.desired_deployment_id  # deployed anew
    assert pc.agents.wait_ready("voice", timeout=120).deployed

    names = [agent.name for agent in pc.agents.list(include_active_deployment=True)]
    assert names == ["my-agent", "voice"]
    regions = pc.regions.list()
    assert isinstance(regions, list)
    assert all(isinstance(region, Region) for region in regions)
    assert regions[0].code == "us-west"

    pc.agents.delete("voice")
    assert [agent.name for agent in pc.agents.list()] == ["my-agent"]
    with pytest.raises(NotFoundError):
        pc.agents.get("voice")
    with pytest.raises(NotFoundError):
        pc.agents.delete("voice")


def test_agent_settings_are_checked_before_anything_is_sent(
    emu: Emulator, pc: PipecatCloud
) -> None:
    sent = len(emu.requests)
    with pytest.raises(InvalidRequestError) as bad_name:
        pc.agents.create("Not_A_Name", image="img:1")
    assert bad_name.value.argument == "name"
    with pytest.raises(InvalidRequestError) as nothing_to_deploy:
        pc.agents.create("voice")
    assert nothing_to_deploy.value.argument == "image"
    with pytest.raises(InvalidRequestError) as nothing_to_change:
        pc.agents.update("my-agent")
    assert nothing_to_change.value.argument == "force_redeploy"
    with pytest.raises(InvalidRequestError) as too_many:
        pc.agents.create("voice", image="img:1", max_agents=51)
    assert too_many.value.argument == "max_agents"
    assert len(emu.requests) == sent


def bot_answer(request: Any) -> Any:
    """A bot behind the session API: echoes what it got; ``broken`` is its own error."""
    if request.path == "broken":
        return 409, {"detail": "the bot is busy"}
    if request.headers.get("Content-Type") == "application/octet-stream":
        return {"path": request.path, "bytes": len(request.body)}
    return {"path": request.path, "method": request.method, "got": request.json()}


@covers("pipecat sessions.send")
def test_send_reaches_the_bot_once_it_is_ready(emu: Emulator, pc: PipecatCloud) -> None:
    bot = emu.pipecat_bot("my-agent", bot_answer, not_ready_for=3.0)
    session = pc.sessions.start()
    reply = pc.sessions.send(session.id, "context", json={"n": 1}, ready_timeout=30)
    assert isinstance(reply, BotReply)
    assert (reply.status, reply.ok) == (200, True)
    assert reply.json() == {"path": "context", "method": "POST", "got": {"n": 1}}
    assert len(bot.calls) == 1  # the not-ready answers never reached the bot

    bodiless = pc.sessions.send(session.id, "status", method="GET")
    assert bodiless.json() == {"path": "status", "method": "GET", "got": None}
    raw = pc.sessions.send(session.id, "upload", data=b"\x00\x01\x02")
    assert raw.json() == {"path": "upload", "bytes": 3}
    assert bot.calls[-1].body == b"\x00\x01\x02"

    busy = pc.sessions.send(session.id, "broken", json={})
    assert (busy.status, busy.ok) == (409, False)  # the bot's own answer, returned
    with pytest.raises(APIError) as raised:
        pc.sessions.send(session.id, "broken", json={}, raise_for_status=True)
    assert raised.value.status == 409
    assert "the bot is busy" in str(raised.value)

    calls = len(bot.calls)
    with pytest.raises(InvalidRequestError) as refused:
        pc.sessions.send(session.id, "status", method="GET", json={"a": 1})
    assert refused.value.argument == "json"
    with pytest.raises(InvalidRequestError) as oversized:
        pc.sessions.send(session.id, "context", json="x" * 5000, transport="websocket")
    assert oversized.value.argument == "json"
    assert len(bot.calls) == calls


@covers("pipecat logs.list")
def test_logs_of_a_session(emu: Emulator, pc: PipecatCloud, clock: ManualClock) -> None:
    first = pc.sessions.start()
    second = pc.sessions.start()
    for index in range(7):
        emu.pipecat_log("my-agent", f"INFO: step {index}", session_id=first.id)
    listing = pc.logs.list(session_id=first.id, order="asc", per_page=2)
    assert isinstance(listing, Pager)
    lines = listing.collect()
    assert all(isinstance(line, LogEntry) for line in lines)
    messages = [line.message for line in lines]
    assert messages[0] == f"INFO: Starting bot for session {first.id}"
    assert {f"INFO: step {i}" for i in range(7)} <= set(messages)
    assert all(second.id not in message for message in messages)
    assert {line.session_id for line in lines} == {first.id}
    assert [line.message for line in listing] == messages  # iterating walks it anew
    pages = list(listing.pages())
    assert all(isinstance(page, Page) and len(page.items) <= 2 for page in pages)
    assert [line.message for page in pages for line in page.items] == messages

    newest = pc.logs.list(session_id=first.id, max_items=1).collect()
    assert [line.message for line in newest] == ["INFO: step 6"]
    found = [line.message for line in pc.logs.list(query="step 3")]
    assert found == ["INFO: step 3"]
    now = datetime.fromtimestamp(clock.now(), UTC)
    assert pc.logs.list(after=now + timedelta(hours=1)).collect() == []

    with pytest.raises(InvalidRequestError) as naive:
        pc.logs.list(after=datetime(2026, 1, 1))
    assert naive.value.argument == "after"
    with pytest.raises(InvalidRequestError) as sideways:
        pc.logs.list(order="sideways")
    assert sideways.value.argument == "order"
