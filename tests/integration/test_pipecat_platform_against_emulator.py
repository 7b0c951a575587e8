"""Pipecat beyond the four session calls, the SDK and its command line against the emulator:
queueing through capacity, the session API, logs, deploys, webhooks, the STARTING stage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcloud import (
    AgentAtCapacityError,
    DeploymentFailedError,
    RetryPolicy,
    SessionEventType,
    SessionFailedError,
    SessionStatus,
    WebhookReceiver,
)
from agentcloud.cli import main
from agentcloud.testing import Emulator, Lifecycle, ManualClock, Phase
from tests.helpers import ThreadedEmulator

#: Back-off fast enough for real-time tests; the sleeps are the SDK's own.
QUICK = RetryPolicy(backoff_base=0.005, backoff_cap=0.05, budget=1000)


def on_clock(clock: ManualClock) -> RetryPolicy:
    """A policy whose pauses move the emulator's manual clock: waiting is what passes time."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return RetryPolicy(sleep=sleep, clock=clock.now, random=lambda: 1.0, deadline=3600)


def clock_now(clock: ManualClock) -> Any:
    return lambda: datetime.fromtimestamp(clock.now(), UTC)


async def test_twenty_starts_queue_through_an_agent_of_capacity_five() -> None:
    lifecycle = Lifecycle(start_delay=0.0, run_duration=None)
    async with Emulator(lifecycle=lifecycle, pipecat_max_sessions=5) as emu:
        active = 0
        peak = 0

        def count(provider: str, session_id: str, phase: Phase) -> None:
            nonlocal active, peak
            if phase is Phase.QUEUED:
                active += 1
                peak = max(peak, active)
            elif phase.is_terminal:
                active -= 1

        emu.add_phase_listener(count)
        async with emu.pipecat(retry=QUICK) as pc:

            async def one(index: int) -> str:
                async with pc.sessions.start(body={"caller": index}, wait_for_capacity=60) as s:
                    await asyncio.sleep(0.01 * (index % 4))  # the call in progress
                    return s.id

            ids = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(20))), 60)
        assert len(set(ids)) == 20
        assert len(emu.worlds["pipecat"].sessions) == 20  # none started twice
        starts = [r for r in emu.requests if r.path == "/v1/public/my-agent/start"]
        assert len(starts) > 20  # some were refused at capacity and queued
        assert peak <= 5
        assert active == 0


async def test_without_waiting_a_full_agent_refuses() -> None:
    async with Emulator(pipecat_max_sessions=1) as emu, emu.pipecat(retry=QUICK) as pc:
        first = await pc.sessions.start()
        with pytest.raises(AgentAtCapacityError):
            await pc.sessions.start()
        await pc.sessions.end(first.id)


async def test_running_means_the_bot_is_up() -> None:
    clock = ManualClock()
    async with (
        Emulator(clock=clock, lifecycle=Lifecycle(start_delay=2.0)) as emu,
        emu.pipecat(retry=on_clock(clock)) as pc,
    ):
        started = await pc.sessions.start()
        assert started.status is SessionStatus.STARTING
        assert (await pc.sessions.get(started.id)).status is SessionStatus.STARTING
        running = await pc.sessions.wait(started.id, until="running", timeout=30)
        assert running.status is SessionStatus.RUNNING
        assert [event.code for event in running.lifecycle or ()] == [
            "SESSION_START_INITIATED",
            "REQUEST_ARRIVED_AT_BOT",
        ]
        listed = await pc.sessions.list(status="active").collect()
        assert [s.status for s in listed] == [SessionStatus.RUNNING]

        emu.add_pipecat_agent("broken", fail_sessions=True)
        doomed = await pc.sessions.start(agent="broken")
        with pytest.raises(SessionFailedError):
            await pc.sessions.wait(doomed.id, agent="broken", until="running", timeout=30)
        failed = await pc.sessions.list(agent="broken", end_state="agent_error").collect()
        assert [s.id for s in failed] == [doomed.id]


