"""The emulator behaves like a vendor under abuse, and stays small when left running.

- Its request log keeps the newest ``max_recorded_requests`` (10,000 by default, also for
  ``agentcloud emulator``) and counts the rest: memory stays flat over a long run.
- Request JSON a vendor's parser refuses (nested 50,000 deep, NaN, Infinity) is a 400 in
  the vendor's error shape, never a 500 from a RecursionError, never accepted.
"""

from __future__ import annotations

import time

import aiohttp
import jwt
import pytest

from agentcloud.testing import Emulator

DEEP = b'{"deploymentId": "d", "tag": "v1.0", "metaData": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
CONSTANTS = [
    b'{"deploymentId": "d", "tag": "v1.0", "metaData": {"x": NaN}}',
    b'{"deploymentId": "d", "tag": "v1.0", "metaData": {"x": Infinity}}',
    b'{"deploymentId": "d", "tag": "v1.0", "metaData": {"x": -Infinity}}',
]


def videosdk_token(emu: Emulator) -> str:
    now = int(time.time())
    claims = {
        "apikey": emu.videosdk_api_key,
        "permissions": ["allow_join"],
        "version": 2,
        "roles": ["crawler"],
        "iat": now - 60,
        "exp": now + 600,
    }
    return jwt.encode(claims, emu.videosdk_secret, algorithm="HS256")


async def test_the_request_log_keeps_only_the_newest() -> None:
    async with Emulator(max_recorded_requests=100) as emu, emu.pipecat() as pc:
        for _ in range(300):
            await pc.agents.get("my-agent")
        assert len(emu.requests) == 100
        assert emu.requests.dropped == 200
    async with Emulator() as standalone_default:
        assert standalone_default.requests.limit is not None
        assert standalone_default.requests.limit <= 10_000


@pytest.mark.parametrize("body", [DEEP, *CONSTANTS], ids=["deep", "NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("vendor", ["videosdk", "pipecat"])
async def test_json_a_vendor_refuses_is_a_400(vendor: str, body: bytes) -> None:
    async with Emulator() as emu, aiohttp.ClientSession() as http:
        if vendor == "videosdk":
            url = f"{emu.url}/ai/v1/ai-deployment-sessions/start"
            headers = {"Authorization": videosdk_token(emu)}
        else:
            url = f"{emu.url}/v1/public/my-agent/start"
            headers = {"Authorization": f"Bearer {emu.pipecat_public_key}"}
            body = body.replace(b'"metaData"', b'"body"')
        headers["Content-Type"] = "application/json"
        async with http.post(url, data=body, headers=headers) as response:
            status = response.status
            answer = await response.read()
    assert status == 400, (status, answer[:300])
