"""``agentcloud fleet reap``: ends the sessions whose holder died, from a shell, a cron job
or a sidecar (``--every SECONDS``).

Clients come from the registry and the environment, as for every other command; the
fleet's Redis from ``--redis-url`` (or ``AGENTCLOUD_REDIS_URL``). Each lease dealt with is
printed as one JSON line. Exit 0 when every claimed end succeeded; otherwise the code of
the first failure's family (see ``agentcloud --help``): that end is tried again by the next
pass.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["NAMESPACE_ENV", "REDIS_URL_ENV", "add_fleet_parser", "run_fleet_command"]

REDIS_URL_ENV = "AGENTCLOUD_REDIS_URL"
NAMESPACE_ENV = "AGENTCLOUD_FLEET_NAMESPACE"


def add_fleet_parser(
    commands: Any, providers: Sequence[str], seconds: Callable[[str], float], epilog: str
) -> argparse.ArgumentParser:
    fleet: argparse.ArgumentParser = commands.add_parser(
        "fleet", help="what a fleet of processes shares on Redis"
    )
    actions = fleet.add_subparsers(dest="action", metavar="ACTION")
    reap = actions.add_parser(
        "reap",
        help="end every session whose lease expired (its holder died)",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reap.add_argument(
        "--redis-url",
        default=os.environ.get(REDIS_URL_ENV) or None,
        help=f"the fleet's Redis (default ${REDIS_URL_ENV})",
    )
    reap.add_argument(
        "--namespace",
        default=os.environ.get(NAMESPACE_ENV) or "default",
        help=f"the fleet's namespace (default ${NAMESPACE_ENV}, then 'default')",
    )
    reap.add_argument(
        "--provider",
        action="append",
        choices=providers,
        help="whose leases to reap; repeatable (default: every provider whose credentials "
        "are in the environment)",
    )
    reap.add_argument(
        "--base-url", help="scheme, host and port of the APIs or emulator (default per provider)"
    )
    reap.add_argument("--allow-insecure", action="store_true", help="allow a plain-http --base-url")
    reap.add_argument(
        "--timeout", type=seconds, default=None, help="seconds each end may take (default 30)"
    )
    reap.add_argument(
        "--every",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="reap again every SECONDS until interrupted",
    )
    reap.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="DEBUG logs (redacted)",
    )
    return fleet


async def run_fleet_command(
    args: argparse.Namespace,
    providers: Sequence[str],
    make_client: Callable[[str], Any],
    emit: Callable[[dict[str, Any]], None],
) -> int:
    from .._commands import UsageError
    from ..cli import describe, exit_code_for
    from ..errors import FleetUnavailableError, InvalidRequestError
    from ..fleet import Fleet

    if not args.redis_url:
        raise UsageError(f"name the fleet's Redis: --redis-url URL (or set {REDIS_URL_ENV})")
    chosen = args.provider or list(providers)
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Any] = {}
        for name in chosen:
            try:
                client = make_client(name)
            except InvalidRequestError:
                if args.provider:
                    raise
                continue  # no credentials for it here: its leases wait for another reaper
            stack.push_async_callback(client.aclose)
            clients[name] = client
        if not clients:
            raise UsageError(
                "no provider's credentials are in the environment; set them or pass --provider"
            )
        fleet = Fleet(args.redis_url, namespace=args.namespace)
        stack.push_async_callback(fleet.aclose)
        timeout = args.timeout if args.timeout is not None else 30.0
        while True:
            try:
                reaped = await fleet.reap(clients, timeout=timeout)
            except FleetUnavailableError as error:
                if args.every is None:
                    raise
                print(f"agentcloud: {describe(error)}", file=sys.stderr)
                reaped = []
            failed = [item.error for item in reaped if item.error is not None]
            for item in reaped:
                emit(item.to_dict())
            if args.every is None:
                return exit_code_for(failed[0]) if failed else 0
            await asyncio.sleep(args.every)
