"""The command lines' manners: the emulator's options checked and documented, stable
credentials, timers, clean SIGTERM; the client's --allow-insecure, base URLs from the
environment, options of another provider refused, naive times, --body @- and one-line
usage errors."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agentcloud.cli import _Parser, main
from agentcloud.testing import Lifecycle
from tests.helpers import ThreadedEmulator

FAST = Lifecycle(start_delay=0.05, run_duration=None, stop_delay=0.0)


def agentcloud_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentcloud", *args]


def run(argv: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> Any:
    full = {**os.environ, **(env or {})}
    full.pop("AGENTCLOUD_PROVIDER", None)
    return subprocess.run(
        argv, env=full, capture_output=True, text=True, timeout=60, check=False, **kwargs
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "70000"),
        ("--port", "http"),
        ("--fault-rate", "2"),
        ("--fault-rate", "nan"),
        ("--latency-ms", "-5"),
        ("--sessions", "-3"),
        ("--start-delay", "-1"),
        ("--failure-rate", "1.5"),
        ("--set", "no-equals-sign"),
    ],
)
def test_bad_emulator_options_are_one_line_and_exit_2(option: str, value: str) -> None:
    result = run(agentcloud_argv("emulator", option, value))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert option in result.stderr


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(agentcloud_argv("emulator", "--port", str(port)))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_provider_option_is_one_line_and_exit_2() -> None:
    result = run(agentcloud_argv("emulator", "--port", "0", "--set", "nobody_key=1"))
    assert result.returncode == 2
    assert "nobody_key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _option_actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _option_actions(sub)
        elif action.option_strings:
            yield action


def test_every_option_of_every_command_has_help_text() -> None:
    undocumented = [
        "/".join(action.option_strings)
        for action in _option_actions(_Parser(None).parser)
        if not action.help and action.help != argparse.SUPPRESS and action.dest != "help"
    ]
    assert undocumented == []


class ServedEmulator:
    """``agentcloud emulator`` in a subprocess, with what it printed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(
            agentcloud_argv("emulator", "--port", "0", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full,
        )
        self.exports: dict[str, str] = {}
        assert self.process.stdout is not None
        for _ in range(20):
            line = self.process.stdout.readline().strip()
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                self.exports[name] = value
            if line.startswith("# try"):
                break

    def stop(self, signal_number: int) -> tuple[int, str]:
        self.process.send_signal(signal_number)
        code = self.process.wait(timeout=20)
        return code, self.process.stderr.read() if self.process.stderr else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_fixed_credentials_from_flags_and_the_environment_and_clean_sigterm() -> None:
    served = ServedEmulator(
        "--set",
        "videosdk_api_key=fixed-key-0123",
        env={"AGENTCLOUD_EMULATOR_PIPECAT_API_KEY": "sk_fixed_private_0123"},
    )
    try:
        assert served.exports["VIDEOSDK_API_KEY"] == "fixed-key-0123"
        assert served.exports["PIPECAT_CLOUD_API_KEY"] == "sk_fixed_private_0123"
        listing = run(agentcloud_argv("sessions", "list", "--provider", "pipecat"), served.exports)
        assert listing.returncode == 0, listing.stderr
        code, err = served.stop(signal.SIGTERM)
        assert code == 0
        assert "Traceback" not in err
    finally:
        served.kill()


def test_session_timers_and_failure_rate_are_options() -> None:
    served = ServedEmulator("--start-delay", "0", "--failure-rate", "1")
    try:
        env = served.exports
        started = run(
            agentcloud_argv("sessions", "start", "--provider", "pipecat", "--format", "json"),
            env,
        )
        assert started.returncode == 0, started.stderr
        session = json.loads(started.stdout)
        got = run(agentcloud_argv("sessions", "get", session["id"], "--provider", "pipecat"), env)
        assert json.loads(got.stdout)["status"] == "failed"
    finally:
        served.kill()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(lifecycle=FAST, seed=3) as threaded:
        for name, value in threaded.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AGENTCLOUD_PROVIDER", raising=False)
        monkeypatch.delenv("AGENTCLOUD_BASE_URL", raising=False)
        yield threaded


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_base_urls_come_from_the_environment(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served.emu.seed_sessions("videosdk", 3)
    monkeypatch.setenv("VIDEOSDK_BASE_URL", served.emu.url)
    code, out, err = cli(capsys, "sessions", "list", "--provider", "videosdk")
    assert code == 0, err
    assert len(out.splitlines()) == 3
    monkeypatch.delenv("VIDEOSDK_BASE_URL")
    monkeypatch.setenv("AGENTCLOUD_BASE_URL", served.emu.url)
    code, out, err = cli(capsys, "sessions", "list", "--provider", "videosdk")
    assert code == 0, err


def test_plain_http_needs_allow_insecure_and_the_message_says_so(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = "http://vendor.invalid:9"
    code, _, err = cli(
        capsys, "sessions", "get", "s1", "--provider", "videosdk", "--base-url", remote
    )
    assert code == 3
    assert "--allow-insecure" in err
    code, _, err = cli(
        capsys,
        "sessions",
        "get",
        "s1",
        "--provider",
        "videosdk",
        "--base-url",
        remote,
        "--allow-insecure",
        "--timeout",
        "2",
    )
    assert code == 6  # now it is tried (and cannot connect), not refused
    assert "allow" not in err


@pytest.mark.parametrize(
    ("provider", "argv", "flag"),
    [
        ("videosdk", ("sessions", "start", "--transport", "websocket"), "--transport"),
        ("videosdk", ("sessions", "list", "--status", "active"), "--status"),
        ("pipecat", ("sessions", "start", "--tag", "v1.0"), "--tag"),
    ],
)
def test_an_option_of_another_provider_is_refused(
    served: ThreadedEmulator,
    capsys: pytest.CaptureFixture[str],
    provider: str,
    argv: tuple[str, ...],
    flag: str,
) -> None:
    before = len(served.emu.requests)
    code, out, err = cli(capsys, *argv, "--provider", provider, "--base-url", served.emu.url)
    assert code == 2
    assert out == ""
    assert flag in err
    assert len(err.strip().splitlines()) == 1
    assert len(served.emu.requests) == before  # nothing was sent


def test_a_time_without_a_zone_is_refused_as_in_python(
    served: ThreadedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        capsys,
        "sessions",
        "list",
        "--provider",
        "pipecat",
        "--base-url",
        served.emu.url,
        "--started-after",
        "2025-06-18T12:00:00",
    )
    assert code == 3
    assert "started_after" in err
    assert "timezone-aware" in err
    code, _, err = cli(
        capsys,
        "sessions",
        "list",
        "--provider",
        "pipecat",
        "--base-url",
        served.emu.url,
        "--started-after",
        "2025-06-18T12:00:00+00:00",
    )
    assert code == 0, err


def test_body_from_standard_input(served: ThreadedEmulator) -> None:
    result = run(
        agentcloud_argv(
            "sessions",
            "start",
            "--provider",
            "pipecat",
            "--base-url",
            served.emu.url,
            "--body",
            "@-",
        ),
        served.env(),
        input='{"from": "stdin"}',
    )
    assert result.returncode == 0, result.stderr
    starts = [r for r in served.emu.requests if r.path.endswith("/start")]
    assert starts[-1].body["body"] == {"from": "stdin"}


@pytest.mark.parametrize("source", ["/dev/zero", "binary"])
def test_a_body_file_that_is_not_json_text_is_one_line_and_exit_3(
    served: ThreadedEmulator, tmp_path: Any, source: str
) -> None:
    if source == "binary":
        path = tmp_path / "blob.bin"
        path.write_bytes(bytes(range(256)) * 8)
        source = str(path)
    result = run(
        agentcloud_argv(
            "sessions",
            "start",
            "--provider",
            "pipecat",
            "--base-url",
            served.emu.url,
            "--body",
            f"@{source}",
        ),
        served.env(),
    )
    assert result.returncode == 3
    assert "--body" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
