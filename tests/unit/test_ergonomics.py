"""What a user of a well-made SDK expects: deadlines that say which bound ran out, errors
that explain themselves, models as data, unknown-is-not-empty, HTTP manners, one client per
loop, and a start handle that warns when it is forgotten."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import platform
import time
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import agentcloud
from agentcloud import (
    InvalidRequestError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SessionStatus,
    VideoSDK,
    to_jsonable,
)
from agentcloud.providers.videosdk import START_MARKER, VideoSDKSession
from agentcloud.testing import Emulator, FaultKind, FaultPlan, fake_time
from tests.helpers import API_KEY, SECRET


class StalledServer:
    """Accepts connections and reads requests, and never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.closed = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                while await reader.read(1024):
                    pass
            finally:
                self.closed += 1
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_a_per_call_timeout_bounds_the_whole_call_and_says_so() -> None:
    async with StalledServer() as url, VideoSDK(API_KEY, SECRET, base_url=url) as vs:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as caught:
            await vs.sessions.get("s1", timeout=0.3)
        elapsed = time.monotonic() - started
    assert "the call's 0.3s" in str(caught.value)
    assert caught.value.attempts == 1
    assert elapsed < 5.0  # the client's own 30 s per attempt did not apply


async def test_a_per_attempt_timeout_says_how_many_attempts_it_took() -> None:
    server = StalledServer()
    policy = RetryPolicy(backoff_base=0.0, deadline=60.0)
    async with (
        server as url,
        VideoSDK(API_KEY, SECRET, base_url=url, timeout=0.1, retry=policy) as vs,
    ):
        with pytest.raises(RequestTimeoutError) as caught:
            await vs.sessions.get("s1")
    assert "one attempt's 0.1s" in str(caught.value)
    assert "after 4 attempts" in str(caught.value)
    assert caught.value.attempts == 4
    assert server.connections == 4  # each stalled request was cut, not left hanging


async def test_every_error_a_call_raises_counts_its_attempts() -> None:
    plan = FaultPlan(rate=1.0, kinds=[FaultKind.SERVICE_UNAVAILABLE])
    with fake_time():
        async with Emulator(faults=plan) as emu, emu.videosdk() as vs:
            with pytest.raises(ServerError) as caught:
                await vs.sessions.get("s1")
            with pytest.raises(InvalidRequestError) as refused:
                await vs.sessions.get("../x")
    assert caught.value.attempts == 4
    assert refused.value.attempts is None  # refused before anything was sent


async def test_a_spent_budget_says_so_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    plan = FaultPlan(rate=1.0, kinds=[FaultKind.SERVICE_UNAVAILABLE])
    policy = RetryPolicy(budget=2.0, budget_refill=0.0)
    with fake_time():
        async with Emulator(faults=plan) as emu, emu.videosdk(retry=policy) as vs:
            with caplog.at_level(logging.WARNING, logger="agentcloud"):
                errors = []
                for _ in range(3):
                    with pytest.raises(ServerError) as caught:
                        await vs.sessions.get("s1")
                    errors.append(caught.value)
    # The first call spent both tokens on its retries; the next ones could not retry.
    assert errors[0].attempts == 3
    assert "budget" in str(errors[0])
    assert [e.attempts for e in errors[1:]] == [1, 1]
    assert all("retry budget is spent" in str(e) for e in errors[1:])
    warned = [r for r in caplog.records if "retry budget" in r.getMessage()]
    assert len(warned) == 1  # at most once a minute per client


async def test_retries_are_logged_at_info_and_debug_lines_carry_query_and_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plan = FaultPlan(
        script=[FaultKind.SERVICE_UNAVAILABLE], paths=("/ai/v1/ai-deployment-sessions",)
    )
    with fake_time():
        async with Emulator(faults=plan) as emu, emu.videosdk() as vs:
            with caplog.at_level(logging.DEBUG, logger="agentcloud"):
                await vs.sessions.list(per_page=7, max_items=3).collect()
            secrets = [emu.videosdk_api_key, emu.videosdk_secret]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(
        "sessions.list: attempt 1 failed (ServerError" in line and "retrying in" in line
        for line in info
    ), info
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("page=1&perPage=7" in line for line in debug), debug
    assert any(" ms)" in line and "-> 200" in line for line in debug), debug
    assert any("-> 503" in line for line in debug), debug
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(secret in text for secret in secrets)
    assert "eyJ" not in text


# ---- models as data ---------------------------------------------------------------------


def test_statuses_and_event_types_are_str_enums() -> None:
    assert SessionStatus.RUNNING == "running"
    assert agentcloud.SessionEventType.STARTED == "started"
    assert f"{SessionStatus.ENDED}" == "ended"
    assert SessionStatus.parse("RUNNING") is SessionStatus.RUNNING
    assert SessionStatus.FAILED.is_terminal
    assert not SessionStatus.QUEUED.is_terminal


