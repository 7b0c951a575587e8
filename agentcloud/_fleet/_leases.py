"""Leases: a client's promise to end its sessions, kept in Redis so it outlives the process.

A client given ``fleet=`` leases each session it has promised to end: every session
started under ``async with``, and with ``end_on_close=True`` every session it holds. (A
session started with a plain ``await`` and no ``end_on_close`` is the caller's to end, and
ending it when its starter dies could cut a call another service still serves.)

A lease is two keys: the lease's record in the namespace's hash (what a reaper needs to end
the session: provider, id, the arguments ``sessions.end`` takes beside the id, or the
route the provider ends it by when ``sessions.end`` is not the way), and a
liveness key holding the holder's name with a TTL that one heartbeat task per client
renews. A holder that stops renewing (killed, frozen, cut off from Redis for longer than
the TTL) lets the liveness key expire, and a reaper then ends the session. A session that
ends is released at once. ``held`` and ``released`` are called synchronously by the
client, so they only note the change and wake the heartbeat, which writes it: a Redis that
is down or slow never delays a start or an end (it is logged, and written when it is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

from ..errors import FleetUnavailableError
from ..models import Session
from ._link import Core, Link
from ._scripts import ABANDON, SYNC_LEASES

__all__ = ["LeaseListener", "end_arguments", "lease_field", "process_name"]

logger = logging.getLogger("agentcloud")


def lease_field(provider: str, session_id: str) -> str:
    """The lease's name in the namespace: ``provider:session_id``."""
    return f"{provider}:{session_id}"


