"""Finding the vendors' worlds through the provider registry, and building their options."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import frozen

from ._world import World

__all__ = ["WorldModule", "load_world_modules", "world_options"]

logger = logging.getLogger("agentcloud")


@frozen(kw_only=True)
class WorldModule:
    """A registered provider whose emulator module was found."""

    provider: str
    world: Callable[..., World]
    exports: tuple[str, ...]
    module: Any


def load_world_modules() -> tuple[WorldModule, ...]:
    """Every registered provider's emulator module, in registry order.

    A provider without one is skipped; one whose module cannot be imported is skipped with
    a warning, as the registry treats a broken plug-in.
    """
    from agentcloud.providers import provider_infos

    found: list[WorldModule] = []
    for info in provider_infos():
        if info.emulator is None:
            continue
        try:
            module = importlib.import_module(info.emulator)
            world = module.World
        except (ImportError, AttributeError):
            logger.warning("could not load the emulator of provider %r", info.name, exc_info=True)
            continue
        if getattr(world, "name", None) != info.name:
            logger.warning(
                "the emulator of provider %r names itself %r; it is not served",
                info.name,
                getattr(world, "name", None),
            )
            continue
        found.append(
            WorldModule(
                provider=info.name,
                world=world,
                exports=tuple(getattr(module, "EXPORTS", ())),
                module=module,
            )
        )
    return tuple(found)


def world_options(
    modules: Sequence[WorldModule], options: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """`Emulator` keywords ``<provider>_<option>`` sorted out per provider.

    A keyword that no world's constructor takes is a TypeError, as for any function.
    """
    per_provider: dict[str, dict[str, Any]] = {module.provider: {} for module in modules}
    # Longest names first, so a provider named like the prefix of another never steals.
    by_length = sorted(modules, key=lambda module: -len(module.provider))
    for keyword, value in options.items():
        owner = next(
            (module for module in by_length if keyword.startswith(module.provider + "_")),
            None,
        )
        option = keyword[len(owner.provider) + 1 :] if owner else ""
        if owner is None or option not in _keyword_options(owner.world):
            raise TypeError(f"Emulator() got an unexpected keyword argument {keyword!r}")
        per_provider[owner.provider][option] = value
    return per_provider


def _keyword_options(world: Callable[..., World]) -> frozenset[str]:
    parameters = inspect.signature(world).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
