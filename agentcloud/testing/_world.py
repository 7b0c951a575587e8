"""The seam between the emulator's core and one vendor: the `World` protocol.

A vendor's emulator is one module (usually a package ``agentcloud/testing/<vendor>/``),
named by the ``emulator`` field of the vendor's `agentcloud.providers.ProviderInfo`. The
core imports that module and looks up one name in it:

``World``
    A class called as ``World(context, **options)`` that satisfies `World` below.
    ``context`` is a `WorldContext`; ``options`` are the `Emulator` keywords spelt
    ``<provider>_<option>`` (``Emulator(acme_api_key="k")`` calls ``World(context,
    api_key="k")``), so the keyword-only parameters of ``World.__init__`` are the
    vendor's constructor options.

and, optionally, ``EXPORTS``: names of that module which ``agentcloud.testing`` re-exports.

The core serves every world on one aiohttp server: a request goes to the world owning the
longest of its ``path_prefixes`` that starts the path (a world owning "/" answers every
path no other world claims). Faults, router errors (unknown path, wrong method) and every
`Refusal` a handler raises are answered in the owning world's error shape.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web
from attrs import frozen
from cryptography.hazmat.primitives.asymmetric import rsa

from ._json import json_response
from ._state import SessionBook, SessionRecord
from ._webhooks import WebhookDispatcher

__all__ = [
    "ErrorShapes",
    "PlainErrors",
    "Refusal",
    "Router",
    "World",
    "WorldContext",
    "WorldModule",
    "load_world_modules",
    "world_options",
]

logger = logging.getLogger("agentcloud")


class Refusal(Exception):
    """A request refused with an HTTP error, raised by a handler's checks.

    The pipeline catches it and asks the owning world to render it in its error shape:
    `status`, a human `message`, the vendor's own `code` if it has one, `extra` fields of
    the body and `headers` of the answer.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.extra = extra


@frozen(kw_only=True)
class WorldContext:
    """What the core lends every world."""

    sessions: SessionBook
    """Seeded ids, the clock, session timers and phase announcements."""
    webhooks: WebhookDispatcher
    """Sends signed webhook POSTs in the background and records each outcome."""
    base_url: Callable[[], str]
    """The emulator's URL (scheme, host, port), once it is started."""
    webhook_private_key: rsa.RSAPrivateKey | None
    """The `Emulator`'s `webhook_private_key`, for vendors that sign webhooks with one."""


class ErrorShapes(Protocol):
    """How a vendor words the errors the core answers on its behalf."""

    server_error_message: str
    """The message of the vendor's own 500 answer."""

    def error_response(self, refusal: Refusal) -> web.Response:
        """`refusal` in this vendor's error shape."""
        ...

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        """This vendor's 429 answer, with Retry-After when `retry_after` is given."""
        ...


class PlainErrors:
    """The shape of errors on a path no world claims: ``{"message": ...}``."""

    server_error_message = "Internal server error"

    def error_response(self, refusal: Refusal) -> web.Response:
        return json_response({"message": refusal.message}, status=refusal.status)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return json_response({"message": "Rate limit exceeded"}, status=429, headers=headers)


class World(ErrorShapes, Protocol):
    """One vendor's emulated cloud: its records, its wire and its manners.

    Attributes listed in `attributes` are served as ``emu.<name>_<attribute>``; one whose
    name starts with ``add_`` is served as ``emu.add_<name>_<rest>``. ``emu.<name>(...)``
    is `client`.
    """

    name: str
    """The provider's registry name."""
    path_prefixes: tuple[str, ...]
    """URL path prefixes this vendor's API lives under."""
    attributes: tuple[str, ...]
    """Credentials, seeded ids and helpers the `Emulator` exposes for this vendor."""

    def routes(self) -> Sequence[web.RouteDef]:
        """The vendor's endpoints; handlers raise `Refusal` to answer an error."""
        ...

    def seed_world(self) -> None:
        """Add what a first session needs (a deployment, an agent...)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Credentials to redact wherever a request log would show them."""
        ...

    @property
    def sessions(self) -> Mapping[str, SessionRecord]:
        """Every session of this vendor, by id."""
        ...

    @property
    def seed_sessions(self) -> Callable[..., list[str]]:
        """``seed_sessions(plan: SeedPlan, **options) -> ids``: add the past sessions of
        `plan`, newest first; keyword `options` of the vendor's own say where they belong
        (which deployment, agent...), defaulting to the seeded one."""
        ...

    def client(self, **kwargs: Any) -> Any:
        """The SDK's client for this vendor, wired to the emulator."""
        ...

    def environment(self) -> dict[str, str]:
        """Environment variables that point the vendor's tools at the emulator."""
        ...


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


class Router:
    """Which world owns a path: the longest claimed prefix wins."""

    def __init__(self, worlds: Sequence[World]) -> None:
        claims = [(prefix, world) for world in worlds for prefix in world.path_prefixes]
        self._claims = sorted(claims, key=lambda claim: -len(claim[0]))
        self._unclaimed = PlainErrors()

    def owner(self, path: str) -> ErrorShapes:
        for prefix, world in self._claims:
            if path.startswith(prefix):
                return world
        return self._unclaimed
