"""The ``agentcloud`` command: the SDK's operations from a shell, with no logic of its own.

Exit codes, one per family of failure, so scripts can branch on them::

    0  success
    1  any other error (a decode error, an unknown start outcome, ...)
    2  usage: the command line itself is wrong
    3  input: an argument or request the SDK or vendor rejected (InvalidRequestError, 400,
       409, 413)
    4  auth: credentials missing at the vendor, wrong or not allowed (401, 403)
    5  not found (404)
    6  rate limited or unavailable (429, 5xx, connection failures, timeouts)
    7  the session failed (wait saw it fail)
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any, NoReturn

import attrs

from ._version import __version__
from .errors import (
    AgentCloudError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SessionFailedError,
    TransportError,
)

__all__ = ["EXIT_CODES", "main"]

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_UNAVAILABLE = 6
EXIT_SESSION_FAILED = 7
EXIT_INTERRUPTED = 130

#: Error families and their exit codes, most specific first.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (SessionFailedError, EXIT_SESSION_FAILED),
    (InvalidRequestError, EXIT_INPUT),
    (BadRequestError, EXIT_INPUT),
    (ConflictError, EXIT_INPUT),
    (PayloadTooLargeError, EXIT_INPUT),
    (AuthenticationError, EXIT_AUTH),
    (PermissionDeniedError, EXIT_AUTH),
    (NotFoundError, EXIT_NOT_FOUND),
    (RateLimitError, EXIT_UNAVAILABLE),
    (ServerError, EXIT_UNAVAILABLE),
    (TransportError, EXIT_UNAVAILABLE),
)

_EPILOG = """\
exit codes: 0 ok, 1 other error, 2 usage, 3 input rejected, 4 auth, 5 not found,
6 rate limited or unavailable, 7 session failed, 130 interrupted.

credentials come from the environment: VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY;
PIPECAT_CLOUD_API_KEY and PIPECAT_CLOUD_PUBLIC_KEY. AGENTCLOUD_PROVIDER sets the default
--provider, PIPECAT_CLOUD_AGENT the default --agent.
"""


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see."""


def exit_code_for(error: BaseException) -> int:
    for family, code in EXIT_CODES:
        if isinstance(error, family):
            return code
    return EXIT_OTHER


def describe(error: BaseException) -> str:
    """One line naming the problem; the SDK's messages already carry no secret."""
    if isinstance(error, APIError):
        parts = [f"{type(error).__name__}: HTTP {error.status}"]
        if error.code is not None and error.code != str(error.status):
            parts.append(f"code {error.code}")
        parts.append(error.message)
        if error.request_id:
            parts.append(f"request id {error.request_id}")
        return " | ".join(parts)
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"


# --- turning models into JSON -----------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Models to plain JSON values: datetimes as ISO 8601, enums as values, no ``raw``."""
    if attrs.has(type(value)):
        return {
            field.name: to_jsonable(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.name != "raw"
        }
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    return value


_TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("id", 36),
    ("status", 8),
    ("raw_status", 12),
    ("created_at", 24),
    ("ended_at", 24),
    ("duration", 8),
)


def _cell(value: Any, width: int) -> str:
    text = "-" if value is None else str(value)
    if len(text) > width:
        text = text[: width - 1] + "~"
    return text.ljust(width)


def table_header() -> str:
    return "  ".join(_cell(name.upper(), width) for name, width in _TABLE_COLUMNS).rstrip()


def table_row(item: dict[str, Any]) -> str:
    return "  ".join(_cell(item.get(name), width) for name, width in _TABLE_COLUMNS).rstrip()