def process_name(role: str) -> str:
    """Who holds or claims a lease, for people reading Redis: role, host, pid, a nonce."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def end_arguments(end: Any) -> tuple[str, ...]:
    """The keyword arguments ``sessions.end`` takes beside the id and ``timeout`` (an
    agent, a room...): a lease keeps the session's values of them, so a reaper in another
    process can end it the way its holder would have."""
    try:
        parameters = list(inspect.signature(end).parameters.values())
    except (TypeError, ValueError):
        return ()
    return tuple(
        parameter.name
        for parameter in parameters[1:]
        if parameter.name != "timeout"
        and parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    )


class LeaseListener:
    """Leases the sessions one client has promised to end (a ``HoldListener``).

    Its heartbeat task runs on the client's event loop while there is anything to write
    or renew, and is stopped by ``aclose()``, which the client awaits when it closes:
    sessions it could not end are then left to the reaper at once.
    """

    def __init__(self, core: Core, client: Any, *, ttl: float, heartbeat: float) -> None:
        self._core = core
        self._client = client
        self._provider: str = client.provider
        self._every_held = bool(getattr(client, "_end_on_close", False))
        self.owner = process_name("holder")
        self._ttl_ms = max(1, round(ttl * 1000))
        self._heartbeat = heartbeat
        self._end_names: tuple[str, ...] | None = None
        #: Leases to keep: field -> record.
        self._records: dict[str, str] = {}
        #: Leases not yet written.
        self._unwritten: set[str] = set()
        #: Leases a write was sent for (it may have landed even if it failed).
        self._attempted: set[str] = set()
        #: Leases to remove from Redis.
        self._releasing: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"LeaseListener({self._provider}, leases={len(self._records)})"

    @property
    def leased(self) -> frozenset[str]:
        """The ids of the sessions this client leases."""
        prefix = len(self._provider) + 1
        return frozenset(field[prefix:] for field in self._records)

    def held(self, session: Session, *, managed: bool) -> None:
        if self._closed:
            return
        if not (managed or self._every_held):
            # Held but not (or no longer) promised an end: a blocking start is entered as
            # managed, then let go as merely held when no ``with`` block takes it. A lease
            # left behind would have the reaper end a session its caller keeps running.
            self.released(session.id)
            return
        field = lease_field(self._provider, session.id)
        self._records[field] = self._record(session)
        self._unwritten.add(field)
        self._releasing.discard(field)
        self._kick()

    def released(self, session_id: str) -> None:
        field = lease_field(self._provider, session_id)
        if self._records.pop(field, None) is None:
            return
        self._unwritten.discard(field)
        if field in self._attempted:
            self._releasing.add(field)
        self._kick()

    def _record(self, session: Session) -> str:
        if self._end_names is None:
            sessions = getattr(self._client, "sessions", None)
            self._end_names = end_arguments(getattr(sessions, "end", None))
        arguments = {
            name: value
            for name in self._end_names
            if isinstance(value := getattr(session, name, None), str)
        }
        route = getattr(self._client, "_end_route", lambda _: None)(session)
        # No more than ending needs: a session's other fields may hold room tokens.
        return json.dumps(
            {
                "provider": self._provider,
                "session_id": session.id,
                "end": arguments,
                **({"route": route} if isinstance(route, str) else {}),
                "deployment_id": session.deployment_id,
                "holder": self.owner,
                "leased_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "attempts": 0,
            },
            separators=(",", ":"),
        )

    def _kick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop here: the next heartbeat writes it
            return
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._beat())

    def _pending(self) -> bool:
        return bool(self._records or self._releasing)

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        assert wake is not None
        renew_at = loop.time() + self._heartbeat
        while True:
            wake.clear()
            renewing = loop.time() >= renew_at
            written = await self._sync(renew=renewing)
            if renewing:
                renew_at = loop.time() + self._heartbeat
            if not self._pending() or self._core.closed or self._closed:
                return
            pause = max(0.0, renew_at - loop.time())
            if not written:
                # Redis failed: try again at the next heartbeat, not at every change.
                await asyncio.sleep(pause)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await wake.wait()

    async def _sync(self, *, renew: bool) -> bool:
        """Writes what changed (and renews every lease when ``renew``); False when Redis
        could not be reached."""
        new = list(self._unwritten)
        releasing = list(self._releasing)
        renewing = [field for field in self._records if field not in self._unwritten]
        if not renew:
            renewing = []
        if not (new or releasing or renewing):
            return True
        fields = [*new, *releasing, *renewing]
        keys = [self._core.keys.leases, *(self._core.keys.lease(field) for field in fields)]
        arguments: list[Any] = [self.owner, self._ttl_ms, len(new), len(releasing), *fields]
        arguments += [self._records[field] for field in new]
        self._attempted.update(new)

        async def sync(link: Link) -> Any:
            lost = await link.script("sync", SYNC_LEASES)(keys=keys, args=arguments)
            if not isinstance(lost, list | None):  # the fleet reports it as Redis failing
                raise TypeError(f"the lease script answered {type(lost).__name__}, not a list")
            return lost

        try:
            lost = await self._core.call("lease heartbeat", sync)
        except FleetUnavailableError:
            return False  # logged by the fleet; the leases are written once it is back
        self._unwritten.difference_update(new)
        self._releasing.difference_update(releasing)
        self._attempted.difference_update(releasing)
        for raw in lost or ():
            field = raw.decode() if isinstance(raw, bytes) else str(raw)
            if self._records.pop(field, None) is not None:
                self._attempted.discard(field)
                logger.warning(
                    "fleet lease of session %s was taken by a reaper: this process did not "
                    "renew it within the lease TTL, so the session is being ended",
                    field.partition(":")[2],
                )
        return True

    async def aclose(self) -> None:
        """Writes the last changes and leaves the leases of sessions the client could not
        end to the reaper (they expire now); bounded by the fleet's timeout."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._core.closed or not (self._pending() or self._unwritten):
            return
        if not await self._sync(renew=False):
            return
        leftovers = list(self._records)
        if not leftovers:
            return
        keys = [self._core.keys.lease(field) for field in leftovers]
        try:
            await self._core.call(
                "lease release",
                lambda link: link.script("abandon", ABANDON)(keys=keys, args=[self.owner]),
            )
        except FleetUnavailableError:
            return  # they expire with their TTL instead
        logger.warning(
            "fleet: %d session(s) this %s client could not end are left to the reaper",
            len(leftovers),
            self._provider,
        )
