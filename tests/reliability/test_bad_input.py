"""Bad input, property-based: hostile values never reach the wire, nor another path.

Every public method and every CLI argument gets path tricks (``../``, ``%2F``, ``?``, ``#``,
backslashes), CR/LF, NUL and other control characters, lone surrogates (what a shell's
undecodable bytes become), huge strings, non-JSON values and wrong types. Each call either
raises InvalidRequestError or TypeError before sending anything, or sends requests only to
the path it was meant for (checked in the emulator's request log): an id can never become
two path segments, a query, a fragment or a different endpoint.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcloud import (
    AgentCloudError,
    InvalidRequestError,
    PipecatCloud,
    RetryPolicy,
    VideoSDK,
    Webhook,
    connect,
)
from agentcloud.cli import main
from agentcloud.testing import Emulator, Lifecycle, ManualClock

from .support import FakeTime, fast_cli_retries

SESSIONS = "/ai/v1/ai-deployment-sessions"
DEPLOYMENTS = "/ai/v1/ai-deployments"
AGENTS = "/v1/agents"
SOME_ID = "00000000-0000-4000-8000-000000000000"

TRICKS = [
    "",
    " ",
    ".",
    "..",
    "../",
    "../../v1/agents",
    "..%2F..%2Fv1",
    "%2F",
    "%2e%2e",
    "a/b",
    "a\\b",
    "a?b=c",
    "a#frag",
    "a;b",
    "a&b=c",
    "a b",
    " a",
    "a ",
    "a\r\nX-Injected: 1",
    "a\nb",
    "a\rb",
    "a\x00b",
    "\x00",
    "\x7f",
    "a\tb",
    "\u2028",
    "\ud800",
    "\udcff",
    "é",
    "\uff0e\uff0e",  # fullwidth full stops
    "x" * 257,
    "x" * 100_000,
    "http://evil.example/",
    "//evil.example",
    "@evil",
    "{sessionId}",
    "start",
    "end",
]

WRONG_TYPES: list[Any] = [
    None,
    0,
    -1,
    2**70,
    1.5,
    math.nan,
    math.inf,
    True,
    b"bytes",
    bytearray(b"x"),
    ["list"],
    ("tuple",),
    {"a": 1},
    {1, 2},
    object(),
]

hostile_text = st.one_of(
    st.sampled_from(TRICKS),
    st.text(max_size=40),
    st.builds(
        lambda a, b, c: a + b + c, st.text(max_size=5), st.sampled_from(TRICKS), st.text(max_size=5)
    ),
)
hostile = st.one_of(hostile_text, st.sampled_from(WRONG_TYPES))

# Hostile secrets are short: PyJWT's warning about weak HMAC keys is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


RUNNING: dict[str, str] = {}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    lifecycle = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)
    async with Emulator(clock=ManualClock(), seed=41, lifecycle=lifecycle) as emulator:
        RUNNING["videosdk"] = emulator.seed_sessions("videosdk", 1, running=1)[0]
        RUNNING["pipecat"] = emulator.seed_sessions("pipecat", 1, running=1)[0]
        yield emulator


@pytest.fixture
async def clients(emu: Emulator) -> AsyncIterator[tuple[VideoSDK, PipecatCloud]]:
    timer = FakeTime()
    never = RetryPolicy(max_attempts=1, sleep=timer.sleep, clock=timer.clock)
    async with emu.videosdk(retry=never) as vs, emu.pipecat(retry=never) as pc:
        yield vs, pc


async def check(
    emu: Emulator, make: Callable[[], Awaitable[Any]], intended: Callable[[str], bool]
) -> None:
    """Runs one call; it must be refused before sending, or reach only intended paths.

    A call that would run forever (a wait whose timeout is NaN) fails the test: waits poll
    on the clients' fake clock, so a real second is thousands of polls.
    """
    emu.clear_requests()
    try:
        async with asyncio.timeout(2.0):
            await make()
    except (InvalidRequestError, TypeError):
        assert emu.requests == [], "refused, but only after sending"
        return
    except AgentCloudError:
        pass  # the vendor's answer to a well-formed request (404, 400 ...)
    strays = [r.path for r in emu.requests if not intended(r.path)]
    assert strays == [], f"requests reached {strays}"


def exactly(path: str) -> Callable[[str], bool]:
    return lambda seen: seen == path


def segment(prefix: str, value: Any, suffix: str = "") -> Callable[[str], bool]:
    return lambda seen: isinstance(value, str) and seen == f"{prefix}/{value}{suffix}"


def agent_segment(prefix: str, value: Any, suffix: str = "") -> Callable[[str], bool]:
    """Like segment, for an ``agent=`` whose None means the client's default agent."""
    return segment(prefix, "my-agent" if value is None else value, suffix)


