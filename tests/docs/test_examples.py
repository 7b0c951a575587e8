"""Every program in ``examples/`` runs, as a user runs it (its own process, configured by
environment variables), against an emulator served by the test, and does what it says."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import socket
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agentcloud.testing import Emulator, Lifecycle, Phase
from tests.fleet.helpers import REDIS_URL, namespace_keys, new_namespace, redis_answers, wipe

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Every example in the folder, so one added without a test here fails test_each_is_run.
RUN_HERE = {
    "quickstart.py",
    "first_session.py",
    "pipecat_bot.py",
    "usage_report.py",
    "web_service.py",
    "sync_script.py",
    "fleet_service.py",
    "testing/greeter.py",
    "testing/test_greeter.py",
}
TIMEOUT = 60.0
#: The user's own settings must not leak into an example pointed at the emulator.
_VENDOR_PREFIXES = ("VIDEOSDK_", "PIPECAT_", "AGENTCLOUD_", "LIVEKIT_")


def environment(emu: Emulator | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_VENDOR_PREFIXES)}
    env.pop("PYTEST_ADDOPTS", None)
    if emu is not None:
        env.update(emu.environment())
        env["VIDEOSDK_BASE_URL"] = env["PIPECAT_CLOUD_BASE_URL"] = emu.url
    env.update(extra)
    return env


class Program:
    """An example run as a child process, bounded in time, its output kept."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *argv: str, env: Mapping[str, str], cwd: Path = ROOT) -> Program:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            env=dict(env),
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def finish(self, timeout: float = TIMEOUT) -> tuple[str, str]:
        try:
            out, err = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise
        stdout, stderr = out.decode(), err.decode()
        assert self.process.returncode == 0, stderr
        # Nothing left open, nothing thrown on the way out.
        for trouble in ("Traceback", "Unclosed", "was never awaited", "Task was destroyed"):
            assert trouble not in stderr, stderr
        return stdout, stderr


async def run(*argv: str, env: Mapping[str, str]) -> str:
    stdout, _ = await (await Program.start(*argv, env=env)).finish()
    return stdout


