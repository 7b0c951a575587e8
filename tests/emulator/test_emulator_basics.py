"""The emulator as an object: startup, credentials, request log, seeding, serve, plugin."""

from __future__ import annotations

import re
import subprocess
import sys

import aiohttp
import pytest
from yarl import URL

from agentcloud.testing import (
    Emulator,
    FaultPlan,
    ManualClock,
    RecordedRequest,
    serve,
)
from tests.emulator.helpers import pipecat_caller, videosdk_caller

SESSIONS = "/ai/v1/ai-deployment-sessions"
PUBLIC_KEY = "/v2/public/rsa-public-key"


async def test_url_credentials_and_seeded_world() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.url
    await emu.start()
    await emu.start()  # idempotent
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.url)
        assert emu.pipecat_api_key.startswith("sk_")
        assert emu.pipecat_public_key.startswith("pk_")
        assert emu.videosdk_api_key
        assert emu.videosdk_secret
        assert emu.videosdk_deployment(emu.videosdk_deployment_id).tags == ["v1.0"]
        assert emu.pipecat_agent("my-agent").ready
    finally:
        await emu.close()
        await emu.close()  # idempotent


async def test_given_credentials_are_used() -> None:
    async with Emulator(
        videosdk_api_key="vk",
        videosdk_secret="s" * 40,
        pipecat_api_key="sk_given",
        pipecat_public_key="pk_given",
    ) as emu:
        assert (emu.videosdk_api_key, emu.pipecat_api_key, emu.pipecat_public_key) == (
            "vk",
            "sk_given",
            "pk_given",
        )
        async with pipecat_caller(emu) as pipecat:
            status, _ = await pipecat.call(
                "GET", "/v1/agents", authorization="Bearer sk_given", key="none"
            )
            assert status == 200


