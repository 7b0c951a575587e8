"""Secrets never leak: not into logs, exception text, reprs, or the CLI's output.

With DEBUG logging captured from every logger, both clients walk every success path and
every error path (4xx, 429 with retries, 5xx, resets, timeouts, broken bodies, ambiguous
starts, refused input, refused connections and redirects), and a hostile vendor echoes
the Authorization header back in every kind of answer. No log record (message or
traceback), no exception's str or repr (causes and contexts included), no repr of a
client, session or policy, and nothing the CLI prints with ``-v`` contains the VideoSDK
API key or secret, the JWT minted from them, or either Pipecat key; nor anything shaped
like a JWT, but for the Daily meeting token a Pipecat start hands back on purpose.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

import agentcloud.sync
from agentcloud import (
    AgentCloudError,
    PipecatCloud,
    RetryPolicy,
    VideoSDK,
)
from agentcloud.cli import main
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle, ManualClock

from .support import (
    FakeTime,
    ScriptedServer,
    fast_cli_retries,
)

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
FAST = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)
SID = "00000000-0000-4000-8000-000000000000"
#: Short: every stall of the emulator costs this much real time, and there are dozens.
TIMEOUT = 0.06


class Exposure:
    """Everything a user, a log shipper or a crash reporter could see."""

    def __init__(self, secrets: list[str], allowed_jwts: set[str] | None = None) -> None:
        # A JWT cut in half still gives its payload (the API key, base64) away: so the
        # start of every JWT's payload counts as a secret too.
        fragments = [s.split(".")[1][:24] for s in secrets if s and JWT.fullmatch(s)]
        self.secrets = [s for s in [*secrets, *fragments] if s]
        self.allowed_jwts = allowed_jwts if allowed_jwts is not None else set()
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def error(self, where: str, error: BaseException) -> None:
        """The error's text and repr, and those of the chain a traceback would print."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.add(where, f"{current}\n{current!r}")
            if current.__cause__ is not None:
                current = current.__cause__
            else:
                current = None if current.__suppress_context__ else current.__context__

    def records(self, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in records:
            self.add(f"log {record.name}", formatter.format(record))

    def check(self) -> None:
        assert self.texts, "nothing was exposed to check"
        for where, text in self.texts:
            for secret in self.secrets:
                assert secret not in text, f"{where} leaks a secret: {text[:300]}"
            for token in JWT.findall(text):
                assert token in self.allowed_jwts, f"{where} leaks a JWT: {text[:300]}"


async def expose(exposure: Exposure, where: str, make: Callable[[], Awaitable[Any]]) -> Any:
    try:
        result = await make()
    except AgentCloudError as error:
        exposure.error(where, error)
        return None
    exposure.add(where, repr(result))
    return result


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(clock=ManualClock(), seed=51, lifecycle=FAST) as emulator:
        emulator.seed_sessions("videosdk", 5, seed=1, running=2)
        emulator.seed_sessions("pipecat", 5, seed=1, running=2)
        yield emulator


def policy() -> RetryPolicy:
    timer = FakeTime()
    return RetryPolicy(
        max_attempts=3, sleep=timer.sleep, clock=timer.clock, deadline=5.0, random=lambda: 0.5
    )


def every_call(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, running: dict[str, str]
) -> Iterator[tuple[str, Callable[[], Awaitable[Any]]]]:
    dep = emu.videosdk_deployment_id
    yield "vs.start", lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", env={"A": "1"})
    yield "vs.start unknown deployment", lambda: vs.sessions.start(deployment_id=SID, tag="x")
    yield "vs.get", lambda: vs.sessions.get(running["videosdk"])
    yield "vs.get missing", lambda: vs.sessions.get(SID)
    yield "vs.list", lambda: vs.sessions.list(per_page=2, concurrency=2).collect()
    yield "vs.wait", lambda: vs.sessions.wait(running["videosdk"], until="running", timeout=2)
    yield "vs.wait timeout", lambda: vs.sessions.wait(running["videosdk"], until="ended", timeout=1)
    yield "vs.end", lambda: vs.sessions.end(running["videosdk"])
    yield "vs.end missing", lambda: vs.sessions.end(SID)
    yield "vs.deployments.get", lambda: vs.deployments.get(dep, "v1.0")
    yield "vs.deployments.list", lambda: vs.deployments.list().collect()
    yield "vs.deployments.create", lambda: vs.deployments.create(name="n")
    yield "vs.webhook key", lambda: vs.webhook_public_key()
    yield "pc.start", lambda: pc.sessions.start(create_daily_room=True, body={"u": 1})
    yield "pc.start ws", lambda: pc.sessions.start(transport="websocket", body={"u": 1})
    yield "pc.start missing agent", lambda: pc.sessions.start(agent="nobody")
    yield "pc.get", lambda: pc.sessions.get(running["pipecat"])
    yield "pc.get missing", lambda: pc.sessions.get(SID)
    yield "pc.list", lambda: pc.sessions.list(per_page=2, concurrency=2).collect()
    yield "pc.wait", lambda: pc.sessions.wait(running["pipecat"], until="running", timeout=2)
    yield "pc.end", lambda: pc.sessions.end(running["pipecat"])
    yield "pc.end bad id", lambda: pc.sessions.end("not-a-uuid")
    yield "pc.agents.get", lambda: pc.agents.get("my-agent")
    yield "pc.agents.list", lambda: pc.agents.list().collect()


async def run_everything(emu: Emulator, vs: VideoSDK, pc: PipecatCloud, exposure: Exposure) -> None:
    exposure.add("repr", f"{vs!r} {pc!r} {vs._retry!r} {vs.sessions.list()!r}")
    running = {
        "videosdk": next(s.id for s in await vs.sessions.list().collect()),
        "pipecat": next(s.id for s in await pc.sessions.list(status="active").collect()),
    }
    fault_runs: list[FaultPlan | None] = [None]
    fault_runs += [FaultPlan(script=[kind] * 3, stall_seconds=TIMEOUT * 1.5) for kind in FaultKind]
    fault_runs.append(FaultPlan(rate=0.5, seed=3, stall_seconds=TIMEOUT * 1.5))
    for plan in fault_runs:
        for name, make in every_call(emu, vs, pc, running):
            emu.faults = plan
            result = await expose(exposure, f"{name} under {plan}", make)
            connection = getattr(result, "connection", None)
            if connection is not None and connection.daily_token:
                exposure.allowed_jwts.add(connection.daily_token)
    emu.faults = None
    # Input refused before sending echoes what was passed, which is never a credential.
    for name, make in (
        ("vs.get bad id", lambda: vs.sessions.get("../x")),
        ("pc.start bad body", lambda: pc.sessions.start(body={1, 2})),
    ):
        try:
            await make()
        except (AgentCloudError, ValueError) as error:
            exposure.error(name, error)


async def test_no_secret_in_logs_errors_or_reprs(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        emu.videosdk(retry=policy(), timeout=TIMEOUT) as vs,
        emu.pipecat(retry=policy(), timeout=TIMEOUT) as pc,
    ):
        exposure = Exposure(
            [
                emu.videosdk_api_key,
                emu.videosdk_secret,
                vs._authorization(None)(),
                emu.pipecat_api_key,
                emu.pipecat_public_key,
            ]
        )
        await run_everything(emu, vs, pc, exposure)
    exposure.records(caplog.records)
    assert any(r.levelno == logging.DEBUG and r.name == "agentcloud" for r in caplog.records)
    exposure.check()


async def test_wrong_credentials_do_not_leak_either(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = {
        "api_key": "vsk_wrong_api_key_0123456789",
        "secret": "vsk_wrong_secret_0123456789abcdef",
        "sk": "sk_wrong_private_key_0123456789",
        "pk": "pk_wrong_public_key_0123456789",
    }
    vs = VideoSDK(wrong["api_key"], wrong["secret"], base_url=emu.url, retry=policy())
    pc = PipecatCloud(wrong["sk"], wrong["pk"], agent="my-agent", base_url=emu.url, retry=policy())
    token_client = VideoSDK(
        token="eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl", base_url=emu.url, retry=policy()
    )
    exposure = Exposure(
        [*wrong.values(), vs._authorization(None)(), token_client._authorization(None)()]
    )
    async with vs, pc, token_client:
        for name, make in (
            ("vs.get", lambda: vs.sessions.get(SID)),
            ("vs.start", lambda: vs.sessions.start(deployment_id="d", tag="v1.0")),
            ("token.get", lambda: token_client.sessions.get(SID)),
            ("pc.list", lambda: pc.sessions.list().collect()),
            ("pc.start", lambda: pc.sessions.start()),
        ):
            await expose(exposure, name, make)
        exposure.add("repr", f"{vs!r} {pc!r} {token_client!r}")
    exposure.records(caplog.records)
    exposure.check()


class Echo:
    """A vendor that repeats our Authorization header back in the answer's ``shape``."""

    def __init__(self) -> None:
        self.shape = "json error"

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "")
        if self.shape == "json error":
            return web.json_response({"message": f"bad token {token}", "error": token}, status=401)
        if self.shape == "code":
            return web.json_response({"message": "no", "code": token}, status=400)
        if self.shape.startswith("html error"):
            # "padded": the token straddles the point where an error message is cut short.
            pad = "x " * 135 if self.shape.endswith("padded") else ""
            return web.Response(
                text=f"<html>{pad}{token}</html>", status=502, content_type="text/html"
            )
        if self.shape.startswith("text success"):
            pad = "y" * 180 if self.shape.endswith("padded") else ""
            return web.Response(text=f"hello {pad}{token}", status=200, content_type="text/plain")
        if self.shape == "field":
            bare = token.removeprefix("Bearer ")
            session = {"sessionId": "s", "createdAt": bare, "status": bare, "start": bare}
            return web.json_response(
                {
                    "data": session,
                    "pageInfo": {"totalItems": bare},
                    "sessions": [session],
                    "total_count": bare,
                    **session,
                }
            )
        return web.json_response({"message": token}, status=429, headers={"Retry-After": token})


async def test_an_echoing_vendor_cannot_make_us_leak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = Echo()
    async with ScriptedServer(echo) as server:
        vs = VideoSDK(
            "vsk_echo_api_key_0123456789",
            "vsk_echo_secret_0123456789abcdef",
            base_url=server.url,
            retry=policy(),
        )
        pc = PipecatCloud(
            "sk_echo_private_0123456789",
            "pk_echo_public_0123456789",
            agent="a",
            base_url=server.url,
            retry=policy(),
        )
        exposure = Exposure(
            [
                "vsk_echo_api_key_0123456789",
                "vsk_echo_secret_0123456789abcdef",
                vs._authorization(None)(),
                "sk_echo_private_0123456789",
                "pk_echo_public_0123456789",
            ]
        )
        async with vs, pc:
            for shape in (
                "json error",
                "code",
                "html error",
                "html error padded",
                "text success",
                "text success padded",
                "field",
                "retry",
            ):
                echo.shape = shape
                for name, make in (
                    ("vs.get", lambda: vs.sessions.get(SID)),
                    ("vs.start", lambda: vs.sessions.start(deployment_id="d", tag="v1.0")),
                    ("vs.list", lambda: vs.sessions.list().collect()),
                    ("pc.get", lambda: pc.sessions.get(SID)),
                    ("pc.start", lambda: pc.sessions.start()),
                    ("pc.list", lambda: pc.sessions.list().collect()),
                ):
                    await expose(exposure, f"{name} ({shape})", make)
    exposure.records(caplog.records)
    exposure.check()


async def test_a_model_shown_after_its_client_is_gone_leaks_nothing() -> None:
    """A function returns what it fetched, its client closed and collected: the model's
    repr, made long after, still hides the key the vendor echoed into its fields. And
    the secrets kept for that stay bounded however many clients come and go."""
    import gc
    import weakref

    from agentcloud import _redact

    key = "sk_gone_private_0123456789abcdefXYZ"

    async def echo(request: web.Request) -> web.Response:
        bare = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return web.json_response(
            {"sessionId": bare, "createdAt": "2024-06-01T00:00:00Z", "metadata": {"t": bare}}
        )

    async with ScriptedServer(echo) as server:
        url = server.url

        async def fetch() -> tuple[Any, weakref.ref[Any]]:
            async with PipecatCloud(key, agent="a", base_url=url, retry=policy()) as client:
                return await client.sessions.get(SID), weakref.ref(client._redact)

        session, redactor = await fetch()
        gc.collect()
        assert redactor() is None  # the client and its redactor are gone
        assert session.id == key  # the data is the vendor's, untouched
        assert key not in repr(session)
        for number in range(_redact.RETIRED_SECRETS + 50):
            _redact.Redactor([f"sk_churn_{number:06d}_secret"])
        gc.collect()
        assert len(_redact._retired) <= 2 * _redact.RETIRED_SECRETS


# --- the command line -----------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(clock=ManualClock(), seed=52, lifecycle=FAST) as emu:
        emu.seed_sessions("videosdk", 5, seed=1, running=2)
        emu.seed_sessions("pipecat", 5, seed=1, running=2)
        for name, value in emu.environment().items():
            monkeypatch.setenv(name, value)
        yield emu


def test_the_cli_prints_no_secret_even_verbose(
    served: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = served
    fast_cli_retries(monkeypatch)
    secrets = list(served.environment().values())[:4]
    minted = VideoSDK(emu.videosdk_api_key, emu.videosdk_secret)._authorization(None)()
    exposure = Exposure([*secrets, minted])
    with agentcloud.sync.wrap(emu.videosdk()) as vs, agentcloud.sync.wrap(emu.pipecat()) as pc:
        vs_ids = vs.sessions.list().collect()
        pc_ids = pc.sessions.list().collect()
    runs: list[list[str]] = []
    for provider, sid in (("videosdk", vs_ids[0].id), ("pipecat", pc_ids[0].id)):
        common = ["--provider", provider, "--base-url", emu.url, "--timeout", "0.3"]
        runs += [
            ["-v", "sessions", "list", *common],
            ["-v", "sessions", "get", sid, *common],
            ["-v", "sessions", "get", SID, *common],
            ["-v", "sessions", "get", "../x", *common],
            ["-v", "sessions", "wait", sid, "--until", "running", *common],
            ["-v", "sessions", "end", sid, *common],
        ]
    runs += [
        [
            "-v",
            "sessions",
            "start",
            "--provider",
            "videosdk",
            "--base-url",
            emu.url,
            "--deployment-id",
            emu.videosdk_deployment_id,
            "--tag",
            "v1.0",
            "--env",
            "A=1",
        ],
        [
            "-v",
            "sessions",
            "start",
            "--provider",
            "pipecat",
            "--base-url",
            emu.url,
            "--body",
            '{"u": 1}',
        ],
        [
            "-v",
            "sessions",
            "get",
            SID,
            "--provider",
            "videosdk",
            "--base-url",
            "http://127.0.0.1:9",
        ],  # refused connection
    ]
    for plan in (
        None,
        FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR]),
        FaultPlan(rate=0.5, seed=2, stall_seconds=0.5),
    ):
        emu.faults = plan
        for argv in runs:
            code = main(argv)
            out, err = capsys.readouterr()
            exposure.add(f"{argv} exit {code} stdout", out)
            exposure.add(f"{argv} exit {code} stderr", err)
    emu.faults = None
    # Wrong credentials from the environment, echoed by nothing.
    wrong = {
        "VIDEOSDK_API_KEY": "vsk_cli_wrong_key_012345",
        "PIPECAT_CLOUD_API_KEY": "sk_cli_wrong_private_012345",
    }
    for name, value in wrong.items():
        monkeypatch.setenv(name, value)
    exposure.secrets += list(wrong.values())
    for provider in ("videosdk", "pipecat"):
        code = main(["-v", "sessions", "list", "--provider", provider, "--base-url", emu.url])
        out, err = capsys.readouterr()
        assert code == 4, err
        exposure.add(f"wrong {provider}", out + err)
    assert any("DEBUG" in text for _, text in exposure.texts)
    exposure.check()