# --- argument parsing ---------------------------------------------------------------------


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _timestamp(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time, got {text!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentcloud",
        description="Start, end, inspect, wait for and list AI agent sessions on agent clouds.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentcloud {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG logs (redacted)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "demo", help="walk a whole session lifecycle on both providers against an emulator"
    ).add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)

    emulator = commands.add_parser("emulator", help="serve the local emulator of both clouds")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8787)
    emulator.add_argument("--latency-ms", type=float, default=0.0)
    emulator.add_argument("--fault-rate", type=float, default=0.0)
    emulator.add_argument("--sessions", type=int, default=0, help="seed N sessions per provider")
    emulator.add_argument("--seed", type=int, default=0)
    emulator.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)

    sessions = commands.add_parser("sessions", help="operate on sessions")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(
            name,
            help=help_text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--provider",
            choices=("videosdk", "pipecat"),
            default=os.environ.get("AGENTCLOUD_PROVIDER") or None,
        )
        sub.add_argument("--base-url", help="scheme, host and port of the API (or emulator)")
        sub.add_argument(
            "--agent",
            default=os.environ.get("PIPECAT_CLOUD_AGENT") or None,
            help="Pipecat agent name",
        )
        sub.add_argument(
            "--timeout",
            type=_seconds,
            default=None,
            help="seconds per request (for wait: the whole wait)",
        )
        sub.add_argument("--format", choices=("jsonl", "json", "table"), default=None)
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
        return sub

    listing = action("list", "stream the session listing")
    listing.add_argument("--limit", type=_positive_int, default=None, help="stop after N")
    listing.add_argument("--per-page", type=_positive_int, default=100)
    listing.add_argument("--concurrency", type=_positive_int, default=1)
    listing.add_argument("--status", choices=("active", "ended", "all"), help="Pipecat filter")
    listing.add_argument("--deployment-id", help="Pipecat filter")
    listing.add_argument("--start-type", choices=("cold", "warm", "all"), help="Pipecat filter")
    listing.add_argument("--started-after", type=_timestamp, help="Pipecat filter (ISO 8601)")
    listing.add_argument("--started-before", type=_timestamp, help="Pipecat filter (ISO 8601)")

    action("get", "show one session").add_argument("session_id")
    action("end", "end a session").add_argument("session_id")

    start = action("start", "start a session and print it")
    start.add_argument("--deployment-id", help="VideoSDK deployment")
    start.add_argument("--tag", help="VideoSDK deployment tag")
    start.add_argument(
        "--env",
        type=_key_value,
        action="append",
        default=[],
        metavar="K=V",
        help="VideoSDK session environment (repeatable)",
    )
    start.add_argument(
        "--metadata",
        type=_key_value,
        action="append",
        default=[],
        metavar="K=V",
        help="VideoSDK session metadata (repeatable)",
    )
    start.add_argument("--webhook", metavar="URL", help="VideoSDK webhook endpoint")
    start.add_argument(
        "--event",
        action="append",
        default=[],
        help="webhook event to subscribe (repeatable; default all)",
    )
    start.add_argument(
        "--create-daily-room",
        action="store_true",
        default=None,
        help="Pipecat: create a Daily room",
    )
    start.add_argument(
        "--transport", choices=("daily", "webrtc", "websocket"), help="Pipecat transport"
    )
    start.add_argument("--body", metavar="JSON|@FILE", help="Pipecat: JSON handed to the bot")

    wait = action("wait", "wait until a session reaches a status")
    wait.add_argument("session_id")
    wait.add_argument("--until", choices=("running", "ended"), default="running")
    return parser


# --- running ------------------------------------------------------------------------------


class Output:
    """Where results go; a closed pipe ends the command quietly."""

    def __init__(self, stream: IO[str], *, format: str | None, single: bool) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        if format is None:
            format = ("json" if single else "table") if self.tty else "jsonl"
        self.format = format
        self._listing = not single
        self._buffered: list[Any] = []
        self._header_written = False

    def item(self, item: dict[str, Any]) -> None:
        if self.format == "jsonl":
            self.stream.write(json.dumps(item, separators=(",", ":")) + "\n")
        elif self.format == "table":
            if not self._header_written:
                self.stream.write(table_header() + "\n")
                self._header_written = True
            self.stream.write(table_row(item) + "\n")
        else:
            self._buffered.append(item)

    def single(self, item: dict[str, Any]) -> None:
        if self.format == "json":
            indent = 2 if self.tty else None
            self.stream.write(json.dumps(item, indent=indent) + "\n")
        else:
            self.item(item)

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        if self.format == "json" and self._listing:
            indent = 2 if self.tty else None
            self.stream.write(json.dumps(self._buffered, indent=indent) + "\n")
        self.stream.flush()


class Progress:
    """A count-and-rate line on a terminal's stderr for long listings; silent elsewhere."""

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._shown = False
        self.count = 0

    def step(self, count: int = 1) -> None:
        self.count += count
        now = self._clock()
        if self._enabled and now - self._last >= 0.5:
            self._last = now
            rate = self.count / max(now - self._started, 1e-9)
            self._stream.write(f"\r{self.count} sessions, {rate:,.0f}/s ")
            self._stream.flush()
            self._shown = True

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _client(args: argparse.Namespace) -> Any:
    from .providers import connect

    if args.provider is None:
        raise UsageError("choose --provider videosdk|pipecat (or set AGENTCLOUD_PROVIDER)")
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    if args.timeout is not None and args.action != "wait":
        options["timeout"] = args.timeout
    if args.provider == "pipecat" and args.agent:
        options["agent"] = args.agent
    return connect(args.provider, **options)


