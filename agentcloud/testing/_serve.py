"""Run the emulator standalone (what the `agentcloud emulator` command calls)."""

from __future__ import annotations

from typing import Any

from ._emulator import Emulator
from ._faults import FaultPlan
from ._lifecycle import Lifecycle

__all__ = ["serve"]


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency: float = 0.0,
    fault_rate: float = 0.0,
    sessions: int = 0,
    seed: int | None = None,
    lifecycle: Lifecycle | None = None,
    **provider_options: Any,
) -> Emulator:
    """Start an emulator and return it running; the caller closes it.

    `sessions` past sessions are seeded per provider; `fault_rate` enables a FaultPlan
    with every fault kind equally likely (seeded by `seed`, or 0); `lifecycle` sets the
    session timers; `provider_options` are the `Emulator`'s ``<provider>_<option>``
    keywords (fixed credentials, say). Prints nothing.
    """
    emulator = Emulator(
        host=host,
        port=port,
        seed=seed,
        latency=latency,
        lifecycle=lifecycle,
        faults=FaultPlan(rate=fault_rate, seed=seed or 0) if fault_rate > 0 else None,
        **provider_options,
    )
    if sessions:
        for provider in emulator.worlds:
            emulator.seed_sessions(provider, sessions, seed=seed or 0)
    await emulator.start()
    return emulator