def test_each_example_is_run_here() -> None:
    found = {
        path.relative_to(EXAMPLES).as_posix()
        for path in EXAMPLES.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert found == RUN_HERE


async def test_quickstart_walks_a_session_on_its_own_emulator() -> None:
    out = await run(str(EXAMPLES / "quickstart.py"), env=environment())
    lines = out.splitlines()
    assert lines[0].startswith("running: VideoSDKSession(")
    assert "status=running" in lines[0]
    assert lines[1].startswith("ended: ")
    assert "status=running" not in lines[1]
    session_id = lines[0].split("id='")[1].split("'")[0]
    assert [line.split()[0] for line in lines[2:]] == [session_id]


async def test_first_session_runs_against_a_vendor_given_by_environment() -> None:
    async with Emulator() as emu:
        env = environment(emu, VIDEOSDK_DEPLOYMENT_ID=emu.videosdk_deployment_id)
        out = await run(str(EXAMPLES / "first_session.py"), env=env)

        started = [r for r in emu.requests if r.path.endswith("/start")]
        assert len(started) == 1
        assert started[0].body["metaData"]["user"] == "tutorial"
        session_id = out.split()[1]
        # Left under `async with`: ended on the way out.
        assert emu.session_phase("videosdk", session_id) in (Phase.STOPPING, Phase.COMPLETED)
    assert "running since" in out


async def test_the_bot_waits_until_its_session_ends() -> None:
    async with Emulator(lifecycle=Lifecycle(start_delay=0.0, run_duration=1.0)) as emu:
        out = await run(str(EXAMPLES / "pipecat_bot.py"), env=environment(emu))
        (session_id,) = emu.worlds["pipecat"].sessions
        assert emu.session_phase("pipecat", session_id) is Phase.COMPLETED
    assert "join the call at https://" in out
    assert "the session ended by itself" in out


async def test_the_bot_ends_a_session_that_outlives_its_patience() -> None:
    async with Emulator(lifecycle=Lifecycle(run_duration=None)) as emu:
        env = environment(emu, MAX_MINUTES="0.01")
        out = await run(str(EXAMPLES / "pipecat_bot.py"), "my-agent", env=env)
        (session_id,) = emu.worlds["pipecat"].sessions
        assert emu.session_phase("pipecat", session_id) in (Phase.STOPPING, Phase.COMPLETED)
        deletes = [r for r in emu.requests if r.method == "DELETE"]
        assert [r.path.rsplit("/", 1)[-1] for r in deletes] == [session_id]
    assert "ending it" in out


async def test_the_sync_script_ends_stale_sessions_and_its_own_smoke_test() -> None:
    async with Emulator() as emu:
        seeded = emu.seed_sessions("videosdk", 30, running=5)  # days old, five still running
        stale = seeded[:5]
        assert all(emu.session_phase("videosdk", s) is Phase.RUNNING for s in stale)
        other = emu.add_videosdk_deployment(name="other")
        elsewhere = emu.seed_sessions("videosdk", 4, seed=1, running=2, deployment_id=other.id)
        async with emu.videosdk() as vs:
            fresh = await vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        env = environment(emu, VIDEOSDK_DEPLOYMENT_ID=emu.videosdk_deployment_id)
        out = await run(str(EXAMPLES / "sync_script.py"), env=env)

        (smoke,) = [line.split()[-1] for line in out.splitlines() if line.startswith("smoke")]
        ends = [r.body["sessionId"] for r in emu.requests if r.path.endswith("/end")]
        assert sorted(ends) == sorted([*stale, smoke])  # each once, nothing else
        assert "5 sessions ran longer than 60 minutes" in out
        for session_id in [*stale, smoke]:
            assert emu.session_phase("videosdk", session_id) in (Phase.STOPPING, Phase.COMPLETED)
        # Younger than MAX_MINUTES, or another deployment's: left running.
        for session_id in [fresh.id, *elsewhere[:2]]:
            assert emu.session_phase("videosdk", session_id) in (Phase.QUEUED, Phase.RUNNING)


async def _wire_sessions(emu: Emulator) -> list[dict[str, Any]]:
    """The VideoSDK listing as the emulator writes it, read without the SDK."""
    headers = {"Authorization": emu.videosdk_token()}
    found: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        for page in range(1, 100):
            url = f"{emu.url}/ai/v1/ai-deployment-sessions?page={page}&perPage=100"
            async with http.get(url, headers=headers) as response:
                data = await response.json()
            found += data["data"]
            if len(found) >= data["pageInfo"]["totalItems"]:
                return found
    raise AssertionError("the listing did not end")


def _report(out: str) -> dict[tuple[str, str], tuple[int, float]]:
    rows = list(csv.DictReader(io.StringIO(out)))
    return {(r["day"], r["deployment"]): (int(r["sessions"]), float(r["minutes"])) for r in rows}


async def test_the_usage_report_sums_minutes_per_deployment_per_day() -> None:
    async with Emulator() as emu:
        emu.seed_sessions("videosdk", 150, spacing=1500)  # about two and a half days
        other = emu.add_videosdk_deployment(name="other")
        emu.seed_sessions("videosdk", 40, seed=1, spacing=3600, deployment_id=other.id)
        script = str(EXAMPLES / "usage_report.py")
        report = _report(
            await run(script, "videosdk", "--since", "2025-06-01", env=environment(emu))
        )
        later = _report(
            await run(script, "videosdk", "--since", "2025-06-18", env=environment(emu))
        )
        wire = await _wire_sessions(emu)

    counts: Counter[tuple[str, str]] = Counter()
    seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
    for item in wire:
        if item["duration"] is None:
            continue
        key = (item["start"][:10], item["deploymentId"])
        counts[key] += 1
        seconds[key] += item["duration"]
    assert len({deployment for _, deployment in counts}) == 2
    assert len({day for day, _ in counts}) >= 3
    assert report.keys() == counts.keys()
    for key, (sessions, minutes) in report.items():
        assert sessions == counts[key]
        assert minutes == pytest.approx(seconds[key] / 60, abs=0.051)
    assert later == {key: value for key, value in report.items() if key[0] >= "2025-06-18"}
    assert later  # the newest day is in both


async def test_the_usage_report_asks_pipecat_for_ended_sessions_only() -> None:
    async with Emulator() as emu:
        emu.seed_sessions("pipecat", 60, running=5, spacing=900)
        emu.add_pipecat_agent("second")
        emu.seed_sessions("pipecat", 10, seed=2, spacing=900, agent="second")
        out = await run(
            str(EXAMPLES / "usage_report.py"),
            "pipecat",
            "--since",
            "2025-06-01",
            env=environment(emu),
        )
        listed = [r for r in emu.requests if r.path.endswith("/sessions")]
    report = _report(out)
    by_agent: Counter[str] = Counter()
    for (_, agent), (sessions, _) in report.items():
        by_agent[agent] += sessions
    assert by_agent == {"my-agent": 55, "second": 10}
    assert all(r.query.get("status") == "ended" for r in listed)
    since = datetime(2025, 6, 1, tzinfo=UTC).timestamp()
    assert all(r.query.get("startTime") == str(int(since)) for r in listed)
    assert all(date.fromisoformat(day) >= date(2025, 6, 1) for day, _ in report)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _until(check: Any, what: str, seconds: float = 15.0) -> Any:
    """Polls ``check()`` (async) until it returns something truthy, for at most ``seconds``."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while loop.time() < give_up:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds}s")


async def test_the_web_service_starts_ends_and_hears_about_sessions() -> None:
    async with Emulator() as emu:
        port = _free_port()
        service = f"http://127.0.0.1:{port}"
        env = environment(emu, PORT=str(port), VIDEOSDK_DEPLOYMENT_ID=emu.videosdk_deployment_id)
        program = await Program.start(str(EXAMPLES / "web_service.py"), env=env)
        try:
            async with aiohttp.ClientSession() as http:

                async def listening() -> bool:
                    try:
                        async with http.get(f"{service}/calls/none") as response:
                            return response.status == 404
                    except aiohttp.ClientConnectionError:
                        return False

                await _until(listening, "the service listening")
                async with http.post(f"{service}/calls", json={"user": "ada"}) as response:
                    assert response.status == 201, await response.text()
                    call = (await response.json())["id"]
                async with http.post(f"{service}/calls", json={"user": "bob"}) as response:
                    forgotten = (await response.json())["id"]

                async def started_event() -> list[str]:
                    async with http.get(f"{service}/calls/{call}") as response:
                        shown = await response.json()
                    return [e["name"] for e in shown["events"] if e["type"] == "started"]

                assert await _until(started_event, "the started webhook") == [
                    "ai-deployment-session-started"
                ]
                async with http.delete(f"{service}/calls/{call}") as response:
                    assert response.status == 200
                    assert (await response.json())["status"] in ("stopping", "ended")
                async with http.get(f"{service}/calls/no%2Fsuch") as response:
                    assert response.status == 404
        finally:
            program.process.terminate()  # as a deploy stops it
        await program.finish()
        assert emu.session_phase("videosdk", call) in (Phase.STOPPING, Phase.COMPLETED)
        # end_on_close: stopping the service ended the session nobody ended.
        assert emu.session_phase("videosdk", forgotten) in (Phase.STOPPING, Phase.COMPLETED)
        # The service answered VideoSDK's (the emulator's) signed delivery with a 2xx.
        assert any(
            d.ok and d.event == "ai-deployment-session-started"
            for d in emu.webhook_deliveries
            if d.session_id == call
        )


async def test_the_testing_example_passes_as_a_project_of_its_own() -> None:
    program = await Program.start(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        ".",
        env=environment(),
        cwd=EXAMPLES / "testing",
    )
    out, _ = await program.finish()
    assert "3 passed" in out, out


async def test_fleet_replicas_share_webhooks_and_reap_the_sessions_of_a_dead_one() -> None:
    if not redis_answers():
        pytest.fail(f"the fleet example needs a Redis server at {REDIS_URL}", pytrace=False)
    namespace = new_namespace()  # its own keys, wiped at the end
    # Sessions run until ended, and take a second to start, so the wait is under way.
    timers = Lifecycle(start_delay=1.0, run_duration=None, stop_delay=0.0)
    async with Emulator(lifecycle=timers) as emu:
        ports = _free_port(), _free_port()
        a, b = (f"http://127.0.0.1:{port}" for port in ports)

        def replica(port: int) -> dict[str, str]:
            return environment(
                emu,
                PORT=str(port),
                PUBLIC_URL=b,  # the load balancer hands VideoSDK's deliveries to replica B
                VIDEOSDK_DEPLOYMENT_ID=emu.videosdk_deployment_id,
                AGENTCLOUD_REDIS_URL=REDIS_URL,
                AGENTCLOUD_FLEET_NAMESPACE=namespace,
                LEASE_TTL="1.5",
                REAP_EVERY="0.1",
            )

        script = str(EXAMPLES / "fleet_service.py")
        replica_a = await Program.start(script, env=replica(ports[0]))
        replica_b = await Program.start(script, env=replica(ports[1]))
        try:
            async with aiohttp.ClientSession() as http:
                for url in (a, b):

                    async def listening(url: str = url) -> bool:
                        try:
                            async with http.get(f"{url}/calls/none/running") as response:
                                return response.status == 404
                        except aiohttp.ClientConnectionError:
                            return False

                    await _until(listening, f"the replica at {url} listening")
                async with http.post(f"{a}/calls", json={"user": "ada"}) as response:
                    assert response.status == 201, await response.text()
                    session_id = (await response.json())["id"]
                # A polls every 10 s at first: only B's delivery, through Redis, wakes it
                # within this request's 8 s.
                async with http.get(
                    f"{a}/calls/{session_id}/running", timeout=aiohttp.ClientTimeout(total=8)
                ) as response:
                    assert response.status == 200, await response.text()
                    assert (await response.json())["status"] == "running"

                async def delivered() -> list[Any]:
                    # The emulator records a delivery once B has answered it, which may be
                    # after A, woken through Redis, has already answered us.
                    return [
                        d
                        for d in emu.webhook_deliveries
                        if d.session_id == session_id
                        and d.event == "ai-deployment-session-started"
                    ]

                (started,) = await _until(delivered, "the started delivery recorded")
                assert started.url == f"{b}/webhooks"
                assert started.ok
                # VideoSDK delivers it again, this time to A: a replay, fleet-wide.
                async with http.post(
                    f"{a}/webhooks",
                    data=started.body,
                    headers={"videosdk-signature": started.signature},
                ) as response:
                    assert response.status == 200
                    assert await response.json() == {"ok": True, "duplicate": True}

            replica_a.process.kill()  # kill -9: no clean shutdown ends its session
            await replica_a.process.wait()

            def ends() -> list[str]:
                return [r.body["sessionId"] for r in emu.requests if r.path.endswith("/end")]

            async def reaped() -> bool:
                return bool(ends())

            await _until(reaped, "the reaper's end", seconds=20)
            assert emu.session_phase("videosdk", session_id) in (Phase.STOPPING, Phase.COMPLETED)
        finally:
            for program in (replica_a, replica_b):
                if program.process.returncode is None:
                    program.process.terminate()
            out, _ = await replica_b.finish()
            if replica_a.process.returncode is None:
                await replica_a.process.wait()
            leases = [k for k in await namespace_keys(namespace) if b":lease" in k]
            await wipe(namespace)
        assert ends() == [session_id]  # ended once, by B's reaper
        assert f"reaped {session_id} ended" in out
        assert leases == []  # the lease went with the session
