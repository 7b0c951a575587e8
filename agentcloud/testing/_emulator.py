"""The Emulator: every registered agent cloud on one real aiohttp server on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from .._sync._portal import Portal
from ._clock import Clock, SystemClock
from ._faults import FaultInjector, FaultPlan
from ._lifecycle import Lifecycle, Phase
from ._pipeline import NetworkConditions, Router, build_pipeline
from ._recording import BoundedLog, RequestLog
from ._registry import load_world_modules, world_options
from ._seeding import SEED_NEWEST_AT, SeedPlan
from ._state import SessionBook, SessionRecord
from ._webhooks import WebhookDelivery, WebhookDispatcher
from ._world import World, WorldContext

__all__ = ["Emulator"]

T = TypeVar("T")

# Big enough that a vendor's own size limits answer oversized bodies, not aiohttp's.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Enough for any test's assertions, and a bound on the memory of a long-running emulator.
DEFAULT_MAX_RECORDED_REQUESTS = 10_000


def _served_names(world: World) -> dict[str, str]:
    """Emulator attribute name -> world attribute name, for one world."""
    names = {world.name: "client"}
    for attribute in world.attributes:
        if attribute.startswith("add_"):
            names[f"add_{world.name}_{attribute.removeprefix('add_')}"] = attribute
        else:
            names[f"{world.name}_{attribute}"] = attribute
    return names


class Emulator:
    """Every registered agent cloud, emulated on http://127.0.0.1:PORT.

    `async with Emulator() as emu:` starts it on a free port; `with Emulator() as emu:`
    does the same for blocking code, serving from a thread (and event loop) of its own,
    where the calls that change its world (seeding, `add_...`, `session_phase`...) then
    run too, so they never race the requests it serves. Each provider in the
    registry (`agentcloud.providers`) that names an emulator module is served, seeded with
    what a first session needs; credentials are random unless given.

    A provider's own names are served as ``emu.<provider>_<name>`` (credentials, seeded
    ids, helpers) and ``emu.add_<provider>_<thing>(...)``, beside a client factory
    ``emu.<provider>(**kwargs)`` returning the SDK's client wired to the emulator; each
    provider's emulator package (``agentcloud.testing.<provider>``) lists its names, and
    ``dir(emu)`` shows them all.

    - host, port: where to listen (port 0 picks a free one).
    - clock: drives session timers and timestamps; a `ManualClock` makes tests
      deterministic.
    - seed: fixes the ids of new sessions and which ones fail (with
      `Lifecycle.failure_rate`).
    - lifecycle: default session timers (`Lifecycle`); deployments and agents may override.
    - latency: real seconds every request waits before it is handled (`emu.latency`).
    - faults: a `FaultPlan`, or None (`emu.faults`, changeable while running).
    - webhook_private_key: RSA key for providers that sign webhooks with one (default: a
      new 2048-bit key).
    - webhook_timeout: seconds one webhook POST may take before it is recorded as failed.
    - max_recorded_requests: how many requests `emu.requests` keeps, the newest (default
      10,000; None keeps all); `emu.requests.dropped` counts the ones let go.
    - ``<provider>_<option>``: a provider's own options, such as its credentials (see its
      emulator package); any other keyword is a TypeError.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        seed: int | None = None,
        lifecycle: Lifecycle | None = None,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        webhook_private_key: rsa.RSAPrivateKey | None = None,
        webhook_timeout: float = 5.0,
        max_recorded_requests: int | None = DEFAULT_MAX_RECORDED_REQUESTS,
        **provider_options: Any,
    ) -> None:
        self.host = host
        """The address it listens on."""
        self._requested_port = port
        self._port: int | None = None
        self.clock: Clock = clock or SystemClock()
        """The clock that drives session timers and timestamps."""
        self._book = SessionBook(clock=self.clock, lifecycle=lifecycle or Lifecycle(), seed=seed)
        self._dispatcher = WebhookDispatcher(timeout=webhook_timeout, limit=max_recorded_requests)
        self._conditions = NetworkConditions()
        self.latency = latency
        self.faults = faults
        self._requests = RequestLog(max_recorded_requests)

        modules = load_world_modules()
        options = world_options(modules, provider_options)
        context = WorldContext(
            sessions=self._book,
            webhooks=self._dispatcher,
            base_url=lambda: self.url,
            webhook_private_key=webhook_private_key,
        )
        worlds = {
            module.provider: module.world(context, **options[module.provider]) for module in modules
        }
        # Every world exists before any is seeded, so seeding may draw ids in a fixed order.
        for world in worlds.values():
            world.seed_world()
        self._worlds: Mapping[str, World] = MappingProxyType(worlds)
        self._served: dict[str, tuple[World, str]] = {
            served: (world, attribute)
            for world in worlds.values()
            for served, attribute in _served_names(world).items()
        }
        self._book.add_listener(self._wake_timer_driver)

        self._runner: web.AppRunner | None = None
        self._portal: Portal | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._timers_changed = asyncio.Event()
        self._driver_due: float | None = None

    # ---- a provider's own names

    def __getattr__(self, name: str) -> Any:
        served = self.__dict__.get("_served", {}).get(name)
        if served is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        world, attribute = served
        value = getattr(world, attribute)
        if callable(value) and self.__dict__.get("_portal") is not None:
            return functools.partial(self._at_home, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._served})

    @property
    def worlds(self) -> Mapping[str, World]:
        """Each served provider's world (its records and wire), by provider name."""
        return self._worlds

    def environment(self) -> dict[str, str]:
        """Environment variables that point each provider's tools at this emulator."""
        variables: dict[str, str] = {}
        for world in self._worlds.values():
            variables.update(world.environment())
        return variables

    # ---- lifecycle of the server itself

    async def start(self) -> None:
        """Start serving (idempotent)."""
        if self._runner is not None:
            return
        self._conditions.closing = asyncio.Event()
        router = Router(list(self._worlds.values()))
        app = web.Application(
            middlewares=[
                build_pipeline(
                    conditions=self._conditions,
                    clock=self.clock,
                    tick=self._book.tick,
                    log=self._requests,
                    secrets=self._secrets(),
                    shapes_of=router.owner,
                )
            ],
            client_max_size=MAX_REQUEST_BYTES,
        )
        for world in self._worlds.values():
            app.add_routes(world.routes())
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        await self._dispatcher.open()
        self._timer_task = asyncio.get_running_loop().create_task(self._drive_timers())

    async def close(self) -> None:
        """Stop serving: stalled requests are cut, undelivered webhooks dropped (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._conditions.closing.set()
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
            self._timer_task = None
        await runner.cleanup()
        await self._dispatcher.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> Emulator:
        """Serves from a thread of its own until the `with` block ends (blocking code)."""
        if self._portal is not None or self._runner is not None:
            raise RuntimeError("the emulator is already started")
        portal = Portal("emulator")
        try:
            portal.run(self.start)
        except BaseException:
            portal.close()
            raise
        self._portal = portal
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        portal, self._portal = self._portal, None
        if portal is not None:
            portal.close(self.close)

    def _at_home(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Calls `function` on the emulator's own thread when it serves from one."""
        portal = self._portal
        if portal is None or portal.on_own_thread():
            return function(*args, **kwargs)

        async def call() -> T:
            return function(*args, **kwargs)

        return portal.run(call)

    @property
    def port(self) -> int:
        """The port it listens on; RuntimeError before it is started."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def url(self) -> str:
        """Scheme, host and port, e.g. http://127.0.0.1:54321; clients append the paths."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ---- the emulated world

    @property
    def lifecycle(self) -> Lifecycle:
        """Timers of sessions whose deployment or agent sets none; may be replaced any time."""
        return self._book.lifecycle

    @lifecycle.setter
    def lifecycle(self, value: Lifecycle) -> None:
        self._book.lifecycle = value

    def _world(self, provider: str) -> World:
        world = self._worlds.get(provider)
        if world is None:
            raise ValueError(f"unknown provider {provider!r}; one of {', '.join(self._worlds)}")
        return world

    def seed_sessions(
        self,
        provider: str,
        count: int,
        *,
        seed: int = 0,
        newest_at: float = SEED_NEWEST_AT,
        spacing: float = 60.0,
        running: int = 0,
        **options: Any,
    ) -> list[str]:
        """Add `count` past sessions (ids and times fixed by `seed`); returns ids, newest first.

        They are created `spacing` seconds apart, the newest at `newest_at`; the newest
        `running` of them are left running until ended, the rest have ended (about one in
        ten failed). `options` say where they belong, per provider (a deployment and tag,
        an agent...; see its emulator package); by default, the seeded one.
        """
        plan = SeedPlan(
            count=count, seed=seed, newest_at=newest_at, spacing=spacing, running=running
        )
        return self._at_home(self._world(provider).seed_sessions, plan, **options)

    def add_phase_listener(self, listener: Callable[[str, str, Phase], None]) -> None:
        """Call `listener(provider, session_id, phase)` whenever a session enters a phase."""
        self._at_home(
            self._book.add_listener,
            lambda session, phase: listener(session.provider, session.id, phase),
        )

    def session_phase(self, provider: str, session_id: str) -> Phase:
        """Where a session is in its lifecycle, as of the clock's current time.

        KeyError when the provider has no session with that id.
        """
        return self._at_home(self._phase, provider, session_id)

    def _phase(self, provider: str, session_id: str) -> Phase:
        self._book.tick()
        return self._world(provider).sessions[session_id].timeline.phase

    # ---- network knobs and logs

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force; assigning one restarts its random stream."""
        injector = self._conditions.injector
        return injector.plan if injector else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._conditions.injector = FaultInjector(plan) if plan is not None else None

    @property
    def latency(self) -> float:
        """Real seconds every request waits before it is handled."""
        return self._conditions.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._conditions.latency = seconds

    @property
    def requests(self) -> RequestLog:
        """The requests received, oldest first, credentials redacted: a list-like log of
        the newest `max_recorded_requests`, with `.dropped` counting older ones let go."""
        return self._requests

    def clear_requests(self) -> None:
        """Empty the request log (and zero its count of dropped requests)."""
        self._at_home(self._requests.clear)

    @property
    def webhook_deliveries(self) -> BoundedLog[WebhookDelivery]:
        """The webhook POSTs attempted, with their outcomes, in completion order (the newest
        `max_recorded_requests` of them, like `requests`)."""
        return self._dispatcher.deliveries

    async def settle(self) -> None:
        """Apply the transitions due by now and wait until their webhooks are attempted."""
        self._book.tick()
        await self._dispatcher.settle()

    # ---- internals

    def _secrets(self) -> tuple[str, ...]:
        return tuple(secret for world in self._worlds.values() for secret in world.secrets())

    def _wake_timer_driver(self, session: SessionRecord, phase: Phase) -> None:
        due = session.timeline.next_deadline()
        # The driver sleeps towards its earliest deadline, so only an earlier one needs to
        # wake it; waking it on every transition would cost a task pair and a scan each.
        if due is not None and (self._driver_due is None or due < self._driver_due):
            self._timers_changed.set()

    async def _drive_timers(self) -> None:
        """Apply each transition when it falls due, so webhooks go out without polling."""
        while True:
            self._timers_changed.clear()
            self._book.tick()
            deadline = self._book.next_deadline()
            self._driver_due = deadline
            waiters: list[asyncio.Task[Any]] = [asyncio.ensure_future(self._timers_changed.wait())]
            if deadline is not None:
                waiters.append(asyncio.ensure_future(self.clock.sleep(deadline - self.clock.now())))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
