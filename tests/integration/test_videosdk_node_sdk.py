"""An independent check of the emulator's agent runtime: VideoSDK's own Node server SDK
(``@videosdk.live/server-sdk`` 0.1.1, pinned in ``tests/node``), unmodified, runs a round
trip against it (``tests/node/runtime_roundtrip.js``): deploy, dispatch, list sessions,
end, logs, versions, refusals. What it saw must be what the emulator did, and what the
Python SDK reads back.

Skipped only where Node.js is not installed (``.ci/run`` installs it from Debian's
packages); the harness's package is installed here with ``npm ci`` when it is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentcloud import NotFoundError, SessionStatus
from agentcloud.testing import Emulator, Lifecycle

HARNESS = Path(__file__).resolve().parents[1] / "node"
SCRIPT = HARNESS / "runtime_roundtrip.js"
INSTALLED = HARNESS / "node_modules" / "@videosdk.live" / "server-sdk" / "package.json"
# Sessions run as soon as they are dispatched, until they are ended.
AT_ONCE = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("Node.js is not installed (.ci/run installs it: apt-get install nodejs npm)")
    if not INSTALLED.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: cannot install the Node SDK harness in tests/node")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HARNESS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in tests/node failed:\n{done.stdout}\n{done.stderr}")
    version = json.loads(INSTALLED.read_text())["version"]
    assert version == "0.1.1", f"tests/node has @videosdk.live/server-sdk {version}"
    return found


async def run_script(node: str, emu: Emulator) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIDEOSDK_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"))
    }
    env.update(emu.environment())
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        cwd=HARNESS,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()
    seen: dict[str, Any] = json.loads(out)
    return seen


async def test_the_node_sdk_round_trips_against_the_emulator(node: str) -> None:
    async with Emulator(seed=11, lifecycle=AT_ONCE) as emu:
        seen = await run_script(node, emu)
        deployment = emu.videosdk_runtime_deployment_id
        agent = emu.videosdk_agent_id
        room = seen["room"]["roomId"]

        # rooms.create and agents.dispatch
        assert seen["room"]["customRoomId"] == "node-check"
        assert emu.videosdk_room("node-check").room_id == room
        assert seen["dispatch"] == {
            "success": True,
            "status": "assigned",
            "roomId": room,
            "agentId": agent,
        }
        dispatched = next(r for r in emu.requests if r.path == "/v2/agent/dispatch")
        assert dispatched.body == {
            "agentId": agent,
            "roomId": room,
            "meetingId": room,
            "metadata": {"from": "node"},
        }

        # the deployment's sessions, through the SDK's paginate
        [session] = seen["sessions"]
        record = emu.videosdk_runtime_session(session["sessionId"])
        assert (session["roomId"], session["versionId"]) == (room, emu.videosdk_runtime_version_id)
        assert session["end"] is None
        assert record.metadata == {"from": "node"}

        # sessions.end: the room session, ended
        assert seen["ended"]["id"] == session["sessionId"]
        assert seen["ended"]["status"] == "ended"
        assert seen["ended"]["end"] is not None
        assert record.timeline.terminated

        # the deployment's console logs, oldest first
        assert [line["log"] for line in seen["logs"]] == [
            f"Job assigned to a worker; joining room {room}",
            f"Agent joined room {room}",
            "Agent session stopping",
            "Agent session ended",
        ]
        assert {line["metadata"]["sessionId"] for line in seen["logs"]} == {session["sessionId"]}

        # deployments and versions
        assert seen["latest"]["id"] == emu.videosdk_runtime_version_id
        assert seen["deployment"]["id"] == deployment
        deployed = seen["deployed"]
        assert deployed["version"]["deploymentId"] == deployed["id"]
        assert deployed["version"]["image"] == {
            "imageUrl": "ghcr.io/acme/node-agent:1",
            "imageCR": "ghcr.io",
            "imageType": "public",
        }
        assert (deployed["version"]["minReplica"], deployed["version"]["maxReplica"]) == (0, 3)
        assert deployed["version"]["active"] is True
        assert [d["id"] for d in seen["listed"]] == [deployed["id"]]
        assert seen["deactivated"]["message"]
        assert seen["deleted"]["message"]

        # refusals, as the Node SDK types them
        assert seen["refusal"] == {
            "name": "ValidationError",
            "message": "No Workers Registered",
            "status": 400,
        }
        assert seen["unknownRoom"] == {
            "name": "RoomNotFoundError",
            "message": "Room not found",
            "status": 404,
        }
        assert seen["publicKey"] == emu.videosdk_webhook_public_key

        # and the Python SDK reads back what the Node SDK did
        async with emu.videosdk() as vs:
            ended = await vs.runtime.sessions.get(deployment, session["sessionId"])
            assert ended.status is SessionStatus.ENDED
            assert ended.room_id == room
            lines = await vs.runtime.logs(deployment, room_id=room, order="asc").collect()
            assert [line.message for line in lines] == [line["log"] for line in seen["logs"]]
            with pytest.raises(NotFoundError):
                await vs.runtime.deployments.get(deployed["id"])