async def test_send_waits_out_the_bots_not_ready_window() -> None:
    clock = ManualClock()
    async with Emulator(clock=clock, lifecycle=Lifecycle(start_delay=1.0)) as emu:
        bot = emu.pipecat_bot(
            "my-agent", lambda request: {"echo": request.json()}, not_ready_for=3.0
        )
        async with emu.pipecat(retry=on_clock(clock)) as pc:
            session = await pc.sessions.start()
            reply = await pc.sessions.send(session.id, "context", json={"n": 1}, ready_timeout=30)
            assert (reply.status, reply.json()) == (200, {"echo": {"n": 1}})
            assert len(bot.calls) == 1  # the not-ready answers never reached the bot
            bodiless = await pc.sessions.send(session.id, "status", method="GET")
            assert (bodiless.status, bodiless.json()) == (200, {"echo": None})


async def test_logs_of_a_session() -> None:
    clock = ManualClock()
    lifecycle = Lifecycle(start_delay=1.0, run_duration=5.0)
    async with (
        Emulator(clock=clock, lifecycle=lifecycle, pipecat_logs_total_cap=3) as emu,
        emu.pipecat(retry=on_clock(clock)) as pc,
    ):
        first = await pc.sessions.start()
        second = await pc.sessions.start()
        for index in range(7):
            emu.pipecat_log("my-agent", f"INFO: step {index}", session_id=first.id)
        clock.advance(10)
        lines = await pc.logs.list(session_id=first.id, order="asc", per_page=2).collect()
        messages = [entry.message for entry in lines]
        assert messages[0] == f"INFO: Starting bot for session {first.id}"
        assert messages[-1] == f"INFO: Session {first.id} completed"
        assert {f"INFO: step {i}" for i in range(7)} <= set(messages)
        assert all(entry.session_id == first.id for entry in lines)
        assert all(second.id not in message for message in messages)
        assert len(lines) == len(emu.pipecat_logs("my-agent")) - 4  # the other session's 4


async def test_deploy_update_wait_and_delete() -> None:
    clock = ManualClock()
    async with (
        Emulator(clock=clock, pipecat_readiness_delay=20.0) as emu,
        emu.pipecat(retry=on_clock(clock)) as pc,
    ):
        created = await pc.agents.create("voice", image="img:1", min_agents=1, max_agents=3)
        assert created.ready is False
        ready = await pc.agents.wait_ready("voice", timeout=120)
        assert ready.deployed
        assert (ready.min_agents, ready.max_agents) == (1, 3)
        updated = await pc.agents.update("voice", image="img:2")
        assert updated.ready is True  # the old deployment's: not done yet
        assert not updated.deployed
        redeployed = await pc.agents.wait_ready("voice", timeout=120)
        assert redeployed.desired_deployment_id == updated.desired_deployment_id
        assert redeployed.deployed
        names = [agent.name async for agent in pc.agents.list(include_active_deployment=True)]
        assert names == ["my-agent", "voice"]
        regions = await pc.regions.list()
        assert regions[0].code == "us-west"
        await pc.agents.delete("voice")
        assert [agent.name async for agent in pc.agents.list()] == ["my-agent"]


async def test_a_failed_deploy_ends_the_wait_at_once() -> None:
    clock = ManualClock()
    async with (
        Emulator(clock=clock, pipecat_readiness_delay=20.0) as emu,
        emu.pipecat(retry=on_clock(clock)) as pc,
    ):
        await pc.agents.create("voice", image="img:missing")
        emu.pipecat_agent("voice").deploy_errors.append(("IMAGE_PULL", "img:missing not found"))
        began = clock.now()
        with pytest.raises(DeploymentFailedError) as caught:
            await pc.agents.wait_ready("voice", timeout=120)
        assert clock.now() - began < 20  # before the deploy would have been ready
        assert caught.value.errors == ("IMAGE_PULL: img:missing not found",)
        assert (await pc.agents.get("voice")).errors == caught.value.errors
        emu.pipecat_agent("voice").deploy_errors.clear()  # fixed, redeployed
        assert (await pc.agents.wait_ready("voice", timeout=120)).deployed


