"""Fault injection: every kind's behaviour, limits, determinism for a seed, latency."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from agentcloud.testing import Emulator, FaultKind, FaultPlan, ManualClock
from tests.emulator.helpers import pipecat_caller

START = "/v1/public/my-agent/start"
AGENT = "/v1/agents/my-agent"


async def raw_start(
    emu: Emulator, http: aiohttp.ClientSession, *, timeout: float = 5.0
) -> tuple[str, Any]:
    """POST a Pipecat start; the outcome as (kind, detail) instead of raising."""
    try:
        async with http.post(
            emu.url + START,
            json={"createDailyRoom": True},
            headers={"Authorization": f"Bearer {emu.pipecat_public_key}"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            raw = await response.read()
            return f"http {response.status}", (dict(response.headers), raw)
    except TimeoutError:
        return "timeout", None
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        return "connection lost", type(exc).__name__


async def active_sessions(emu: Emulator, http: aiohttp.ClientSession) -> int:
    async with http.get(
        emu.url + AGENT, headers={"Authorization": f"Bearer {emu.pipecat_api_key}"}
    ) as response:
        count: int = (await response.json())["activeSessionCount"]
        return count


@pytest.mark.parametrize(
    ("kind", "outcome", "processed"),
    [
        (FaultKind.RATE_LIMITED, "http 429", False),
        (FaultKind.RATE_LIMITED_NO_RETRY_AFTER, "http 429", False),
        (FaultKind.SERVER_ERROR, "http 500", False),
        (FaultKind.SERVER_ERROR_AFTER_PROCESSING, "http 500", True),
        (FaultKind.REQUEST_TIMEOUT, "http 408", False),
        (FaultKind.BAD_GATEWAY, "http 502", False),
        (FaultKind.SERVICE_UNAVAILABLE, "http 503", False),
        (FaultKind.GATEWAY_TIMEOUT, "http 504", False),
        (FaultKind.RESET_BEFORE_PROCESSING, "connection lost", False),
        (FaultKind.RESET_AFTER_PROCESSING, "connection lost", True),
        (FaultKind.TRUNCATED_BODY, "http 200", True),
        (FaultKind.MALFORMED_BODY, "http 200", True),
    ],
)
async def test_each_fault_kind(
    emu: Emulator,
    http: aiohttp.ClientSession,
    kind: FaultKind,
    outcome: str,
    processed: bool,
) -> None:
    # Limited to the start path, so checking the outcome draws no fault.
    emu.faults = FaultPlan(script=[kind], retry_after=3, paths=[START])
    got, detail = await raw_start(emu, http)
    assert got == outcome
    assert await active_sessions(emu, http) == (1 if processed else 0)
    assert emu.requests[0].fault is kind

    if got.startswith("http"):
        headers, raw = detail
        if kind is FaultKind.RATE_LIMITED:
            assert headers["Retry-After"] == "3"
        else:
            assert "Retry-After" not in headers
        if kind in (FaultKind.RATE_LIMITED, FaultKind.RATE_LIMITED_NO_RETRY_AFTER):
            assert json.loads(raw) == {
                "status": 429,
                "code": "429",
                "message": "Rate limit exceeded. Please try again later",
            }
        if kind in (FaultKind.SERVER_ERROR, FaultKind.SERVER_ERROR_AFTER_PROCESSING):
            assert json.loads(raw)["code"] == "500"
        if kind is FaultKind.REQUEST_TIMEOUT:
            assert json.loads(raw) == {"error": "Request Timeout", "code": "408"}
        if got in ("http 502", "http 503", "http 504"):
            assert headers["Content-Type"].startswith("text/html")
        if kind in (FaultKind.TRUNCATED_BODY, FaultKind.MALFORMED_BODY):
            assert headers["Content-Type"].startswith("application/json")
            assert int(headers["Content-Length"]) == len(raw)
            with pytest.raises(ValueError):  # noqa: PT011 - JSONDecodeError is a ValueError
                json.loads(raw)

    # The script is spent: the next request is served normally.
    got, _ = await raw_start(emu, http)
    assert got == "http 200"


async def test_videosdk_fault_bodies_use_its_error_shape(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults = FaultPlan(script=["rate_limited", "server_error", "request_timeout"])
    for status in (429, 500, 408):
        async with http.get(
            emu.url + "/ai/v1/ai-deployment-sessions",
            headers={"Authorization": emu.videosdk_token()},
        ) as response:
            assert response.status == status
            assert isinstance((await response.json())["message"], str)
            assert response.headers["x-request-id"]


async def test_a_stall_outlasts_the_client_timeout_and_not_the_shutdown(
    clock: ManualClock,
) -> None:
    emu = Emulator(clock=clock, faults=FaultPlan(script=["stall"], stall_seconds=60))
    await emu.start()
    async with aiohttp.ClientSession() as http:
        got, _ = await raw_start(emu, http, timeout=0.2)
        assert got == "timeout"
    # The stalled handler is still waiting; closing must cut it short.
    await asyncio.wait_for(emu.close(), 5)


async def test_latency_applies_to_every_request(clock: ManualClock) -> None:
    async with Emulator(clock=clock, latency=0.5) as emu, aiohttp.ClientSession() as http:
        got, _ = await raw_start(emu, http, timeout=0.1)
        assert got == "timeout"
        emu.latency = 0
        got, _ = await raw_start(emu, http)
        assert got == "http 200"
        with pytest.raises(ValueError, match="latency"):
            emu.latency = -1


async def test_faults_can_be_limited_to_paths_and_methods(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.faults = FaultPlan(rate=1.0, kinds=["server_error"], paths=["/v1/public/*"])
    got, _ = await raw_start(emu, http)
    assert got == "http 500"
    async with pipecat_caller(emu) as pipecat:
        status, _ = await pipecat.call("GET", "/v1/agents")
        assert status == 200

        emu.faults = FaultPlan(rate=1.0, kinds=["bad_gateway"], methods=["delete"])
        session_id = await pipecat.start()
        status, _ = await pipecat.call("GET", f"{AGENT}/sessions/{session_id}")
        assert status == 200
    async with http.delete(
        emu.url + f"{AGENT}/sessions/{session_id}",
        headers={"Authorization": f"Bearer {emu.pipecat_api_key}"},
    ) as response:
        assert response.status == 502
    emu.faults = None
    got, _ = await raw_start(emu, http)
    assert got == "http 200"


async def outcomes_for(plan: FaultPlan, count: int) -> list[tuple[str, FaultKind | None]]:
    """Outcomes of `count` starts on a fresh emulator; one new connection per request."""
    async with Emulator(clock=ManualClock(), faults=plan) as emu:
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            seen = [(await raw_start(emu, http))[0] for _ in range(count)]
        return list(zip(seen, [r.fault for r in emu.requests], strict=True))


async def test_same_seed_same_faults_different_seed_different_faults() -> None:
    kinds = [kind for kind in FaultKind if kind is not FaultKind.STALL]
    plan = FaultPlan(rate=0.5, seed=11, kinds=kinds)
    first = await outcomes_for(plan, 40)
    again = await outcomes_for(plan, 40)
    other = await outcomes_for(FaultPlan(rate=0.5, seed=12, kinds=kinds), 40)
    assert first == again
    assert first != other
    faulted = [fault for _, fault in first if fault is not None]
    assert 5 < len(faulted) < 35
    assert len(set(faulted)) > 3


async def test_assigning_a_plan_restarts_its_stream(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    plan = FaultPlan(rate=0.5, seed=1, kinds={"server_error": 1.0, "bad_gateway": 0.0})
    emu.faults = plan
    first = [(await raw_start(emu, http))[0] for _ in range(12)]
    emu.faults = plan
    again = [(await raw_start(emu, http))[0] for _ in range(12)]
    assert first == again
    assert set(first) == {"http 200", "http 500"}


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - attrs validators raise plain ValueError
        FaultPlan(rate=1.5)
    with pytest.raises(ValueError, match="weights"):
        FaultPlan(kinds={"stall": 0.0})
    with pytest.raises(ValueError):  # noqa: PT011
        FaultPlan(kinds=["no-such-kind"])
    plan = FaultPlan(methods=["post"], paths=["/v1/*"])
    assert plan.applies_to("POST", "/v1/public/x/start")
    assert not plan.applies_to("GET", "/v1/agents")
    assert not plan.applies_to("POST", "/ai/v1/ai-deployments")
