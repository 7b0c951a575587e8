"""Ctrl-C for real: SIGINT sent to a script blocked in the sync client, in a process of its
own. It exits 130 with nothing on stderr (no traceback, no warning of a task or connection
left behind), and no session it started is left billing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcloud.testing import Emulator, Lifecycle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def served() -> Iterator[Emulator]:
    with Emulator(lifecycle=Lifecycle(start_delay=60.0, run_duration=600.0)) as emu:
        yield emu


def interrupt(emu: Emulator, mode: str, when: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs the script in ``mode``, sends SIGINT once it prints ``when``, and waits."""
    environment = {
        **os.environ,
        **emu.environment(),
        "AGENTCLOUD_BASE_URL": emu.url,
        "DEPLOYMENT_ID": emu.videosdk_deployment_id,
        "PYTHONWARNINGS": "default",  # a ResourceWarning (unclosed socket...) shows on stderr
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.interrupted", mode],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:  # bounded: the script prints a few lines, then blocks
            lines.append(line)
            if line.startswith(when):
                process.send_signal(signal.SIGINT)
                break
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(lines) + out, err)


def billing(emu: Emulator) -> list[str]:
    sessions = emu.worlds["videosdk"].sessions
    return [s for s in sessions if emu.session_phase("videosdk", s).value in ("queued", "running")]


def test_ctrl_c_during_a_blocking_call(served: Emulator) -> None:
    [session_id] = served.seed_sessions("videosdk", 1, running=1)
    served.latency = 30.0  # the call blocks until interrupted
    done = interrupt(served, "call", "sending sessions.get", SESSION_ID=session_id)
    assert (done.returncode, done.stderr) == (130, "")
    assert "not interrupted" not in done.stdout


def test_ctrl_c_inside_a_managed_session(served: Emulator) -> None:
    done = interrupt(served, "managed", "inside ")
    assert (done.returncode, done.stderr) == (130, "")
    [session_id] = [
        line.split()[1] for line in done.stdout.splitlines() if line.startswith("inside")
    ]
    assert served.session_phase("videosdk", session_id).value in ("stopping", "completed")
    assert billing(served) == []


def test_ctrl_c_during_a_start(served: Emulator) -> None:
    served.latency = 0.5  # the start is in flight when Ctrl-C comes
    done = interrupt(served, "start", "sending sessions.start")
    assert (done.returncode, done.stderr) == (130, "")
    assert len(served.worlds["videosdk"].sessions) == 1
    assert billing(served) == []