def method_calls(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, x: Any
) -> Iterator[tuple[str, Callable[[], Awaitable[Any]], Callable[[str], bool]]]:
    """Every public method with ``x`` in one argument, and the paths it may reach."""
    dep = emu.videosdk_deployment_id
    # Sessions that never end, so a wait's hostile timeout or interval really gets used.
    vs_running, pc_running = RUNNING["videosdk"], RUNNING["pipecat"]
    yield "vs.get", lambda: vs.sessions.get(x), segment(SESSIONS, x)
    yield "vs.end", lambda: vs.sessions.end(x), exactly(f"{SESSIONS}/end")
    yield "vs.wait", lambda: vs.sessions.wait(x, timeout=1), segment(SESSIONS, x)
    yield (
        "vs.wait until",
        lambda: vs.sessions.wait(vs_running, until=x, timeout=3),
        segment(SESSIONS, vs_running),
    )
    # None means "wait for ever", as documented, and so, in effect, does a huge number.
    forever = x is None or (isinstance(x, (int, float)) and not isinstance(x, bool) and x > 60)
    if not forever:
        yield (
            "vs.wait timeout",
            lambda: vs.sessions.wait(vs_running, until="ended", timeout=x),
            segment(SESSIONS, vs_running),
        )
    yield (
        "vs.wait poll",
        lambda: vs.sessions.wait(vs_running, until="ended", timeout=3, poll_interval=x),
        segment(SESSIONS, vs_running),
    )
    yield (
        "vs.wait max poll",
        lambda: vs.sessions.wait(vs_running, until="ended", timeout=3, max_poll_interval=x),
        segment(SESSIONS, vs_running),
    )
    start = f"{SESSIONS}/start"
    yield (
        "vs.start deployment",
        lambda: vs.sessions.start(deployment_id=x, tag="v1.0"),
        exactly(start),
    )
    yield "vs.start tag", lambda: vs.sessions.start(deployment_id=dep, tag=x), exactly(start)
    yield (
        "vs.start env key",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", env={x: "v"}),
        exactly(start),
    )
    yield (
        "vs.start env value",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", env={"K": x}),
        exactly(start),
    )
    yield (
        "vs.start env",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", env=x),
        exactly(start),
    )
    yield (
        "vs.start metadata key",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", metadata={x: 1}),
        exactly(start),
    )
    yield (
        "vs.start metadata value",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", metadata={"k": x}),
        exactly(start),
    )
    yield (
        "vs.start metadata",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", metadata=x),
        exactly(start),
    )
    yield (
        "vs.start webhook",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", webhook=x),
        exactly(start),
    )
    yield (
        "vs.start webhook url",
        lambda: vs.sessions.start(deployment_id=dep, tag="v1.0", webhook=Webhook(x)),
        exactly(start),
    )
    yield (
        "vs.start webhook event",
        lambda: vs.sessions.start(
            deployment_id=dep, tag="v1.0", webhook=Webhook("https://hook.example/x", events=[x])
        ),
        exactly(start),
    )
    yield "vs.list per_page", lambda: vs.sessions.list(per_page=x).collect(), exactly(SESSIONS)
    yield "vs.list max_items", lambda: vs.sessions.list(max_items=x).collect(), exactly(SESSIONS)
    yield (
        "vs.list concurrency",
        lambda: vs.sessions.list(concurrency=x).collect(),
        exactly(SESSIONS),
    )
    yield (
        "vs.deployments.get id",
        lambda: vs.deployments.get(x, "v1.0"),
        segment(DEPLOYMENTS, x, "/v1.0"),
    )
    yield (
        "vs.deployments.get tag",
        lambda: vs.deployments.get(dep, x),
        segment(f"{DEPLOYMENTS}/{dep}", x),
    )
    yield "vs.deployments.create name", lambda: vs.deployments.create(name=x), exactly(DEPLOYMENTS)
    yield (
        "vs.deployments.create description",
        lambda: vs.deployments.create(name="n", description=x),
        exactly(DEPLOYMENTS),
    )
    yield (
        "vs.deployments.list",
        lambda: vs.deployments.list(per_page=x).collect(),
        exactly(DEPLOYMENTS),
    )
    agent_sessions = f"{AGENTS}/my-agent/sessions"
    yield "pc.get", lambda: pc.sessions.get(x), segment(agent_sessions, x)
    yield (
        "pc.get agent",
        lambda: pc.sessions.get(SOME_ID, agent=x),
        agent_segment(AGENTS, x, f"/sessions/{SOME_ID}"),
    )
    yield "pc.end", lambda: pc.sessions.end(x), segment(agent_sessions, x)
    yield (
        "pc.end agent",
        lambda: pc.sessions.end(SOME_ID, agent=x),
        agent_segment(AGENTS, x, f"/sessions/{SOME_ID}"),
    )
    yield "pc.wait", lambda: pc.sessions.wait(x, timeout=1), segment(agent_sessions, x)
    yield (
        "pc.wait agent",
        lambda: pc.sessions.wait(SOME_ID, agent=x, timeout=1),
        agent_segment(AGENTS, x, f"/sessions/{SOME_ID}"),
    )
    if not forever:
        yield (
            "pc.wait timeout",
            lambda: pc.sessions.wait(pc_running, until="ended", timeout=x),
            segment(agent_sessions, pc_running),
        )
    yield (
        "pc.wait max poll",
        lambda: pc.sessions.wait(pc_running, until="ended", timeout=3, max_poll_interval=x),
        segment(agent_sessions, pc_running),
    )
    yield (
        "pc.list agent",
        lambda: pc.sessions.list(agent=x).collect(),
        agent_segment(AGENTS, x, "/sessions"),
    )
    for option in ("status", "deployment_id", "start_type", "started_after", "started_before"):
        yield (
            f"pc.list {option}",
            (
                lambda option=option: pc.sessions.list(**{option: x}).collect()  # type: ignore[misc]
            ),
            exactly(agent_sessions),
        )
    yield (
        "pc.list per_page",
        lambda: pc.sessions.list(per_page=x).collect(),
        exactly(agent_sessions),
    )
    yield (
        "pc.start agent",
        lambda: pc.sessions.start(agent=x),
        agent_segment("/v1/public", x, "/start"),
    )
    for option in (
        "create_daily_room",
        "daily_room_properties",
        "daily_meeting_token_properties",
        "enable_default_ice_servers",
        "transport",
        "body",
    ):
        yield (
            f"pc.start {option}",
            (
                lambda option=option: pc.sessions.start(**{option: x})  # type: ignore[misc]
            ),
            exactly("/v1/public/my-agent/start"),
        )
    yield (
        "pc.start body value",
        lambda: pc.sessions.start(body={"k": x}),
        exactly("/v1/public/my-agent/start"),
    )
    yield "pc.agents.get", lambda: pc.agents.get(x), segment(AGENTS, x)
    yield "pc.agents.list", lambda: pc.agents.list(region=x).collect(), exactly(AGENTS)