def test_models_are_data() -> None:
    when = datetime(2025, 6, 18, 11, 15, 7, 275000, tzinfo=UTC)
    one = VideoSDKSession(
        id="s1",
        status=SessionStatus.RUNNING,
        raw_status="running",
        created_at=when,
        metadata={"user": "42"},
        raw={"sessionId": "s1", "x": 1},
    )
    same = VideoSDKSession(
        id="s1",
        status=SessionStatus.RUNNING,
        raw_status="running",
        created_at=when,
        metadata={"user": "42"},
    )
    assert one == same  # raw is not part of equality
    assert {one, same} == {one}  # hashable, although metadata is a dict
    as_dict = one.to_dict()
    assert as_dict["created_at"] == "2025-06-18T11:15:07.275000Z"
    assert as_dict["status"] == "running"
    assert "raw" not in as_dict
    assert one.to_dict(raw=True)["raw"] == {"sessionId": "s1", "x": 1}
    assert json.loads(one.to_json()) == as_dict
    assert to_jsonable([one, same]) == [as_dict, as_dict]
    text = repr(one)
    assert "\n" not in text
    assert len(text) < 160
    assert "id='s1'" in text
    assert "status=running" in text
    assert "2025-06-18T11:15:07.275000Z" in text
    assert "metadata" not in text  # dicts stay out of the one-line repr


def test_a_models_repr_redacts_a_credential_a_vendor_echoed() -> None:
    client = VideoSDK(API_KEY, SECRET)
    echoed = VideoSDKSession(id=SECRET, raw_status=f"bearer {API_KEY}")
    assert SECRET not in repr(echoed)
    assert API_KEY not in repr(echoed)
    del client


async def test_a_started_session_carries_its_metadata_and_unknown_is_none() -> None:
    async with Emulator() as emu, emu.videosdk() as vs:
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", metadata={"user": "42"}
        )
        fetched = await vs.sessions.get(started.id)
        plain = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", reconcile=False
        )
        unmarked = emu.requests[-1].body
    assert started.metadata is not None
    assert started.metadata["user"] == "42"
    assert START_MARKER in started.metadata
    assert fetched.metadata is None  # VideoSDK's details answer does not carry it
    assert plain.metadata == {}
    assert "metaData" not in unmarked  # reconcile=False sends no marker


# ---- HTTP manners -----------------------------------------------------------------------


async def test_every_request_says_who_sent_it_and_carries_the_default_headers() -> None:
    async with Emulator() as emu, emu.videosdk(default_headers={"X-Team": "voice"}) as vs:
        await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
        headers = emu.requests[-1].headers
    agent = headers["User-Agent"]
    assert agent.startswith(f"agentcloud/{agentcloud.__version__} aiohttp/{aiohttp.__version__}")
    assert agent.endswith(f"Python/{platform.python_version()}")
    assert headers["X-Team"] == "voice"
    assert headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("name", ["Authorization", "authorization", "Host", "Content-Length"])
