"""The command line under hostile input and hostile vendors.

- ``--body @FILE`` with a binary file, ``/dev/zero``, a file past the size limit, a
  directory, a missing file, or binary standard input: one line on stderr, exit 3, no
  traceback, and bounded memory (each run is a child process under a 1 GiB address-space
  cap, so an unbounded read would die rather than pass).
- A vendor whose error messages, request ids and session fields carry terminal escape
  sequences (clear screen, set title, cursor moves, bidi overrides) cannot make the CLI
  print one raw: error lines, tables, JSON lines and ``-v`` logs show them escaped.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from agentcloud.cli import main

from .attackers import ServerThread
from .support import ScriptedServer, fast_cli_retries

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "PIPECAT_CLOUD_API_KEY": "sk_cli_private_0123456789",
    "PIPECAT_CLOUD_PUBLIC_KEY": "pk_cli_public_0123456789",
    "PIPECAT_CLOUD_AGENT": "a",
    "VIDEOSDK_API_KEY": "vsk_cli_api_key_0123456789",
    "VIDEOSDK_SECRET_KEY": "vsk_cli_secret_0123456789abcdef_long",
}


def capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run_cli(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "agentcloud", *argv],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        preexec_fn=capped,
        check=False,
    )


def body_argument(tmp_path: Path, case: str) -> tuple[str, bytes]:
    if case == "binary file":
        path = tmp_path / "body.bin"
        path.write_bytes(bytes(range(256)) * 64)
        return f"@{path}", b""
    if case == "/dev/zero":
        return "@/dev/zero", b""
    if case == "file past the limit":
        path = tmp_path / "big.json"
        path.write_bytes(b'{"a": "' + b"x" * (2 << 20) + b'"}')
        return f"@{path}", b""
    if case == "a directory":
        return f"@{tmp_path}", b""
    if case == "a missing file":
        return f"@{tmp_path / 'nope.json'}", b""
    if case == "binary stdin":
        return "@-", b"\xff\xfe\x00" * 1000
    return "@-", b"\0" * (8 << 20)  # endless-looking standard input


@pytest.mark.parametrize(
    "case",
    [
        "binary file",
        "/dev/zero",
        "file past the limit",
        "a directory",
        "a missing file",
        "binary stdin",
        "huge stdin",
    ],
)
def test_a_bad_body_file_is_one_line_and_exit_3(tmp_path: Path, case: str) -> None:
    argument, stdin = body_argument(tmp_path, case)
    done = run_cli(
        "sessions", "start", "--provider", "pipecat", "--base-url", "http://127.0.0.1:9",
        "--body", argument, stdin=stdin,
    )  # fmt: skip
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 3, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert len(err.strip().splitlines()) == 1, err[-2000:]
    assert "body" in err


# --- escape sequences from the vendor -----------------------------------------------------

NASTY = "\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\u202egnp.exe\r\x08\x9b31m"


async def nasty_vendor(request: web.Request) -> web.StreamResponse:
    if request.path.endswith("/broken"):
        return web.json_response(
            {"message": f"bad {NASTY}", "code": NASTY},
            status=400,
            headers={"x-request-id": "rid" + NASTY.replace("\r", "").replace("\x08", "")},
        )
    row = {
        "sessionId": f"s{NASTY}",
        "status": NASTY,
        "createdAt": "2024-06-01T00:00:00Z",
        "session_id": f"s{NASTY}",
        "deploymentId": NASTY,
    }
    return web.json_response(
        {
            "data": [row] if "page" in request.query else row,
            "pageInfo": {"totalItems": 1},
            "sessions": [row],
            "total_count": 1,
            **row,
        }
    )


def printable_only(text: str) -> bool:
    return not any(
        (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F or 0x202A <= ord(ch) <= 0x202E
        for ch in text
    )


def test_vendor_escape_sequences_are_never_printed_raw(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_cli_retries(monkeypatch)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with ServerThread(ScriptedServer(nasty_vendor)) as server:
        for provider in ("videosdk", "pipecat"):
            for argv in (
                ["sessions", "get", "broken"],
                ["sessions", "get", "fine"],
                ["sessions", "list"],
            ):
                for output in ("table", "jsonl", "json"):
                    full = ["-v", *argv, "--provider", provider, "--base-url", server.url,
                            "--format", output]  # fmt: skip
                    code = main(full)
                    out, err = capsys.readouterr()
                    assert printable_only(out), f"{full} exit {code} stdout: {out!r}"
                    assert printable_only(err), f"{full} exit {code} stderr: {err!r}"