@SETTINGS
@given(x=hostile)
async def test_methods_refuse_or_stay_on_their_path(
    emu: Emulator, clients: tuple[VideoSDK, PipecatCloud], x: Any
) -> None:
    vs, pc = clients
    for _name, make, intended in method_calls(emu, vs, pc, x):
        await check(emu, make, intended)


@SETTINGS
@given(x=hostile)
async def test_constructors_refuse_before_sending(emu: Emulator, x: Any) -> None:
    builders: list[Callable[[], Any]] = [
        lambda: VideoSDK(api_key=x, secret="s" * 32, base_url=emu.url),
        lambda: VideoSDK(api_key="k" * 16, secret=x, base_url=emu.url),
        lambda: VideoSDK(token=x, base_url=emu.url),
        lambda: VideoSDK(api_key="k" * 16, secret="s" * 32, base_url=x),
        lambda: VideoSDK(api_key="k" * 16, secret="s" * 32, base_url=emu.url, timeout=x),
        lambda: VideoSDK(api_key="k" * 16, secret="s" * 32, base_url=emu.url, retry=x),
        lambda: VideoSDK(api_key="k" * 16, secret="s" * 32, base_url=emu.url, http=x),
        lambda: VideoSDK(api_key="k" * 16, secret="s" * 32, base_url=emu.url, max_connections=x),
        lambda: PipecatCloud(api_key=x, base_url=emu.url, agent="a"),
        lambda: PipecatCloud(public_key=x, base_url=emu.url, agent="a"),
        lambda: PipecatCloud(api_key="sk_x", base_url=emu.url, agent=x),
        lambda: PipecatCloud(api_key="sk_x", base_url=x, agent="a"),
        lambda: connect(x, api_key="k" * 16, secret="s" * 32, base_url=emu.url),
        lambda: RetryPolicy(deadline=x),
        lambda: RetryPolicy(max_attempts=x),
        lambda: RetryPolicy(backoff_base=x),
        lambda: RetryPolicy(max_retry_after=x),
    ]
    emu.clear_requests()
    for build in builders:
        try:
            client = build()
        except (InvalidRequestError, TypeError):
            continue
        if isinstance(client, (VideoSDK, PipecatCloud)):
            try:
                # An accepted base URL must still lead only to the emulator's paths.
                if isinstance(client, VideoSDK):
                    await client.sessions.get(SOME_ID)
                else:
                    await client.agents.get("my-agent")
            except AgentCloudError:
                pass
            finally:
                await client.aclose()
        elif isinstance(client, RetryPolicy):
            for value in (client.deadline, client.backoff_base, client.max_retry_after):
                assert math.isfinite(value) or value == math.inf
                assert value == value, "a NaN reached a RetryPolicy"
    assert all(r.path.startswith(("/ai/v1/", "/v1/")) for r in emu.requests)


