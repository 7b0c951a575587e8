"""The reaper: ends the sessions whose holder stopped renewing their lease.

Safe to run on every replica at once. A lease is claimed atomically (a Lua script sets the
liveness key, in the reaper's name, only while it is absent), so one reaper ends each
session; the claim outlasts the end's own deadline, so no other reaper takes it meanwhile.
An end that succeeds, or finds the session gone (NotFoundError), removes the lease; one
that fails notes the error in the lease and keeps it claimed for one lease TTL, after
which any reaper tries again: an end is retried, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import FleetUnavailableError, NotFoundError
from ._leases import end_arguments, process_name
from ._link import Core
from ._scripts import CLAIM, DEFER, SETTLE

__all__ = ["Reaped", "reap"]

logger = logging.getLogger("agentcloud")

#: Lease records read per scan of the namespace's hash.
_SCAN_COUNT = 500


@attrs.frozen(kw_only=True)
class Reaped:
    """One expired lease a reaper dealt with.

    ``ended`` is True when the session was ended (or the vendor no longer knows it) and the
    lease removed; otherwise ``error`` says why, and a later reap tries again. ``attempts``
    counts the ends tried for this lease so far, this one included; ``holder`` names the
    process that held it.
    """

    provider: str
    session_id: str
    ended: bool
    attempts: int
    holder: str | None = None
    error: Exception | None = attrs.field(default=None, eq=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; the error as its type and message."""
        error = self.error
        return {
            "provider": self.provider,
            "session_id": self.session_id,
            "ended": self.ended,
            "attempts": self.attempts,
            "holder": self.holder,
            "error": None if error is None else f"{type(error).__name__}: {error}",
        }


class _Reaper:
    def __init__(
        self, core: Core, clients: Mapping[str, Any], *, ttl: float, timeout: float
    ) -> None:
        self._core = core
        self._clients = clients
        self._owner = process_name("reaper")
        self._timeout = timeout
        # The claim must outlast the end (its deadline) and the write that settles it.
        self._claim_ms = round((timeout + 2 * core.timeout + 1.0) * 1000)
        self._retry_ms = max(1, round(ttl * 1000))

    async def expired(self) -> list[str]:
        """The fields of expired leases whose provider this reaper has a client for."""
        keys = self._core.keys
        prefixes = tuple(f"{provider}:" for provider in self._clients)
        found: dict[str, None] = {}
        cursor: int = 0
        while True:
            cursor, page = await self._scan(cursor)
            fields = [
                text
                for raw in page
                if (text := raw.decode() if isinstance(raw, bytes) else str(raw)).startswith(
                    prefixes
                )
            ]
            if fields:
                alive = await self._alive([keys.lease(field) for field in fields])
                for field, living in zip(fields, alive, strict=True):
                    if not living:
                        found[field] = None  # HSCAN may return a field twice
            if cursor == 0:
                return list(found)

    async def _scan(self, cursor: int) -> tuple[int, Mapping[Any, Any]]:
        leases = self._core.keys.leases

        async def scan(link: Any) -> tuple[int, Mapping[Any, Any]]:
            next_cursor, page = await link.commands.hscan(leases, cursor, count=_SCAN_COUNT)
            return int(next_cursor), page

        return await self._core.call("reap", scan)

    async def _alive(self, keys: list[str]) -> list[bool]:
        async def exists(link: Any) -> list[bool]:
            pipe = link.commands.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
            return [bool(count) for count in await pipe.execute()]

        return await self._core.call("reap", exists)

    async def end(self, field: str) -> Reaped | None:
        """Claims the lease and ends its session; None when another process has it."""
        keys = [self._core.keys.leases, self._core.keys.lease(field)]
        raw = await self._core.call(
            "reap",
            lambda link: link.script("claim", CLAIM)(
                keys=keys, args=[self._owner, self._claim_ms, field]
            ),
        )
        if not raw:
            return None
        record = _record(raw, field)
        provider, session_id = record["provider"], record["session_id"]
        attempts = int(record.get("attempts") or 0) + 1
        holder = record.get("holder") if isinstance(record.get("holder"), str) else None
        client = self._clients[provider]
        route = record.get("route")
        try:
            ender = getattr(client, "_end_leased", None)
            if ender is not None:
                await ender(
                    session_id,
                    route=route if isinstance(route, str) else None,
                    arguments=_end_keywords(client, record),
                    timeout=self._timeout,
                )
            else:  # a client of another kind: its sessions.end is the only way it has
                await client.sessions.end(
                    session_id, **_end_keywords(client, record), timeout=self._timeout
                )
        except NotFoundError:
            pass  # nothing left to end
        except Exception as error:
            if not isinstance(error, FleetUnavailableError):
                logger.warning(
                    "fleet reaper could not end %s session %s (attempt %d); it is tried again "
                    "in %.3gs",
                    provider,
                    session_id,
                    attempts,
                    self._retry_ms / 1000,
                    exc_info=True,
                )
            record.update(attempts=attempts, last_error=f"{type(error).__name__}: {error}")
            await self._defer(keys, field, record)
            return Reaped(
                provider=provider,
                session_id=session_id,
                ended=False,
                attempts=attempts,
                holder=holder,
                error=error,
            )
        # Should this fail, the session is ended but its lease stays: once the claim
        # expires another reaper ends it again, which changes nothing (ended stays ended).
        with contextlib.suppress(FleetUnavailableError):
            await self._core.call(
                "reap", lambda link: link.script("settle", SETTLE)(keys=keys, args=[field])
            )
        return Reaped(
            provider=provider, session_id=session_id, ended=True, attempts=attempts, holder=holder
        )

    async def _defer(self, keys: list[str], field: str, record: dict[str, Any]) -> None:
        text = json.dumps(record, separators=(",", ":"))
        # Should this fail, the claim expires on its own and the end is tried again then.
        with contextlib.suppress(FleetUnavailableError):
            await self._core.call(
                "reap",
                lambda link: link.script("defer", DEFER)(
                    keys=keys, args=[self._owner, self._retry_ms, field, text]
                ),
            )


