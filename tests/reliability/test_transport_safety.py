"""Transport safety: credentials stay with the configured origin, TLS is verified.

- A redirect that leaves the configured origin (scheme, host and port: a second loopback
  server on another port, the same server under another host name, a scheme-relative
  URL) is refused with a TransportError, and the other origin never receives a request,
  let alone an Authorization header. A same-origin redirect is still followed.
- TLS verification is on by default: an https loopback server with a self-signed
  certificate fails the call with a TransportError (not retried), while the same server
  answers a client that was handed a session trusting that certificate.
- A plain-http base_url is refused unless it is loopback or allow_insecure=True, through
  both clients, connect() and the CLI.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agentcloud import (
    AgentCloudError,
    InvalidRequestError,
    NotFoundError,
    PipecatCloud,
    RetryPolicy,
    StartOutcomeUnknownError,
    TransportError,
    VideoSDK,
    connect,
)
from agentcloud.cli import main

from .support import FakeTime, ScriptedServer

SID = "00000000-0000-4000-8000-000000000000"
KEY, SECRET = "vsk_transport_key_0123456789", "vsk_transport_secret_0123456789abcdef"


def policy() -> RetryPolicy:
    timer = FakeTime()
    return RetryPolicy(max_attempts=4, sleep=timer.sleep, clock=timer.clock)


def clients(base_url: str, **kwargs: Any) -> tuple[VideoSDK, PipecatCloud]:
    return (
        VideoSDK(KEY, SECRET, base_url=base_url, retry=policy(), **kwargs),
        PipecatCloud(
            "sk_transport_0123456789",
            "pk_transport_0123456789",
            agent="a",
            base_url=base_url,
            retry=policy(),
            **kwargs,
        ),
    )


def calls(vs: VideoSDK, pc: PipecatCloud) -> list[Callable[[], Awaitable[Any]]]:
    return [
        lambda: vs.sessions.get(SID),
        lambda: vs.sessions.start(deployment_id="d", tag="v1.0"),
        lambda: vs.sessions.end(SID),
        lambda: vs.sessions.list().collect(),
        lambda: pc.sessions.get(SID),
        lambda: pc.sessions.start(),
        lambda: pc.sessions.end(SID),
        lambda: pc.agents.list().collect(),
    ]


async def not_found(request: web.Request) -> web.StreamResponse:
    return web.json_response({"message": "not here"}, status=404)


@pytest.fixture
async def elsewhere() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer(not_found) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["other port", "other host name", "scheme-relative"])
async def test_a_redirect_off_the_origin_is_refused(
    elsewhere: ScriptedServer, status: int, target: str
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        location = {
            "other port": f"{elsewhere.url}{request.raw_path}",
            "other host name": f"http://localhost:{request.url.port}{request.raw_path}",
            "scheme-relative": f"//127.0.0.1:{elsewhere.port}{request.raw_path}",
        }[target]
        return web.Response(status=status, headers={"Location": location})

    async with ScriptedServer(redirect) as origin:
        vs, pc = clients(origin.url)
        async with vs, pc:
            for number, make in enumerate(calls(vs, pc)):
                origin.seen.clear()
                with pytest.raises(AgentCloudError) as caught:
                    await make()
                error: BaseException = caught.value
                if isinstance(error, StartOutcomeUnknownError):
                    # Only a 303 says the start was carried out before the redirect.
                    assert status == 303, f"call {number}: {error!r}"
                    assert error.__cause__ is not None
                    error = error.__cause__
                assert isinstance(error, TransportError), f"call {number}: {error!r}"
                assert "redirect to another host" in str(error)
                requests = [(method, path) for method, path, _ in origin.seen]
                assert len(requests) == len(set(requests)), "a refused redirect was retried"
                assert all(headers.get("Authorization") for _, _, headers in origin.seen)
    assert elsewhere.seen == [], "the other origin received a request"


async def test_a_303_is_followed_with_a_get_never_a_second_post() -> None:
    async def respond(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=303, headers={"Location": "/result"})
        return web.json_response({"message": "ok", "data": {"sessionId": "s1"}})

    async with ScriptedServer(respond) as origin:
        vs, _ = clients(origin.url)
        async with vs:
            session = await vs.sessions.start(deployment_id="d", tag="v1.0")
        assert session.id == "s1"
        assert [(method, path) for method, path, _ in origin.seen] == [
            ("POST", "/ai/v1/ai-deployment-sessions/start"),
            ("GET", "/result"),
        ]


async def test_a_same_origin_redirect_is_followed_with_credentials() -> None:
    async def respond(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/moved"):
            return web.json_response({"message": "not here"}, status=404)
        return web.Response(status=307, headers={"Location": f"/moved{request.raw_path}"})

    async with ScriptedServer(respond) as origin:
        vs, pc = clients(origin.url)
        async with vs, pc:
            with pytest.raises(NotFoundError):
                await vs.sessions.get(SID)
            with pytest.raises(NotFoundError):
                await pc.sessions.get(SID)
        moved = [headers for _, path, headers in origin.seen if path.startswith("/moved")]
        assert len(moved) == 2
        assert all(headers.get("Authorization") for headers in moved)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_is_verified_by_default(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handshakes_seen: list[str] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        handshakes_seen.append(request.path)
        return web.json_response({"message": "not here"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        base_url = f"https://127.0.0.1:{runner.addresses[0][1]}"
        vs, pc = clients(base_url)
        async with vs, pc:
            for client in (vs, pc):
                connector = client._transport._http().connector
                assert isinstance(connector, aiohttp.TCPConnector)
                assert connector._ssl is not False, "TLS verification is switched off"
            for make in calls(vs, pc):
                with pytest.raises(TransportError, match="TLS certificate"):
                    await make()
        assert handshakes_seen == [], "a request got through an unverified TLS connection"
        # Control: the server is fine; a session that trusts its certificate gets answers.
        trusting = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as http:
            vs, _ = clients(base_url, http=http)
            async with vs:
                with pytest.raises(NotFoundError):
                    await vs.sessions.get(SID)
        assert handshakes_seen == [f"/ai/v1/ai-deployment-sessions/{SID}"]
    finally:
        await runner.cleanup()


INSECURE = [
    "http://api.videosdk.live",
    "http://example.com:8080",
    "http://10.0.0.1",
    "http://192.168.1.10:80",
    "http://0.0.0.0:8787",
    "http://127.0.0.1.nip.io",
    "http://localhost.evil.example",
    "http://127.1",
    "http://0x7f000001",
    "http://[::ffff:10.0.0.1]",
    "http://evil.example#@127.0.0.1",
    "http://127.0.0.1@evil.example",
]
LOOPBACK = ["http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:9", "http://127.0.0.2"]


@pytest.mark.parametrize("url", INSECURE)
async def test_plain_http_is_refused_off_loopback(url: str) -> None:
    builders: list[Callable[..., Any]] = [
        lambda **kw: VideoSDK(KEY, SECRET, base_url=url, **kw),
        lambda **kw: PipecatCloud("sk_transport_0123456789", base_url=url, **kw),
        lambda **kw: connect("videosdk", api_key=KEY, secret=SECRET, base_url=url, **kw),
        lambda **kw: connect("pipecat", api_key="sk_transport_0123456789", base_url=url, **kw),
    ]
    for build in builders:
        with pytest.raises(InvalidRequestError) as caught:
            build()
        assert caught.value.argument == "base_url"
    for build in builders:
        if "@" in url or "#" in url:  # credentials or a fragment stay refused regardless
            with pytest.raises(InvalidRequestError):
                build(allow_insecure=True)
            continue
        client = build(allow_insecure=True)
        assert client.base_url.startswith("http://")
        await client.aclose()


@pytest.mark.parametrize("url", LOOPBACK)
async def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    async with VideoSDK(KEY, SECRET, base_url=url) as vs:
        assert vs.base_url == url


@pytest.mark.parametrize("url", INSECURE[:6])
def test_the_cli_refuses_plain_http_off_loopback(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEOSDK_API_KEY", KEY)
    monkeypatch.setenv("VIDEOSDK_SECRET_KEY", SECRET)
    code = main(["sessions", "get", SID, "--provider", "videosdk", "--base-url", url])
    _, err = capsys.readouterr()
    assert code == 3, err
    assert "base_url" in err


@pytest.mark.parametrize("ahead", [0.0, 30.0, 55.0])
async def test_a_local_clock_somewhat_ahead_still_makes_accepted_tokens(ahead: float) -> None:
    """VideoSDK refuses a token issued in its future; a host clock 30 s fast must not
    turn every call into a 401."""
    import time

    from agentcloud.testing import Emulator

    async with Emulator() as emu:
        vs = VideoSDK(
            emu.videosdk_api_key,
            emu.videosdk_secret,
            base_url=emu.url,
            now=lambda: time.time() + ahead,
        )
        async with vs:
            assert await vs.deployments.get(emu.videosdk_deployment_id, "v1.0")