# --- the command line -----------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    lifecycle = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)
    with Emulator(clock=ManualClock(), seed=42, lifecycle=lifecycle) as emu:
        yield emu


def cli_argv(served: Emulator, x: str) -> Iterator[tuple[list[str], Callable[[str], bool]]]:
    url = served.url
    dep = served.videosdk_deployment_id
    agent_sessions = f"{AGENTS}/my-agent/sessions"
    for provider, prefix in (("videosdk", SESSIONS), ("pipecat", agent_sessions)):
        common = ["--provider", provider, "--base-url", url]
        yield ["sessions", "get", x, *common], segment(prefix, x)
        yield ["sessions", "wait", x, "--timeout", "1", *common], segment(prefix, x)
        yield (
            ["sessions", "end", x, *common],
            (exactly(f"{SESSIONS}/end") if provider == "videosdk" else segment(prefix, x)),
        )
        yield (
            ["sessions", "list", "--per-page", x, *common],
            exactly(SESSIONS if provider == "videosdk" else agent_sessions),
        )
        yield (
            ["sessions", "list", "--limit", x, *common],
            exactly(SESSIONS if provider == "videosdk" else agent_sessions),
        )
        yield ["sessions", "get", SOME_ID, "--timeout", x, *common], segment(prefix, SOME_ID)
        yield ["sessions", "get", SOME_ID, *common[:2], "--base-url", x], lambda _: False
    pc = ["--provider", "pipecat", "--base-url", url]
    yield (
        ["sessions", "get", SOME_ID, *pc, "--agent", x],
        agent_segment(AGENTS, x, f"/sessions/{SOME_ID}"),
    )
    yield ["sessions", "start", *pc, "--agent", x], segment("/v1/public", x, "/start")
    yield ["sessions", "start", *pc, "--body", x], exactly("/v1/public/my-agent/start")
    yield ["sessions", "start", *pc, "--transport", x], exactly("/v1/public/my-agent/start")
    for option in ("--status", "--deployment-id", "--start-type", "--started-after"):
        yield ["sessions", "list", *pc, option, x], exactly(agent_sessions)
    vs = ["--provider", "videosdk", "--base-url", url]
    start = f"{SESSIONS}/start"
    yield ["sessions", "start", *vs, "--deployment-id", x, "--tag", "v1.0"], exactly(start)
    yield ["sessions", "start", *vs, "--deployment-id", dep, "--tag", x], exactly(start)
    for option in ("--env", "--metadata"):
        yield (
            ["sessions", "start", *vs, "--deployment-id", dep, "--tag", "v1.0", option, x],
            (exactly(start)),
        )
    yield (
        ["sessions", "start", *vs, "--deployment-id", dep, "--tag", "v1.0", "--webhook", x],
        (exactly(start)),
    )
    yield (
        [
            "sessions",
            "start",
            *vs,
            "--deployment-id",
            dep,
            "--tag",
            "v1.0",
            "--webhook",
            "https://hook.example/x",
            "--event",
            x,
        ],
        exactly(start),
    )


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(x=hostile_text.filter(lambda text: len(text) < 5000))
def test_cli_arguments_refuse_or_stay_on_their_path(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    x: str,
) -> None:
    for name, value in served.environment().items():
        monkeypatch.setenv(name, value)
    fast_cli_retries(monkeypatch)
    for argv, intended in cli_argv(served, x):
        served.clear_requests()
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse refusing the command line
            code = exit_.code if isinstance(exit_.code, int) else 2
        _out, err = capsys.readouterr()
        assert isinstance(code, int)
        assert "Traceback" not in err, err
        strays = [r.path for r in served.requests if not intended(r.path)]
        assert strays == [], f"{argv} reached {strays}"
        if code == 2 or "InvalidRequestError" in err:
            assert served.requests == [], f"{argv}: refused only after sending"


