"""A hostile vendor, through the blocking clients: every kind of fault the emulator injects,
and still only the async client's typed errors come out, nothing is left running on the
client's loop, and closing it closes every connection."""

from __future__ import annotations

from typing import Any

import pytest

from agentcloud import AgentCloudError, RetryPolicy
from agentcloud.sync import wrap
from agentcloud.testing import Emulator, FaultPlan
from tests.sync.helpers import Connections, tasks_left

CALLS = 40


def calls(emu: Emulator, provider: str, client: Any, known: str) -> list[Any]:
    start: dict[str, str] = {}
    if provider == "videosdk":
        start = {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}

    def start_and_end() -> None:
        with client.sessions.start(**start) as session:
            client.sessions.get(session.id)

    return [
        lambda: client.sessions.get(known),
        lambda: client.sessions.list(per_page=5, concurrency=3).collect(),
        lambda: [page.items for page in client.sessions.list(per_page=7).pages()],
        lambda: client.sessions.wait(known, until="running", timeout=5),
        start_and_end,
    ]


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
def test_only_typed_errors_and_nothing_left_behind(
    emu: Emulator, policy: RetryPolicy, connections: Connections, provider: str
) -> None:
    [known, *_] = emu.seed_sessions(provider, 30, seed=3, running=3)
    client = wrap(getattr(emu, provider)(retry=policy, timeout=0.3))
    emu.faults = FaultPlan(rate=0.3, seed=9, stall_seconds=1.0)
    outcomes: dict[str, int] = {}
    try:
        for n in range(CALLS):
            call = calls(emu, provider, client, known)[n % 5]
            try:
                call()
                outcome = "ok"
            except AgentCloudError as error:
                outcome = type(error).__name__
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            assert tasks_left(client) == []
    finally:
        emu.faults = None
        client.close()
    assert outcomes.get("ok", 0) > 0
    assert len(outcomes) > 1, outcomes  # some calls did fail
    assert sum(outcomes.values()) == CALLS
    assert connections.wait_closed(timeout=10)
