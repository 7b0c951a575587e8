"""``agentcloud demo``: the SDK shown working, offline.

Each registered provider whose emulator module offers a scene (its ``DEMO``) plays it
against one in-process emulator; nothing here names a vendor.
"""

from __future__ import annotations

from typing import IO

from .providers import get_provider
from .testing import Emulator
from .testing._registry import load_world_modules

__all__ = ["run_demo"]

#: Past sessions seeded per provider, so listings have pages to walk.
SEEDED = 35


def _line(out: IO[str], text: str) -> None:
    out.write(text + "\n")
    out.flush()


async def run_demo(out: IO[str]) -> int:
    """A whole lifecycle on every provider against an in-process emulator."""
    scenes = [
        (module.provider, module.module.DEMO)
        for module in load_world_modules()
        if getattr(module.module, "DEMO", None) is not None
    ]
    async with Emulator() as emu:
        for provider, _ in scenes:
            emu.seed_sessions(provider, SEEDED)
        _line(out, f"emulator of every agent cloud at {emu.url} ({SEEDED} past sessions each)")
        for provider, scene in scenes:
            _line(out, f"\n== {get_provider(provider).title}")
            await scene(emu, out)
    _line(out, "\ndone: every call above went over real HTTP to the local emulator.")
    return 0
