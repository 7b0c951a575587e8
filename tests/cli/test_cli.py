"""The command line end to end against the emulator, in-process and as a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agentcloud import __version__
from agentcloud.cli import Output, Progress, main
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle

T = TypeVar("T")
FAST = Lifecycle(start_delay=0.05, run_duration=None, stop_delay=0.0)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(lifecycle=FAST, seed=3) as emu:
        emu.seed_sessions("videosdk", 30)
        emu.seed_sessions("pipecat", 30)
        for name, value in emu.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AGENTCLOUD_PROVIDER", raising=False)
        yield emu


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def secrets_of(emu: Emulator) -> list[str]:
    return list(emu.environment().values())[:4]


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
def test_list_streams_json_lines_in_listing_order(
    served: Emulator, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    code, out, err = cli(
        capsys,
        "sessions",
        "list",
        "--provider",
        provider,
        "--base-url",
        served.url,
        "--per-page",
        "7",
        "--concurrency",
        "3",
    )
    assert code == 0, err
    items = lines(out)
    assert len(items) == 30
    assert len({item["id"] for item in items}) == 30
    created = [item["created_at"] for item in items]
    assert created == sorted(created, reverse=True)  # newest first, as the vendor lists
    assert all(item["provider"] == provider for item in items)
    assert "raw" not in items[0]


def test_list_formats_limit_and_provider_from_the_environment(
    served: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTCLOUD_PROVIDER", "videosdk")
    base = ("sessions", "list", "--base-url", served.url, "--limit", "5")
    code, out, _ = cli(capsys, *base, "--format", "json")
    assert code == 0
    as_json = json.loads(out)
    assert len(as_json) == 5
    code, out, _ = cli(capsys, *base, "--format", "table")
    rows = out.splitlines()
    assert rows[0].split()[:3] == ["ID", "STATUS", "RAW_STATUS"]
    assert [row.split()[0] for row in rows[1:]] == [item["id"] for item in as_json]
    code, out, _ = cli(capsys, *base, "--format", "jsonl")
    assert [item["id"] for item in lines(out)] == [item["id"] for item in as_json]


def test_pipecat_filters_reach_the_wire(
    served: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    served.clear_requests()
    code, out, err = cli(
        capsys,
        "sessions",
        "list",
        "--provider",
        "pipecat",
        "--base-url",
        served.url,
        "--status",
        "ended",
        "--start-type",
        "cold",
        "--started-after",
        "2020-01-01T00:00:00Z",
    )
    assert code == 0, err
    query = served.requests[-1].query
    assert query["status"] == "ended"
    assert query["startType"] == "cold"
    assert query["startTime"] == "1577836800"
    assert all(item["ended_at"] is not None for item in lines(out))


def test_videosdk_start_get_wait_end(
    served: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    url = served.url
    code, out, err = cli(
        capsys,
        "sessions",
        "start",
        "--provider",
        "videosdk",
        "--base-url",
        url,
        "--deployment-id",
        served.videosdk_deployment_id,
        "--tag",
        "v1.0",
        "--env",
        "A=1",
        "--metadata",
        "user=42",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "--event",
        "ai-deployment-session-started",
    )
    assert code == 0, err
    started = json.loads(out)
    assert started["status"] == "queued"
    body = served.requests[-1].body
    assert body["env"] == {"A": "1"}
    assert body["metaData"]["user"] == "42"
    assert body["webhook"] == {
        "endPoint": "http://127.0.0.1:9/hook",
        "events": ["ai-deployment-session-started"],
    }
    sid = started["id"]
    code, out, err = cli(
        capsys,
        "sessions",
        "wait",
        sid,
        "--provider",
        "videosdk",
        "--base-url",
        url,
        "--until",
        "running",
        "--timeout",
        "20",
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "running"
    code, out, _ = cli(capsys, "sessions", "get", sid, "--provider", "videosdk", "--base-url", url)
    assert json.loads(out)["id"] == sid
    code, out, _ = cli(capsys, "sessions", "end", sid, "--provider", "videosdk", "--base-url", url)
    assert code == 0
    assert json.loads(out)["status"] == "ended"


def test_pipecat_start_with_body_from_a_file(
    served: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    payload = tmp_path / "body.json"
    payload.write_text('{"user": "42", "nested": [1, 2]}')
    code, out, err = cli(
        capsys,
        "sessions",
        "start",
        "--provider",
        "pipecat",
        "--base-url",
        served.url,
        "--create-daily-room",
        "--body",
        f"@{payload}",
    )
    assert code == 0, err
    started = json.loads(out)
    assert started["connection"]["daily_room"].startswith("https://")
    assert served.requests[-1].body["body"] == {"user": "42", "nested": [1, 2]}
    assert served.requests[-1].body["createDailyRoom"] is True


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (("sessions", "get", "nope-nope"), 5, "NotFoundError"),
        (("sessions", "get", "../etc"), 3, "session_id"),
        (("sessions", "start", "--body", "{bad"), 3, "--body"),
        (("sessions", "start", "--deployment-id", "x"), 2, "--tag"),
    ],
)
def test_errors_map_to_exit_codes(
    served: Emulator,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    code: int,
    needle: str,
) -> None:
    provider = "pipecat" if "--body" in argv else "videosdk"
    got, out, err = cli(capsys, *argv, "--provider", provider, "--base-url", served.url)
    assert got == code
    assert out == ""
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sessions", "list", "--provider", "nope"])
    assert caught.value.code == 2
    assert main([]) == 2
    os.environ.pop("AGENTCLOUD_PROVIDER", None)
    assert main(["sessions", "list"]) == 2
    assert "--provider" in capsys.readouterr().err


def test_missing_credentials_name_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VIDEOSDK_API_KEY", "VIDEOSDK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = cli(capsys, "sessions", "list", "--provider", "videosdk")
    assert code == 3
    assert "VIDEOSDK_API_KEY" in err


def test_wrong_credentials_exit_4_without_leaking_them(
    served: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEOSDK_SECRET_KEY", "definitely-not-the-secret-0123456789")
    code, out, err = cli(
        capsys, "-v", "sessions", "list", "--provider", "videosdk", "--base-url", served.url
    )
    assert code == 4
    assert "AuthenticationError" in err
    for secret in [*secrets_of(served), "definitely-not-the-secret-0123456789"]:
        assert secret not in out + err
    assert "eyJ" not in err  # no JWT in the DEBUG log either


def test_failed_session_exits_7(
    served: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    doomed = served.add_videosdk_deployment(name="doomed", fail_sessions=True)
    code, out, _ = cli(
        capsys,
        "sessions",
        "start",
        "--provider",
        "videosdk",
        "--base-url",
        served.url,
        "--deployment-id",
        doomed.id,
        "--tag",
        "v1.0",
    )
    sid = json.loads(out)["id"]
    code, _, err = cli(
        capsys,
        "sessions",
        "wait",
        sid,
        "--provider",
        "videosdk",
        "--base-url",
        served.url,
        "--until",
        "ended",
        "--timeout",
        "20",
    )
    assert code == 7
    assert "failed" in err


def test_rate_limited_exits_6(served: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    served.faults = FaultPlan(rate=1.0, kinds=[FaultKind.RATE_LIMITED], retry_after=3600)
    code, _, err = cli(
        capsys, "sessions", "get", "x", "--provider", "pipecat", "--base-url", served.url
    )
    assert code == 6
    assert "429" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for fragment in ("2 usage", "3 input", "4 auth", "5 not found", "6 rate limited", "7 session"):
        assert fragment in text


def agentcloud_argv(*args: str) -> list[str]:
    """The command line that runs ``agentcloud ARGS`` with this interpreter."""
    return [sys.executable, "-m", "agentcloud", *args]


def run(
    argv: list[str], env: dict[str, str], *, shell: bool = False
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    full_env.pop("AGENTCLOUD_PROVIDER", None)
    return subprocess.run(
        argv, env=full_env, capture_output=True, text=True, timeout=60, shell=shell, check=False
    )


def test_subprocess_list_and_get(served: Emulator) -> None:
    listing = run(
        agentcloud_argv("sessions", "list", "--provider", "videosdk", "--base-url", served.url),
        served.environment(),
    )
    assert listing.returncode == 0, listing.stderr
    items = lines(listing.stdout)
    assert len(items) == 30
    got = run(
        agentcloud_argv(
            "sessions",
            "get",
            items[0]["id"],
            "--provider",
            "videosdk",
            "--base-url",
            served.url,
        ),
        served.environment(),
    )
    assert got.returncode == 0
    assert json.loads(got.stdout)["id"] == items[0]["id"]


def test_subprocess_closed_pipe_stops_cleanly(served: Emulator) -> None:
    served.seed_sessions("pipecat", 3000, seed=11)
    command = (
        f"{sys.executable} -m agentcloud sessions list --provider pipecat "
        f"--base-url {served.url} --per-page 10 | head -n 3; "
        'echo "exit=${PIPESTATUS[0]}" >&2'
    )
    result = run(["bash", "-c", command], served.environment())
    assert len(result.stdout.splitlines()) == 3
    assert "exit=0" in result.stderr
    assert "Traceback" not in result.stderr
    assert "BrokenPipe" not in result.stderr


def test_subprocess_missing_credentials(served: Emulator) -> None:
    env = {name: "" for name in served.environment()}
    result = run(
        agentcloud_argv("sessions", "list", "--provider", "pipecat", "--base-url", served.url),
        env,
    )
    assert result.returncode == 3
    assert "PIPECAT_CLOUD_API_KEY" in result.stderr
    assert result.stderr.count("\n") == 1


def test_emulator_command_serves_and_prints_credentials() -> None:
    import signal

    process = subprocess.Popen(
        agentcloud_argv("emulator", "--port", "0", "--sessions", "12"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        url = ""
        for _ in range(64):  # the announcement ends with its "# try:" hint
            line = process.stdout.readline().strip()
            if line.startswith("# try") or not line:
                break
            if line.startswith("agentcloud emulator listening at "):
                url = line.rsplit(" ", 1)[1]
            elif line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                printed[name] = value
        assert url.startswith("http://127.0.0.1:")
        listing = run(
            agentcloud_argv("sessions", "list", "--provider", "pipecat", "--base-url", url),
            printed,
        )
        assert listing.returncode == 0, listing.stderr
        assert len(lines(listing.stdout)) == 12
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ctrl_c_during_a_listing_stops_cleanly(served: Emulator) -> None:
    import signal

    served.latency = 0.2  # a slow vendor, so the listing is still going when we interrupt
    served.seed_sessions("pipecat", 3000, seed=11)
    process = subprocess.Popen(
        agentcloud_argv(
            "sessions",
            "list",
            "--provider",
            "pipecat",
            "--base-url",
            served.url,
            "--per-page",
            "5",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **served.environment()},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline()  # the listing has started streaming
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        err = process.stderr.read() if process.stderr else ""
        assert "Traceback" not in err
        assert "interrupted" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal() -> None:
    now = [0.0]
    terminal = FakeTerminal()
    progress = Progress(terminal, clock=lambda: now[0])
    for _ in range(4):
        now[0] += 1.0
        progress.step(100)
    progress.done()
    shown = terminal.getvalue()
    assert "400 sessions" in shown
    assert "100/s" in shown
    assert shown.endswith("\r\x1b[K")
    pipe = io.StringIO()
    quiet = Progress(pipe, clock=lambda: now[0])
    now[0] += 5
    quiet.step(10)
    quiet.done()
    assert pipe.getvalue() == ""


def test_table_on_a_terminal_by_default() -> None:
    terminal = FakeTerminal()
    out = Output(terminal, format=None, single=False)
    out.item({"id": "abc", "status": "running", "raw_status": "running"})
    out.finish()
    header, row = terminal.getvalue().splitlines()
    assert header.split()[0] == "ID"
    assert row.split()[:2] == ["abc", "running"]


async def test_demo_walks_both_providers() -> None:
    from agentcloud._demo import run_demo

    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    for fragment in (
        "== VideoSDK Agent Cloud",
        "== Pipecat Cloud",
        "ai-deployment-session-stopped (signature verified)",
        "[ended, vendor says 'terminated']",
        "done:",
    ):
        assert fragment in text
