"""``agentcloud runtime dispatch|sessions|end|logs`` against the emulator, in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentcloud.cli import main
from agentcloud.testing import Lifecycle
from tests.helpers import ThreadedEmulator

RUNNING = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(lifecycle=RUNNING, seed=8) as threaded:
        for name, value in threaded.emu.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AGENTCLOUD_PROVIDER", "videosdk")
        monkeypatch.setenv("AGENTCLOUD_BASE_URL", threaded.emu.url)
        yield threaded


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_dispatch_list_logs_and_end(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "runtime", "dispatch", "--metadata", "user=42", "--format", "json")
    assert code == 0, err
    dispatch = json.loads(out)
    room = dispatch["room_id"]
    assert dispatch["id"] == room
    assert dispatch["agent_id"] == served.emu.videosdk_agent_id
    assert (dispatch["status"], dispatch["raw_status"]) == ("queued", "assigned")
    assert dispatch["metadata"] == {"user": "42"}
    assert "raw" not in dispatch

    code, out, err = cli(capsys, "runtime", "sessions", "--room-id", room)
    assert code == 0, err
    [session] = lines(out)
    assert (session["room_id"], session["status"]) == (room, "running")
    assert session["deployment_id"] == served.emu.videosdk_runtime_deployment_id

    code, out, err = cli(capsys, "runtime", "end", "--room-id", room, "--format", "json")
    assert code == 0, err
    ended = json.loads(out)
    assert (ended["id"], ended["status"]) == (session["id"], "ended")

    code, out, err = cli(
        capsys, "runtime", "logs", "--session-id", session["id"], "--order", "asc", "--limit", "2"
    )
    assert code == 0, err
    assert [line["message"] for line in lines(out)] == [
        f"Job assigned to a worker; joining room {room}",
        f"Agent joined room {room}",
    ]


def test_sessions_walk_pages_and_stop_at_a_limit(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = served.emu.seed_sessions("videosdk", 30, seed=4, runtime=True)
    code, out, err = cli(capsys, "runtime", "sessions", "--per-page", "7", "--order", "desc")
    assert code == 0, err
    assert [item["id"] for item in lines(out)] == seeded
    code, out, _ = cli(capsys, "runtime", "sessions", "--limit", "3")
    assert [item["id"] for item in lines(out)] == seeded[:3]


def test_dispatch_options_reach_the_wire(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = served.emu
    room = served.run(lambda: _room(emu))
    code, _, err = cli(
        capsys,
        "runtime",
        "dispatch",
        "--room-id",
        room,
        "--version-id",
        emu.videosdk_runtime_version_id,
        "--general",
    )
    assert code == 0, err
    request = emu.requests[-1]
    assert request.path == "/v2/agent/general/dispatch"
    assert request.body["meetingId"] == room
    assert request.body["versionId"] == emu.videosdk_runtime_version_id


async def _room(emu: Any) -> str:
    room: str = emu.add_videosdk_room().room_id
    return room


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (("runtime", "end"), 2, "needs --room-id"),
        (("runtime", "end", "--room-id", "no-such-room"), 5, "Room not found"),
        (("runtime", "dispatch", "--agent-id", "nobody"), 6, "No Workers Registered"),
        (("runtime", "dispatch", "--general"), 3, "version_id"),
        (("runtime", "logs", "--since", "2025-06-18T10:00:00"), 3, "timezone-aware"),
    ],
)
def test_mistakes_and_refusals_exit_with_one_line(
    served: ThreadedEmulator,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    code: int,
    said: str,
) -> None:
    got, out, err = cli(capsys, *argv)
    assert got == code
    assert said in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
    assert served.emu.videosdk_secret not in err


def test_the_agent_and_deployment_are_needed(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIDEOSDK_AGENT_ID")
    monkeypatch.delenv("VIDEOSDK_RUNTIME_DEPLOYMENT_ID")
    code, _, err = cli(capsys, "runtime", "dispatch")
    assert (code, err.strip()) == (
        2,
        "agentcloud: runtime dispatch needs --agent-id (or VIDEOSDK_AGENT_ID)",
    )
    for command in ("sessions", "logs"):
        code, _, err = cli(capsys, "runtime", command)
        assert code == 2
        assert "--deployment-id (or VIDEOSDK_RUNTIME_DEPLOYMENT_ID)" in err
    deployment = served.emu.videosdk_runtime_deployment_id
    code, _, err = cli(capsys, "runtime", "sessions", "--deployment-id", deployment)
    assert code == 0, err


def test_help_names_the_runtime_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["runtime", "--help"])
    out = capsys.readouterr().out
    for action in ("dispatch", "sessions", "end", "logs"):
        assert action in out


async def test_the_demo_shows_the_agent_runtime() -> None:
    import io

    from agentcloud._demo import run_demo

    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    assert "vendor says 'assigned'" in text
    assert "on leaving the block" in text
    assert "log       info: Agent session ended" in text
