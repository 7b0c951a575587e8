"""Starting the emulator's process and asking it for its counters (see ``emulator_server``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["EmulatorProcess", "ServerInfo", "ServerStats"]

#: The folder that holds the ``benchmarks`` package, so ``-m benchmarks...`` resolves.
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServerInfo:
    url: str
    videosdk_api_key: str
    videosdk_secret: str
    pipecat_api_key: str
    pipecat_public_key: str
    deployment_id: str
    pid: int


@dataclass(frozen=True)
class ServerStats:
    """The server process's CPU seconds so far and its counters since the last reset."""

    cpu: float
    accepted: int
    ports: int
    open: int
    peak_open: int
    requests: int


class EmulatorProcess:
    """``with EmulatorProcess(sessions=N) as server:`` runs the emulator in a child process;
    ``fast=True`` runs the fast server (``fast_server``) instead."""

    def __init__(
        self,
        *,
        sessions: int = 0,
        pipecat_sessions: int = 0,
        latency_ms: float = 0.0,
        instant_sessions: bool = False,
        fast: bool = False,
    ) -> None:
        if fast:
            # The fast server (``fast_server``): fixed pre-encoded answers, a listing of
            # ``sessions`` items; it takes no other option.
            self._argv = [
                sys.executable,
                "-m",
                "benchmarks.fast_server",
                "--port",
                "0",
                "--sessions",
                str(sessions),
            ]
            self._process: subprocess.Popen[str] | None = None
            self._info: ServerInfo | None = None
            return
        self._argv = [
            sys.executable,
            "-m",
            "benchmarks.emulator_server",
            "--port",
            "0",
            "--sessions",
            str(sessions),
            "--pipecat-sessions",
            str(pipecat_sessions),
            "--latency-ms",
            str(latency_ms),
        ]
        if instant_sessions:
            self._argv.append("--instant-sessions")
        self._process: subprocess.Popen[str] | None = None
        self._info: ServerInfo | None = None

    @property
    def info(self) -> ServerInfo:
        if self._info is None:
            raise RuntimeError("the emulator process is not running")
        return self._info

    def __enter__(self) -> Self:
        process = subprocess.Popen(
            self._argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        try:
            self._info = ServerInfo(**self._read(process))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # end of input: the server shuts down
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _read(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        stdout: IO[str] | None = process.stdout
        line = stdout.readline() if stdout is not None else ""
        if not line:
            raise RuntimeError(f"the emulator process exited early ({process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _command(self, command: str) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None:
            raise RuntimeError("the emulator process is not running")
        process.stdin.write(command + "\n")
        process.stdin.flush()
        return self._read(process)

    def stats(self) -> ServerStats:
        return ServerStats(**self._command("stats"))

    def reset(self) -> None:
        self._command("reset")
