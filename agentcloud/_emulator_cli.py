"""``agentcloud emulator``: the local emulator of every registered vendor, standalone.

Every option is checked before anything is served (a bad value prints one line and exits
2); the emulator prints its URL and ``export`` lines with every provider's credentials and
seeded ids, and stops cleanly on Ctrl-C or SIGTERM (exit 130).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
from typing import IO, Any

from ._commands import UsageError

__all__ = ["OPTION_ENV_PREFIX", "add_emulator_parser", "run_emulator_command"]

#: ``AGENTCLOUD_EMULATOR_VIDEOSDK_API_KEY=...`` is ``--set videosdk_api_key=...``.
OPTION_ENV_PREFIX = "AGENTCLOUD_EMULATOR_"


def _option(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not name.replace("_", "").isalnum():
        raise argparse.ArgumentTypeError(f"expected PROVIDER_OPTION=VALUE, got {text!r}")
    return name.lower(), value


def _options(given: list[tuple[str, str]]) -> dict[str, str]:
    options = {
        name[len(OPTION_ENV_PREFIX) :].lower(): value
        for name, value in os.environ.items()
        if name.startswith(OPTION_ENV_PREFIX) and value
    }
    options.update(given)
    return options


def _number(kind: type, *, minimum: float, maximum: float | None = None) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"expected {bounds}, got {text!r}")
        return value

    return parse


def add_emulator_parser(commands: Any) -> argparse.ArgumentParser:
    emulator: argparse.ArgumentParser = commands.add_parser(
        "emulator", help="serve the local emulator of every agent cloud"
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument(
        "--port",
        type=_number(int, minimum=0, maximum=65535),
        default=8787,
        help="port to listen on (0 picks a free one; default 8787)",
    )
    emulator.add_argument(
        "--latency-ms",
        type=_number(float, minimum=0.0),
        default=0.0,
        help="milliseconds every request waits before it is answered",
    )
    emulator.add_argument(
        "--fault-rate",
        type=_number(float, minimum=0.0, maximum=1.0),
        default=0.0,
        help="share (0..1) of requests that get a random fault",
    )
    emulator.add_argument(
        "--sessions",
        type=_number(int, minimum=0),
        default=0,
        help="past sessions seeded per provider",
    )
    emulator.add_argument(
        "--seed", type=int, default=0, help="seed of ids, seeded sessions and faults"
    )
    emulator.add_argument(
        "--start-delay",
        type=_number(float, minimum=0.0),
        default=0.25,
        help="seconds a new session stays queued before it runs (default 0.25)",
    )
    emulator.add_argument(
        "--run-duration",
        type=_number(float, minimum=0.0),
        default=None,
        help="seconds a session runs before it ends by itself (default: until ended)",
    )
    emulator.add_argument(
        "--stop-delay",
        type=_number(float, minimum=0.0),
        default=0.0,
        help="seconds an ending session spends stopping (default 0)",
    )
    emulator.add_argument(
        "--failure-rate",
        type=_number(float, minimum=0.0, maximum=1.0),
        default=0.0,
        help="share (0..1) of new sessions that fail instead of running",
    )
    emulator.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        type=_option,
        metavar="PROVIDER_OPTION=VALUE",
        help=(
            "a provider's emulator option, e.g. a fixed credential (repeatable); also read "
            f"from {OPTION_ENV_PREFIX}<PROVIDER_OPTION> environment variables, so .env and "
            "compose setups keep stable credentials"
        ),
    )
    emulator.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="DEBUG logs (redacted)",
    )
    return emulator


async def run_emulator_command(args: argparse.Namespace, out: IO[str]) -> int:
    """Serves the emulator until interrupted, after printing how to reach it."""
    from .testing import Lifecycle, serve

    lifecycle = Lifecycle(
        start_delay=args.start_delay,
        run_duration=args.run_duration,
        stop_delay=args.stop_delay,
        failure_rate=args.failure_rate,
    )
    try:
        emu = await serve(
            args.host,
            args.port,
            latency=args.latency_ms / 1000.0,
            fault_rate=args.fault_rate,
            sessions=args.sessions,
            seed=args.seed,
            lifecycle=lifecycle,
            **_options(args.options),
        )
    except OSError as error:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
        ) from None
    except TypeError as error:  # an option no provider's emulator takes
        raise UsageError(f"unknown emulator option: {error}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Not every platform or thread can take signal handlers; Ctrl-C still works there.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        for text in _announcement(emu):
            out.write(text + "\n")
        out.flush()
        await stop.wait()  # until SIGTERM; Ctrl-C cancels it (exit 130 in cli.main)
    finally:
        await emu.close()
    return 0


def _announcement(emu: Any) -> list[str]:
    lines = [f"agentcloud emulator listening at {emu.url}"]
    lines += [f"export {name}={value}" for name, value in emu.environment().items()]
    lines.append(f"export AGENTCLOUD_BASE_URL={emu.url}")
    lines.append("# try: agentcloud sessions list --provider NAME")
    return lines