def _load_body(text: str) -> Any:
    source = text
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                source = handle.read()
        except OSError as error:
            raise InvalidRequestError(
                "--body", f"cannot read {text[1:]!r}: {error.strerror}"
            ) from None
    try:
        return json.loads(source)
    except ValueError as error:
        raise InvalidRequestError("--body", f"not JSON: {error}") from None
    except RecursionError:
        raise InvalidRequestError("--body", "nested too deeply") from None


def _start_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if args.provider == "videosdk":
        if not args.deployment_id or not args.tag:
            raise UsageError("videosdk start needs --deployment-id and --tag")
        kwargs: dict[str, Any] = {"deployment_id": args.deployment_id, "tag": args.tag}
        if args.env:
            kwargs["env"] = dict(args.env)
        if args.metadata:
            kwargs["metadata"] = dict(args.metadata)
        if args.webhook:
            from .models import WEBHOOK_EVENTS, Webhook

            kwargs["webhook"] = Webhook(args.webhook, events=args.event or WEBHOOK_EVENTS)
        elif args.event:
            raise UsageError("--event needs --webhook")
        return kwargs
    kwargs = {}
    if args.create_daily_room is not None:
        kwargs["create_daily_room"] = args.create_daily_room
    if args.transport:
        kwargs["transport"] = args.transport
    if args.body is not None:
        kwargs["body"] = _load_body(args.body)
    return kwargs


def _list_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "per_page": args.per_page,
        "max_items": args.limit,
        "concurrency": args.concurrency,
    }
    filters = {
        "status": args.status,
        "deployment_id": args.deployment_id,
        "start_type": args.start_type,
        "started_after": args.started_after,
        "started_before": args.started_before,
    }
    given = {key: value for key, value in filters.items() if value is not None}
    if given and args.provider != "pipecat":
        raise UsageError(f"--{next(iter(given)).replace('_', '-')} is a Pipecat filter")
    kwargs.update(given)
    return kwargs


async def _sessions(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        if args.action == "list":
            progress = Progress(sys.stderr)
            try:
                async for page in client.sessions.list(**_list_kwargs(args)).pages():
                    for session in page.items:
                        out.item(to_jsonable(session))
                    out.flush()
                    progress.step(len(page.items))
            finally:
                progress.done()
            out.finish()
            return EXIT_OK
        if args.action == "get":
            session = await client.sessions.get(args.session_id)
        elif args.action == "end":
            session = await client.sessions.end(args.session_id)
        elif args.action == "start":
            session = await client.sessions.start(**_start_kwargs(args))
        else:
            session = await client.sessions.wait(
                args.session_id, until=args.until, timeout=args.timeout or 120.0
            )
        out.single(to_jsonable(session))
        out.finish()
        return EXIT_OK


async def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from ._demo import run_demo

        return await run_demo(sys.stdout)
    if args.command == "emulator":
        from ._demo import run_emulator

        return await run_emulator(
            host=args.host,
            port=args.port,
            latency=args.latency_ms / 1000.0,
            fault_rate=args.fault_rate,
            sessions=args.sessions,
            seed=args.seed,
            out=sys.stdout,
        )
    single = args.action != "list"
    return await _sessions(args, Output(sys.stdout, format=args.format, single=single))


def _quiet_broken_pipe() -> NoReturn:
    # Python flushes stdout again at exit; point it at devnull so that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_OK)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (the entry point exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None or (args.command == "sessions" and args.action is None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    logger = logging.getLogger("agentcloud")
    handler: logging.Handler | None = None
    level = logger.level
    if getattr(args, "verbose", False):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        return _main(args)
    finally:
        if handler is not None:  # leave logging as we found it for the next in-process run
            logger.removeHandler(handler)
            logger.setLevel(level)


def _main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except UsageError as error:
        print(f"agentcloud: {error}", file=sys.stderr)
        return EXIT_USAGE
    except AgentCloudError as error:
        print(f"agentcloud: {describe(error)}", file=sys.stderr)
        return exit_code_for(error)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("agentcloud: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
