"""LiveKit on the command line: its options and commands come from the registry alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentcloud._emulator_cli import _announcement
from agentcloud.testing import Lifecycle
from tests.cli.test_cli import cli, lines
from tests.helpers import ThreadedEmulator

FAST = Lifecycle(start_delay=0.05, run_duration=None, stop_delay=0.0)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(lifecycle=FAST, seed=3) as threaded:
        for name, value in threaded.emu.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AGENTCLOUD_PROVIDER", raising=False)
        monkeypatch.delenv("AGENTCLOUD_BASE_URL", raising=False)
        yield threaded


def test_start_get_wait_list_end(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "sessions",
        "start",
        "--provider",
        "livekit",
        "--agent-name",
        "my-agent",
        "--room",
        "call-42",
        "--metadata",
        '{"user": "42"}',
    )
    assert code == 0, err
    [started] = lines(out)
    assert (started["provider"], started["room"], started["status"]) == (
        "livekit",
        "call-42",
        "queued",
    )
    assert started["metadata"]["user"] == "42"
    assert "agentcloud_request_id" in started["metadata"]
    session_id = started["id"]
    locate = ("--provider", "livekit", "--room", "call-42")
    code, out, err = cli(capsys, "sessions", "wait", session_id, *locate, "--timeout", "20")
    assert code == 0, err
    assert lines(out)[0]["status"] == "running"
    code, out, _ = cli(capsys, "sessions", "get", session_id, *locate)
    assert lines(out)[0]["jobs"][0]["raw_status"] == "JS_RUNNING"
    code, out, _ = cli(capsys, "sessions", "list", "--provider", "livekit")
    assert [item["id"] for item in lines(out)] == [session_id]
    code, out, _ = cli(capsys, "sessions", "list", *locate)
    assert [item["id"] for item in lines(out)] == [session_id]
    code, out, _ = cli(capsys, "sessions", "end", session_id, *locate)
    assert (code, lines(out)[0]["status"]) == (0, "ended")


def test_text_metadata_is_sent_as_is(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("sessions", "start", "--provider", "livekit", "--agent-name", "a", "--room", "r")
    code, out, err = cli(capsys, *argv, "--metadata", "hello there")
    assert code == 0, err
    assert (lines(out)[0]["metadata"], lines(out)[0]["metadata_text"]) == (None, "hello there")


def test_rooms_commands(served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "rooms", "create", "lobby", "--provider", "livekit")
    assert code == 0, err
    assert lines(out)[0]["name"] == "lobby"
    code, out, _ = cli(capsys, "rooms", "list", "--provider", "livekit")
    assert [room["name"] for room in lines(out)] == ["lobby"]
    code, out, _ = cli(capsys, "rooms", "delete", "lobby", "--provider", "livekit")
    assert (code, lines(out)) == (0, [{"deleted": "lobby"}])
    code, _, err = cli(capsys, "rooms", "delete", "lobby", "--provider", "livekit")
    assert code == 5
    assert "not_found" in err


def test_mistakes_exit_with_their_codes(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "sessions", "get", "AD_x", "--provider", "livekit")
    assert code == 3
    assert "room" in err
    code, _, err = cli(capsys, "sessions", "start", "--provider", "livekit", "--room", "r")
    assert code == 2
    assert "--agent-name" in err
    code, _, err = cli(capsys, "sessions", "get", "AD_x", "--provider", "pipecat", "--room", "r")
    assert code == 2
    assert "--room is a livekit option" in err
    code, _, err = cli(capsys, "sessions", "get", "AD_x", "--provider", "livekit", "--room", "r")
    assert code == 5


def test_missing_credentials_name_livekits_variables(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIVEKIT_API_SECRET")
    code, _, err = cli(capsys, "rooms", "list", "--provider", "livekit")
    assert code == 3
    assert "LIVEKIT_API_SECRET" in err
    assert served.emu.livekit_api_key not in err


def test_the_emulator_command_exports_livekits_variables(served: ThreadedEmulator) -> None:
    printed = _announcement(served.emu)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        assert any(line.startswith(f"export {name}=") for line in printed)
    assert f"export LIVEKIT_URL={served.emu.url}" in printed


async def test_the_demo_plays_livekits_scene() -> None:
    import io

    from agentcloud._demo import run_demo

    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    for fragment in (
        "== LiveKit Cloud",
        "[running, vendor says 'JS_RUNNING']",
        "agent_job_ended: stopped (signature verified)",
    ):
        assert fragment in text


def test_verbose_runs_print_no_secret(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--provider", "livekit", "--room", "r")
    code, out, err = cli(capsys, "-v", "sessions", "start", "--agent-name", "a", *argv)
    assert code == 0, err
    code, more_out, more_err = cli(capsys, "-v", "sessions", "get", "AD_nope", *argv)
    assert code == 5
    printed = out + err + more_out + more_err
    assert "ListDispatch" in printed  # the DEBUG log was on
    for secret in (served.emu.livekit_api_key, served.emu.livekit_api_secret, "eyJ"):
        assert secret not in printed
