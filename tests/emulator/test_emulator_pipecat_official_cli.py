"""The official `pipecatcloud` 1.4.0 CLI, unmodified, against the emulator.

It runs as a subprocess (`pipecat cloud ...` is this typer app, which the `pipecat`
command loads as its `cloud` extension), pointed at the emulator the way its own config
reads it: PIPECAT_API_HOST, PIPECAT_TOKEN (the private key as its token) and PIPECAT_ORG,
with PIPECAT_CONFIG_PATH at a file that does not exist (no one's real login is read).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcloud.testing import Emulator, Lifecycle

pytest.importorskip("pipecatcloud.cli.entry_point")

APP = (
    "from pipecatcloud.cli.entry_point import entrypoint_cli_typer as app; "
    "app(prog_name='pipecat cloud')"
)


@pytest.fixture
async def emu() -> Any:
    # Real time: the CLI is another process, on the emulator's own clock.
    lifecycle = Lifecycle(start_delay=0.0, run_duration=None)
    async with Emulator(lifecycle=lifecycle, pipecat_readiness_delay=0.0) as emulator:
        yield emulator


async def pipecat_cloud(
    emu: Emulator, tmp_path: Path, *args: str, output: str = "plain"
) -> tuple[int, str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPECAT")}
    env.update(emu.pipecat_official_cli_environment())
    env.update(
        PIPECAT_CONFIG_PATH=str(tmp_path / "absent.toml"),
        PIPECAT_OUTPUT=output,
        COLUMNS="240",
        NO_COLOR="1",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        APP,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_agent_list_status_sessions_logs_and_stop(emu: Emulator, tmp_path: Path) -> None:
    async with emu.pipecat() as pc:
        session = await pc.sessions.start()
        await pc.sessions.wait(session.id, until="running", timeout=10)
    agent = emu.pipecat_agent("my-agent")

    code, out, err = await pipecat_cloud(emu, tmp_path, "agent", "list")
    assert code == 0, err
    assert "Agents for organization: emulator-org (1 results)" in out
    row = next(line for line in out.splitlines() if line.startswith("my-agent\t"))
    assert row.split("\t")[:4] == ["my-agent", "us-west", agent.id, agent.deployment_id]

    code, out, err = await pipecat_cloud(emu, tmp_path, "agent", "status", "my-agent")
    assert code == 0, err
    for line in (
        "Agent: my-agent",
        "Ready: True",
        "Deployment Phase: Active",
        "Active Session Count: 1",
        f"Active Deployment ID: {agent.deployment_id}",
    ):
        assert line in out.splitlines(), out

    code, out, err = await pipecat_cloud(emu, tmp_path, "agent", "sessions", "my-agent")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(session.id))
    cells = row.split("\t")
    assert cells[2] == ""  # Ended At: the listing's endedAt is null while active
    assert cells[4] == "Active"

    code, out, err = await pipecat_cloud(
        emu, tmp_path, "agent", "sessions", "my-agent", "--id", session.id
    )
    assert code == 0, err
    assert f"Session ID: {session.id}" in out
    assert "Start request received" in out
    assert "Request arrived at agent" in out

    code, out, err = await pipecat_cloud(emu, tmp_path, "agent", "logs", "my-agent")
    assert code == 0, err
    assert f"Bot started for session {session.id}" in out

    code, out, err = await pipecat_cloud(
        emu, tmp_path, "agent", "stop", "my-agent", "--session-id", session.id, "--force"
    )
    assert code == 0, err
    assert f"Session '{session.id}' stopped successfully" in out
    assert emu.session_phase("pipecat", session.id).is_terminal

    code, out, err = await pipecat_cloud(
        emu, tmp_path, "agent", "sessions", "my-agent", "--end-state", "terminated", output="json"
    )
    assert code == 0, err
    listing = json.loads(out)
    assert [s["sessionId"] for s in listing["sessions"]] == [session.id]
    assert listing["sessions"][0]["endedAt"] is not None


async def test_an_unknown_agent_is_reported(emu: Emulator, tmp_path: Path) -> None:
    code, out, err = await pipecat_cloud(emu, tmp_path, "agent", "status", "nope")
    assert code == 1
    assert "No deployment data found for agent with name 'nope'" in out + err