def test_default_headers_cannot_set_what_the_sdk_sets(name: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        VideoSDK(API_KEY, SECRET, default_headers={name: "x"})
    assert caught.value.argument == "default_headers"


def test_default_headers_refuse_line_breaks() -> None:
    with pytest.raises(InvalidRequestError):
        VideoSDK(API_KEY, SECRET, default_headers={"X-A": "1\r\nX-B: 2"})


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A forward proxy that answers every request itself, recording its request line."""
    lines: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0].decode())
        body = json.dumps({"id": "d1", "name": "via-proxy"}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", lines
    server.close()
    await server.wait_closed()


async def test_the_clients_own_session_honours_the_proxy_environment(
    proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_url, lines = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = "http://api.vendor.example:8080"
    async with VideoSDK(API_KEY, SECRET, base_url=target, allow_insecure=True) as vs:
        deployment = await vs.deployments.get("d1", "v1.0")
    assert deployment.name == "via-proxy"
    assert lines == [f"GET {target}/ai/v1/ai-deployments/d1/v1.0 HTTP/1.1"]


async def test_no_proxy_exempts_the_vendor_host(
    proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_url, lines = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with Emulator() as emu, emu.videosdk() as vs:
        deployment = await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
        await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
    assert deployment.id == emu.videosdk_deployment_id
    assert lines == []  # straight to the emulator, both times


async def test_a_netrc_entry_for_the_vendor_host_does_not_break_calls(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp's trust_env turns a netrc entry into Basic auth, which it refuses to combine
    # with the SDK's own Authorization header (a bare ValueError on every call).
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with Emulator() as emu, emu.videosdk() as vs:
        deployment = await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
        sent = emu.requests[-1].headers["Authorization"]
    assert deployment.id == emu.videosdk_deployment_id
    assert not sent.startswith("Basic ")


# ---- one client, one loop ------------------------------------------------------------------


def test_a_client_used_on_a_second_loop_says_what_to_do() -> None:
    from tests.helpers import ThreadedEmulator

    with ThreadedEmulator() as served, warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        clients = [served.emu.videosdk()]
        deployment_id = served.emu.videosdk_deployment_id

        async def fetch() -> Any:
            return await clients[0].deployments.get(deployment_id, "v1.0")

        assert asyncio.run(fetch()).id == deployment_id
        with pytest.raises(InvalidRequestError) as caught:
            asyncio.run(fetch())
        clients.clear()
        gc.collect()  # the first loop's pooled session was closed with that loop
    assert caught.value.argument == "client"
    assert "agentcloud.sync" in str(caught.value)


def test_a_client_whose_loop_runs_in_another_thread_refuses_this_one() -> None:
    # The transport knows its own loop without asking asyncio when this thread runs a task
    # of it; here the client's loop is busy in another thread (a task of it in progress),
    # and a call from this thread's loop must still be refused, not sent on that loop.
    import threading

    from tests.helpers import ThreadedEmulator

    with ThreadedEmulator() as served:
        client = served.emu.videosdk()
        deployment_id = served.emu.videosdk_deployment_id
        busy, release, done = threading.Event(), threading.Event(), threading.Event()
        outcome: list[Any] = []

        async def fetch() -> Any:
            return await client.deployments.get(deployment_id, "v1.0")

        async def first_loop() -> None:
            outcome.append(await fetch())
            busy.set()  # this loop now runs a task of its own, in its own thread
            await asyncio.to_thread(release.wait, 10)
            await client.aclose()

        worker = threading.Thread(target=lambda: (asyncio.run(first_loop()), done.set()))
        worker.start()
        try:
            assert busy.wait(10)
            with pytest.raises(InvalidRequestError) as caught:
                asyncio.run(fetch())
        finally:
            release.set()
            worker.join(10)
        assert done.is_set()
    assert outcome[0].id == deployment_id
    assert caught.value.argument == "client"


def _forget_a_start(vs: VideoSDK, deployment_id: str) -> None:
    vs.sessions.start(deployment_id=deployment_id, tag="v1.0")
    gc.collect()


async def test_a_start_handle_that_is_never_used_warns() -> None:
    async with Emulator() as emu, emu.videosdk() as vs:
        with pytest.warns(RuntimeWarning, match="never awaited"):
            _forget_a_start(vs, emu.videosdk_deployment_id)
        assert not [r for r in emu.requests if r.path.endswith("/start")]


# ---- discoverable surface ------------------------------------------------------------------


def test_a_clients_public_attributes_are_its_resources() -> None:
    vs = VideoSDK(API_KEY, SECRET)
    public = {name for name in vars(vs) if not name.startswith("_")}
    assert public == {"base_url", "sessions", "deployments", "runtime", "rooms"}
    for gone in ("authorization", "send", "pager", "held", "retry", "end_on_close"):
        assert not hasattr(vs, gone), gone
    assert "sessions" in (VideoSDK.__doc__ or "")
    assert "deployments" in (VideoSDK.__doc__ or "")


def test_connect_is_typed_per_provider(tmp_path: Any) -> None:
    from mypy import api

    sample = tmp_path / "sample.py"
    sample.write_text(
        "import agentcloud\n"
        "reveal_type(agentcloud.connect('videosdk'))\n"
        "reveal_type(agentcloud.connect('pipecat'))\n"
    )
    out, _, _ = api.run(["--strict", "--no-incremental", str(sample)])
    assert 'Revealed type is "agentcloud.providers.videosdk._client.VideoSDK"' in out
    assert 'Revealed type is "agentcloud.providers.pipecat.PipecatCloud"' in out


def test_the_package_is_published_with_its_license_and_links() -> None:
    from importlib.metadata import metadata

    meta = metadata("agentcloud")
    assert meta["License-Expression"] == "MIT"
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Changelog", "Source", "Issues"} <= set(urls)
    classifiers = meta.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert meta.get_all("Keywords")


async def test_an_aiohttp_app_can_share_one_client() -> None:
    """A service's handlers share one client created on its loop (the recommended shape)."""
    client_key = web.AppKey("vs", VideoSDK)
    async with Emulator() as emu:
        app = web.Application()

        async def on_startup(app: web.Application) -> None:
            app[client_key] = emu.videosdk()

        async def on_cleanup(app: web.Application) -> None:
            await app[client_key].aclose()

        async def handler(request: web.Request) -> web.Response:
            deployment = await request.app[client_key].deployments.get(
                emu.videosdk_deployment_id, "v1.0"
            )
            return web.json_response(deployment.to_dict())

        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
        app.router.add_get("/d", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                answers = await asyncio.gather(
                    *[http.get(f"http://127.0.0.1:{port}/d") for _ in range(5)]
                )
                bodies = [await answer.json() for answer in answers]
        finally:
            await runner.cleanup()
    assert {body["id"] for body in bodies} == {emu.videosdk_deployment_id}