async def test_webhooks_wake_a_wait_and_repeats_are_dropped() -> None:
    clock = ManualClock()
    async with (
        Emulator(clock=clock, lifecycle=Lifecycle(start_delay=1.0)) as emu,
        WebhookReceiver.serve(
            provider="pipecat", secret="whsec_" + "c2VjcmV0a2V5" * 2, now=clock_now(clock)
        ) as receiver,
    ):
        assert receiver.url is not None
        emu.pipecat_webhooks(receiver.url, "whsec_" + "c2VjcmV0a2V5" * 2, duplicates=1)
        async with emu.pipecat() as pc:
            session = await pc.sessions.start()
            clock.advance(1.5)
            running = await pc.sessions.wait(
                session.id, until="running", receiver=receiver, timeout=30
            )
            assert running.status is SessionStatus.RUNNING
            await emu.settle()
            event = await receiver.next(session_id=session.id, timeout=5)
            assert event.type is SessionEventType.STARTED
            assert event.delivery_id is not None
            assert event.delivery_id.startswith("msg_")
            assert receiver.stats.accepted == 1
            assert receiver.stats.duplicates == 1
            assert all(d.ok for d in emu.webhook_deliveries)


# -- the command line -------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    lifecycle = Lifecycle(start_delay=0.0, run_duration=None)
    with ThreadedEmulator(lifecycle=lifecycle, pipecat_readiness_delay=0.2) as threaded:
        for name, value in threaded.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AGENTCLOUD_BASE_URL", threaded.emu.url)
        monkeypatch.setenv("AGENTCLOUD_PROVIDER", "pipecat")
        yield threaded


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main([*argv, "--format", "jsonl"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines() if line], captured.err


def test_cli_agents(served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "agents", "create", "cli-bot", "--image", "img:1", "--max-agents", "2"
    )
    assert code == 0, err
    assert out[0]["name"] == "cli-bot"
    code, out, err = run(capsys, "agents", "wait", "cli-bot", "--timeout", "30")
    assert code == 0, err
    assert out[0]["ready"] is True
    code, out, err = run(capsys, "agents", "update", "cli-bot", "--force-redeploy")
    assert code == 0, err
    code, out, err = run(capsys, "agents", "get", "cli-bot")
    assert (code, out[0]["max_agents"]) == (0, 2)
    code, out, err = run(capsys, "agents", "list")
    assert [agent["name"] for agent in out] == ["my-agent", "cli-bot"]
    code, out, err = run(capsys, "agents", "delete", "cli-bot")
    assert (code, out) == (0, [{"name": "cli-bot", "deleted": True}])
    code, out, err = run(capsys, "agents", "get", "cli-bot")
    assert code == 5  # not found


def test_cli_logs_and_send(served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu = served.emu
    emu.pipecat_bot("my-agent", lambda request: {"path": request.path, "got": request.json()})
    code, out, err = run(capsys, "sessions", "start")
    assert code == 0, err
    session_id = out[0]["id"]
    code, out, err = run(
        capsys, "sessions", "send", session_id, "context", "--json", '{"a": 1}', "--header", "X-T=1"
    )
    assert code == 0, err
    assert out[0]["status"] == 200
    assert out[0]["body"] == {"path": "context", "got": {"a": 1}}
    code, out, err = run(capsys, "logs", "--session-id", session_id, "--order", "asc")
    assert code == 0, err
    assert out[0]["message"] == f"INFO: Starting bot for session {session_id}"
    assert all(line["session_id"] == session_id for line in out)
    code, out, err = run(capsys, "logs", "--limit", "1")
    assert (code, len(out)) == (0, 1)
