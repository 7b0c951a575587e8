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
(`agentcloud.testing._registry` finds and builds the worlds.)

The core serves every world on one aiohttp server: a request goes to the world owning the
longest of its ``path_prefixes`` that starts the path (a world owning "/" answers every
path no other world claims). Faults, router errors (unknown path, wrong method) and every
`Refusal` a handler raises are answered in the owning world's error shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web
from attrs import frozen
from cryptography.hazmat.primitives.asymmetric import rsa

from ._state import SessionBook, SessionRecord
from ._webhooks import WebhookDispatcher

__all__ = ["ErrorShapes", "Refusal", "World", "WorldContext"]


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