def test_deeply_nested_values_are_refused(
    served: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in served.environment().items():
        monkeypatch.setenv(name, value)
    served.clear_requests()
    deep = "[" * 200_000 + "]" * 200_000
    code = main(
        ["sessions", "start", "--provider", "pipecat", "--base-url", served.url, "--body", deep]
    )
    _, err = capsys.readouterr()
    assert code == 3, err
    assert served.requests == []


async def test_deeply_nested_python_values_are_refused(
    clients: tuple[VideoSDK, PipecatCloud], emu: Emulator
) -> None:
    vs, pc = clients
    deep: list[Any] = []
    cursor = deep
    for _ in range(100_000):
        cursor.append([])
        cursor = cursor[0]
    circular: dict[str, Any] = {}
    circular["self"] = circular
    emu.clear_requests()
    for value in (deep, circular):
        with pytest.raises(InvalidRequestError):
            vs.sessions.start(deployment_id="d", tag="t", metadata={"k": value})
        with pytest.raises(InvalidRequestError):
            pc.sessions.start(body=value)
    assert emu.requests == []


@pytest.mark.parametrize("total", [None, math.inf, 5.0])
async def test_an_infinite_deadline_means_no_deadline(emu: Emulator, total: float | None) -> None:
    """RetryPolicy(deadline=inf) is accepted, so it must work with any per-attempt timeout,
    including none at all: no OverflowError from a timer set to infinity."""
    policy = RetryPolicy(deadline=math.inf)
    timeout = aiohttp.ClientTimeout(total=total)
    async with (
        emu.videosdk(retry=policy, timeout=timeout) as vs,
        emu.pipecat(retry=policy, timeout=timeout) as pc,
    ):
        assert await vs.sessions.list(max_items=1).collect()
        assert await pc.sessions.list(max_items=1).collect()


async def test_arguments_mutated_after_the_check_never_reach_the_wire(emu: Emulator) -> None:
    """What ``start()`` checked is what is sent: a caller (or another task) changing its
    dicts between ``start(...)`` and the await cannot slip a NaN or an oversized body in."""
    async with emu.videosdk() as vs, emu.pipecat() as pc:
        metadata: dict[str, Any] = {"user": "42"}
        env = {"A": "1"}
        videosdk_start = vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", metadata=metadata, env=env
        )
        metadata["user"] = math.nan
        metadata["extra"] = {"deep": math.inf}
        env["A"] = 5  # type: ignore[assignment]
        body: dict[str, Any] = {"u": 1}
        pipecat_start = pc.sessions.start(transport="websocket", body=body)
        body["pad"] = "x" * 100_000
        await videosdk_start
        await pipecat_start
    starts = [r for r in emu.requests if r.method == "POST" and r.path.endswith("/start")]
    assert len(starts) == 2
    sent_metadata = dict(starts[0].body["metaData"])
    sent_metadata.pop("agentcloud_request_id", None)
    assert sent_metadata == {"user": "42"}
    assert starts[0].body["env"] == {"A": "1"}
    assert starts[1].body["body"] == {"u": 1}