def _record(raw: Any, field: str) -> dict[str, Any]:
    """The lease's record; one that does not parse still names its session (the field)."""
    provider, _, session_id = field.partition(":")
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        record = {}
    # The field is what the lease is filed under: it decides, whatever the record says.
    record["provider"], record["session_id"] = provider, session_id
    return record


def _end_keywords(client: Any, record: Mapping[str, Any]) -> dict[str, str]:
    """The keyword arguments the holder's session gave ``sessions.end`` that this SDK's
    ``end`` still takes (text only)."""
    given = record.get("end")
    if not isinstance(given, Mapping):
        return {}
    accepted = end_arguments(client.sessions.end)
    return {
        name: value for name, value in given.items() if name in accepted and isinstance(value, str)
    }


async def reap(
    core: Core,
    clients: Mapping[str, Any],
    *,
    ttl: float,
    timeout: float,
    concurrency: int,
) -> list[Reaped]:
    """One pass: every expired lease of ``clients``' providers is claimed and ended."""
    reaper = _Reaper(core, clients, ttl=ttl, timeout=timeout)
    pending = await reaper.expired()
    results: list[Reaped] = []
    failures: list[FleetUnavailableError] = []

    async def work() -> None:
        # Each worker claims one lease just before ending it, so no claim waits in a queue.
        while pending:
            field = pending.pop()
            try:
                outcome = await reaper.end(field)
            except FleetUnavailableError as error:
                failures.append(error)
                pending.clear()  # Redis is failing: claim nothing more; ends under way finish
                return
            if outcome is not None:
                results.append(outcome)

    await asyncio.gather(*(work() for _ in range(min(concurrency, len(pending)))))
    if failures:
        raise failures[0]
    return results