def test_verbose_runs_leave_logging_as_they_found_it(
    served: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process runs of ``main(['-v', ...])`` (tests, embedding) must not pile up
    handlers on the agentcloud logger, each writing to whatever stderr was at the time."""
    agentcloud_logger = logging.getLogger("agentcloud")
    before = (list(agentcloud_logger.handlers), agentcloud_logger.level)
    for _ in range(3):
        main(["-v", "sessions", "get", SID, "--provider", "videosdk", "--base-url", served.url])
    _, err = capsys.readouterr()
    assert (list(agentcloud_logger.handlers), agentcloud_logger.level) == before
    lines = [line for line in err.splitlines() if "sessions.get: GET" in line and "-> 404" in line]
    assert len(lines) == 3, "each run logs each request once"


# --- a vendor echoing credentials into headers, redirects and session fields -----------

#: Long enough that a repr or a table cell cuts it short: a cut secret is still a leak.
LONG_KEY = "vsk_long_api_key_" + "k" * 47
LONG_SECRET = "vsk_long_secret_" + "s" * 48
PC_PRIVATE = "sk_echo2_private_" + "p" * 40
PC_PUBLIC = "pk_echo2_public_" + "q" * 40


class PartialExposure(Exposure):
    """Also refuses any 16 characters in a row of a key, or of a JWT's payload or
    signature (its header is the same for every token): what survives a cut."""

    def check(self) -> None:
        super().check()
        pieces = [
            piece
            for secret in self.secrets
            for piece in (secret.split(".")[1:] if JWT.fullmatch(secret) else [secret])
        ]
        for where, text in self.texts:
            for secret in pieces:
                for start in range(0, max(len(secret) - 15, 1)):
                    window = secret[start : start + 16]
                    assert window not in text, f"{where} leaks part of a secret: {text[:300]}"


class HeaderEcho:
    """A vendor that repeats our Authorization header in headers and session fields."""

    def __init__(self) -> None:
        self.shape = "request id on error"

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "")
        bare = token.removeprefix("Bearer ")
        if self.shape == "request id on error":
            return web.json_response({"message": "no"}, status=500, headers={"x-request-id": token})
        if self.shape == "request-id on success":
            body = {"sessionId": "s1", "status": "running", "data": {"sessionId": "s1"}}
            return web.json_response(body, headers={"request-id": token})
        if self.shape == "location userinfo":
            target = f"http://{bare[:60]}:{bare[:60]}@evil.invalid/steal"
            return web.Response(status=302, headers={"Location": target})
        if self.shape == "location host":
            label = bare.replace("_", "-")[:60]
            return web.Response(status=307, headers={"Location": f"https://{label}.invalid/x"})
        session = {
            "sessionId": bare,
            "session_id": bare,
            "status": "failed" if self.shape == "failed session" else bare,
            "createdAt": "2024-06-01T00:00:00Z",
            "metadata": {"token": bare},
        }
        return web.json_response(
            {
                "data": [session]
                if request.method == "GET" and "sessions?" in str(request.url)
                else session,
                "pageInfo": {"totalItems": 1},
                "sessions": [session],
                "total_count": 1,
                **session,
            }
        )


class Recorder:
    """A hook keeping the text of every record it is handed."""

    def __init__(self, exposure: Exposure) -> None:
        self.exposure = exposure

    def _keep(self, info: Any) -> None:
        self.exposure.add("hook record", repr(info))
        error = getattr(info, "error", None)
        if error is not None:
            self.exposure.error("hook error", error)

    on_request = on_response = on_retry = _keep


SHAPES = (
    "request id on error",
    "request-id on success",
    "location userinfo",
    "location host",
    "session fields",
    "failed session",
)


async def test_echoed_headers_redirects_and_fields_leak_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = HeaderEcho()
    async with ScriptedServer(echo) as server:
        exposure = PartialExposure([LONG_KEY, LONG_SECRET, PC_PRIVATE, PC_PUBLIC])
        hooks = [Recorder(exposure)]
        vs = VideoSDK(LONG_KEY, LONG_SECRET, base_url=server.url, retry=policy(), hooks=hooks)
        pc = PipecatCloud(
            PC_PRIVATE, PC_PUBLIC, agent="a", base_url=server.url, retry=policy(), hooks=hooks
        )
        minted = vs._authorization(None)()
        exposure.secrets.append(minted)
        async with vs, pc:
            for shape in SHAPES:
                echo.shape = shape
                for name, make in (
                    ("vs.get", lambda: vs.sessions.get(SID)),
                    ("vs.start", lambda: vs.sessions.start(deployment_id="d", tag="v1.0")),
                    ("vs.list", lambda: vs.sessions.list().collect()),
                    ("vs.wait", lambda: vs.sessions.wait(SID, timeout=5)),
                    ("pc.get", lambda: pc.sessions.get(SID)),
                    ("pc.list", lambda: pc.sessions.list().collect()),
                    ("pc.wait", lambda: pc.sessions.wait(SID, timeout=5)),
                ):
                    result = await expose(exposure, f"{name} ({shape})", make)
                    for item in result if isinstance(result, list) else []:
                        exposure.add(f"{name} item ({shape})", repr(item))
    exposure.records(caplog.records)
    exposure.check()


def test_the_cli_prints_no_echoed_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from .attackers import ServerThread

    fast_cli_retries(monkeypatch)
    echo = HeaderEcho()
    monkeypatch.setenv("VIDEOSDK_API_KEY", LONG_KEY)
    monkeypatch.setenv("VIDEOSDK_SECRET_KEY", LONG_SECRET)
    monkeypatch.setenv("PIPECAT_CLOUD_API_KEY", PC_PRIVATE)
    monkeypatch.setenv("PIPECAT_CLOUD_PUBLIC_KEY", PC_PUBLIC)
    monkeypatch.setenv("PIPECAT_CLOUD_AGENT", "a")
    exposure = PartialExposure([LONG_KEY, LONG_SECRET, PC_PRIVATE, PC_PUBLIC])
    minted = VideoSDK(LONG_KEY, LONG_SECRET)._authorization(None)()
    exposure.secrets.append(minted)
    with ServerThread(ScriptedServer(echo)) as server:
        for shape in SHAPES:
            echo.shape = shape
            for provider in ("videosdk", "pipecat"):
                for output in ("table", "jsonl"):
                    for argv in (
                        ["sessions", "get", SID],
                        ["sessions", "list"],
                    ):
                        full = [
                            "-v",
                            *argv,
                            "--provider",
                            provider,
                            "--base-url",
                            server.url,
                            "--format",
                            output,
                        ]
                        code = main(full)
                        out, err = capsys.readouterr()
                        exposure.add(f"{full} exit {code} stdout", out)
                        exposure.add(f"{full} exit {code} stderr", err)
    exposure.check()