async def test_every_request_is_recorded_with_credentials_redacted(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    token = emu.videosdk_token()
    async with http.get(
        emu.url + SESSIONS,
        params={"page": "2", "perPage": "5"},
        headers={"Authorization": token, "X-Echo": f"key={emu.pipecat_api_key}"},
    ):
        pass
    async with http.post(
        emu.url + "/v1/public/my-agent/start",
        data=b"not json",
        headers={"Authorization": f"Bearer {emu.pipecat_public_key}"},
    ):
        pass
    get, post = emu.requests
    assert isinstance(get, RecordedRequest)
    assert (get.method, get.path, dict(get.query)) == (
        "GET",
        SESSIONS,
        {"page": "2", "perPage": "5"},
    )
    assert get.headers["Authorization"] == "[REDACTED]"
    assert get.headers["X-Echo"] == "[REDACTED]"
    assert get.body is None
    assert get.fault is None
    assert get.request_id
    assert get.received_at == 1_750_248_000.0
    assert (post.method, post.body) == ("POST", "not json")
    for recorded in emu.requests:
        text = repr(recorded)
        for secret in (token, emu.pipecat_api_key, emu.pipecat_public_key):
            assert secret not in text
    emu.clear_requests()
    assert emu.requests == []


async def test_the_request_log_keeps_the_newest_and_counts_the_dropped(
    clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    async with Emulator(clock=clock, max_recorded_requests=3) as emu:
        for number in range(5):
            async with http.get(emu.url + PUBLIC_KEY, params={"n": str(number)}):
                pass
        log = emu.requests
        assert (len(log), log.dropped) == (3, 2)
        assert [r.query["n"] for r in log] == ["2", "3", "4"]
        assert (log[0].query["n"], log[-1].query["n"]) == ("2", "4")
        assert [r.query["n"] for r in log[1:]] == ["3", "4"]
        assert [r.query["n"] for r in log[::-1]] == ["4", "3", "2"]
        assert log == list(log)
        assert log != list(log)[:2]
        emu.clear_requests()
        assert (emu.requests, emu.requests.dropped) == ([], 0)
    assert Emulator().requests.limit == 10_000
    with pytest.raises(ValueError, match="limit"):
        Emulator(max_recorded_requests=-1)


async def test_the_raw_path_keeps_its_percent_encoding(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    url = URL(emu.url + SESSIONS + "/a%2Fb%20c?page=1", encoded=True)
    async with http.get(url, headers={"Authorization": emu.videosdk_token()}):
        pass
    [recorded] = emu.requests
    assert recorded.raw_path == SESSIONS + "/a%2Fb%20c"
    assert recorded.path == SESSIONS + "/a/b c"
    assert dict(recorded.query) == {"page": "1"}


async def test_faults_are_recorded(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.faults = FaultPlan(script=["server_error"])
    async with http.get(emu.url + "/v1/agents"):
        pass
    assert emu.faults is not None
    assert [r.fault for r in emu.requests] == ["server_error"]


async def test_seeding_is_deterministic_and_newest_first() -> None:
    async def seeded(seed: int) -> tuple[list[str], list[str], list[str]]:
        async with Emulator(clock=ManualClock()) as emu, videosdk_caller(emu) as vs:
            ids = emu.seed_sessions("videosdk", 12, seed=seed)
            _, listing = await vs.call("GET", SESSIONS, params={"perPage": "100"})
            starts = [item["start"] for item in listing["data"]]
            return ids, [item["sessionId"] for item in listing["data"]], starts

    ids, listed, starts = await seeded(9)
    assert listed == ids
    assert starts == sorted(starts, reverse=True)
    assert (await seeded(9))[0] == ids
    assert (await seeded(10))[0] != ids


async def test_seeding_both_providers_and_running_sessions(emu: Emulator) -> None:
    videosdk_ids = emu.seed_sessions("videosdk", 5, seed=1, running=2)
    pipecat_ids = emu.seed_sessions("pipecat", 5, seed=1, running=1)
    assert not set(videosdk_ids) & set(pipecat_ids)
    assert [emu.session_phase("videosdk", i).value for i in videosdk_ids[:2]] == [
        "running",
        "running",
    ]
    assert all(emu.session_phase("videosdk", i).is_terminal for i in videosdk_ids[2:])
    assert emu.session_phase("pipecat", pipecat_ids[0]).value == "running"
    with pytest.raises(ValueError, match="already exist"):
        emu.seed_sessions("videosdk", 1, seed=1)


async def test_serve_returns_a_running_seeded_emulator() -> None:
    emu = await serve(port=0, sessions=7, seed=3, fault_rate=0.25, latency=0.0)
    try:
        assert emu.faults is not None
        assert emu.faults.rate == 0.25
        emu.faults = None
        async with videosdk_caller(emu) as vs:
            _, listing = await vs.call("GET", SESSIONS)
            assert listing["pageInfo"]["totalItems"] == 7
        async with pipecat_caller(emu) as pipecat:
            _, sessions = await pipecat.call("GET", "/v1/agents/my-agent/sessions")
            assert sessions["total_count"] == 7
    finally:
        await emu.close()


async def test_the_plugin_fixture_yields_a_started_emulator(
    agentcloud_emulator: Emulator,
) -> None:
    async with pipecat_caller(agentcloud_emulator) as pipecat:
        status, body = await pipecat.call("GET", "/v1/agents/my-agent")
        assert status == 200
        assert body["name"] == "my-agent"


def test_loading_the_plugin_imports_no_emulator() -> None:
    # A fresh interpreter: this one has long imported the emulator.
    probe = (
        "import sys, agentcloud.testing.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith(HEAVY)))"
    )
    heavy = ("agentcloud.testing._", "aiohttp.web", "jwt", "cryptography")
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {heavy!r}\n{probe}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_the_plugin_falls_back_without_pytest_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentcloud.testing import pytest_plugin

    monkeypatch.setitem(sys.modules, "pytest_asyncio", None)  # makes the import fail
    assert pytest_plugin._async_fixture() is pytest.fixture


async def test_webhook_deliveries_are_bounded_like_the_request_log() -> None:
    async with Emulator(max_recorded_requests=3) as emulator:
        log = emulator.webhook_deliveries
        assert log.limit == 3
        for number in range(5):
            log.append(f"delivery-{number}")  # type: ignore[arg-type]
        assert list(log) == ["delivery-2", "delivery-3", "delivery-4"]
        assert log.dropped == 2
