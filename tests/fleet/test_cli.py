"""``agentcloud fleet reap`` against the emulator and the machine's Redis."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from agentcloud.cli import main
from agentcloud.testing import Lifecycle
from tests.helpers import ThreadedEmulator

from .helpers import REDIS_URL, free_port, new_namespace

RUNNING = Lifecycle(start_delay=0.05, run_duration=None, stop_delay=0.0)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(lifecycle=RUNNING) as threaded:
        for name, value in threaded.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AGENTCLOUD_REDIS_URL", raising=False)
        monkeypatch.delenv("AGENTCLOUD_FLEET_NAMESPACE", raising=False)
        yield threaded


@pytest.fixture
def namespace() -> Iterator[str]:
    name = new_namespace()
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"agentcloud:{{{name}}}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def dead_lease(namespace: str, provider: str, session_id: str, **end: str) -> None:
    """A lease whose holder died: its record is there, its liveness key is not."""
    client = redis.Redis.from_url(REDIS_URL)
    record = {"provider": provider, "session_id": session_id, "end": end, "attempts": 0}
    client.hset(
        f"agentcloud:{{{namespace}}}:leases", f"{provider}:{session_id}", json.dumps(record)
    )
    client.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_reap_ends_the_sessions_of_dead_holders_of_every_provider(
    served: ThreadedEmulator, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = served.emu
    (videosdk,) = emu.seed_sessions("videosdk", 1, running=1)
    (pipecat,) = emu.seed_sessions("pipecat", 1, running=1)
    dead_lease(namespace, "videosdk", videosdk)
    dead_lease(namespace, "pipecat", pipecat, agent="my-agent")
    argv = ("fleet", "reap", "--redis-url", REDIS_URL, "--namespace", namespace)
    code, lines, err = run(capsys, *argv, "--base-url", emu.url)
    assert (code, err) == (0, "")
    assert sorted((line["provider"], line["session_id"], line["ended"]) for line in lines) == [
        ("pipecat", pipecat, True),
        ("videosdk", videosdk, True),
    ]
    for provider, session_id in (("videosdk", videosdk), ("pipecat", pipecat)):
        assert emu.session_phase(provider, session_id).value in ("stopping", "completed")
    assert run(capsys, *argv, "--base-url", emu.url) == (0, [], "")  # nothing left


def test_reap_takes_only_the_providers_asked_for(
    served: ThreadedEmulator, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (pipecat,) = served.emu.seed_sessions("pipecat", 1, running=1)
    dead_lease(namespace, "pipecat", pipecat, agent="my-agent")
    code, lines, _ = run(
        capsys,
        "fleet",
        "reap",
        "--redis-url",
        REDIS_URL,
        "--namespace",
        namespace,
        "--provider",
        "videosdk",
        "--base-url",
        served.emu.url,
    )
    assert (code, lines) == (0, [])
    assert served.emu.session_phase("pipecat", pipecat).value == "running"


def test_reap_needs_a_redis_url(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "fleet", "reap")
    assert code == 2
    assert "--redis-url" in err


def test_reap_without_redis_says_so_in_one_line_and_exits_6(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTCLOUD_REDIS_URL", f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0")
    code, lines, err = run(capsys, "fleet", "reap", "--base-url", served.emu.url)
    assert (code, lines) == (6, [])
    assert err.startswith("agentcloud: FleetUnavailableError")
    assert err.count("\n") == 1
    assert "s3cret" not in err


def test_reap_every_keeps_reaping_until_interrupted(
    served: ThreadedEmulator, namespace: str
) -> None:
    emu = served.emu
    env = {
        **os.environ,
        "AGENTCLOUD_REDIS_URL": REDIS_URL,
        "AGENTCLOUD_FLEET_NAMESPACE": namespace,
        "AGENTCLOUD_BASE_URL": emu.url,
    }
    command = [sys.executable, "-m", "agentcloud", "fleet", "reap", "--every", "0.05"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as reaper:
        assert reaper.stdout is not None
        for session_id in emu.seed_sessions("videosdk", 2, running=2):
            dead_lease(namespace, "videosdk", session_id)  # one after the other, while it runs
            readable, _, _ = select.select([reaper.stdout], [], [], 20)
            assert readable, "the reaper printed nothing within 20 s"
            line = json.loads(reaper.stdout.readline())
            assert (line["session_id"], line["ended"]) == (session_id, True)
        reaper.send_signal(signal.SIGINT)
        try:
            assert reaper.wait(timeout=20) == 130
        finally:
            reaper.kill()
