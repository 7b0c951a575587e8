"""Test helpers: an emulator of every registered agent cloud.

    from agentcloud.testing import Emulator, FaultPlan, ManualClock

    async with Emulator(clock=ManualClock()) as emu:
        ...  # point any HTTP client, or a client from emu.<provider>(), at emu.url

The emulator writes and reads the vendors' JSON itself, from their documentation; it
never uses the SDK's models or converters, so a mapping mistake cannot hide on both sides.

The core here names no vendor. Each provider's emulator is a package of its own (named by
its registry entry; see `agentcloud.testing._world` for what it provides), whose
``EXPORTS`` are re-exported here. Names are imported on first use, so importing this
package (as the pytest plugin does in every run) costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._clock import Clock as Clock
    from ._clock import ManualClock as ManualClock
    from ._clock import SystemClock as SystemClock
    from ._emulator import Emulator as Emulator
    from ._faults import FaultKind as FaultKind
    from ._faults import FaultPlan as FaultPlan
    from ._lifecycle import Lifecycle as Lifecycle
    from ._lifecycle import Phase as Phase
    from ._mode import FakeTime as FakeTime
    from ._mode import fake_time as fake_time
    from ._mode import set_testing as set_testing
    from ._recording import RecordedRequest as RecordedRequest
    from ._recording import RequestLog as RequestLog
    from ._serve import serve as serve
    from ._webhooks import WebhookDelivery as WebhookDelivery

_CORE = {
    "Clock": "._clock",
    "ManualClock": "._clock",
    "SystemClock": "._clock",
    "Emulator": "._emulator",
    "FaultKind": "._faults",
    "FaultPlan": "._faults",
    "Lifecycle": "._lifecycle",
    "Phase": "._lifecycle",
    "RecordedRequest": "._recording",
    "RequestLog": "._recording",
    "serve": "._serve",
    "WebhookDelivery": "._webhooks",
    "FakeTime": "._mode",
    "set_testing": "._mode",
    "fake_time": "._mode",
}


def _provider_exports() -> dict[str, Any]:
    """Every name a provider's emulator package re-exports here, with its module."""
    from ._registry import load_world_modules

    return {name: module.module for module in load_world_modules() for name in module.exports}


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted([*_CORE, *_provider_exports()])
    if name in _CORE:
        value = getattr(importlib.import_module(_CORE[name], __name__), name)
    else:
        owner = _provider_exports().get(name)
        if owner is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(owner, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_CORE, *_provider_exports()})
