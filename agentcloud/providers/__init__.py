"""The provider registry: one module per vendor, imported only when first used.

``connect("videosdk", ...)`` is the same as ``VideoSDK(...)``. Adding a vendor is one module
and one :class:`ProviderInfo` line here; providers never import each other.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

from ..errors import InvalidRequestError

__all__ = ["ProviderInfo", "connect", "get_provider", "provider_names"]


@attrs.frozen(kw_only=True)
class ProviderInfo:
    """Where a provider's client lives and what it can do."""

    name: str
    module: str
    client: str
    #: A start that failed ambiguously can be looked up and never duplicated.
    reconcilable_start: bool
    #: The vendor POSTs signed session webhooks.
    webhooks: bool
    #: The listing walks page/perPage ("page") or limit/offset ("offset").
    paging: str
    resources: tuple[str, ...]

    def client_class(self) -> type[Any]:
        return getattr(importlib.import_module(self.module), self.client)  # type: ignore[no-any-return]


_REGISTRY: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo(
            name="videosdk",
            module="agentcloud.providers.videosdk",
            client="VideoSDK",
            reconcilable_start=True,
            webhooks=True,
            paging="page",
            resources=("sessions", "deployments"),
        ),
        ProviderInfo(
            name="pipecat",
            module="agentcloud.providers.pipecat",
            client="PipecatCloud",
            reconcilable_start=False,
            webhooks=False,
            paging="offset",
            resources=("sessions", "agents"),
        ),
    )
}


def provider_names() -> tuple[str, ...]:
    """The names ``connect`` accepts."""
    return tuple(_REGISTRY)


def get_provider(name: str) -> ProviderInfo:
    """The registry entry for ``name``; InvalidRequestError naming ``provider`` if unknown."""
    info = _REGISTRY.get(name.lower()) if isinstance(name, str) else None
    if info is None:
        raise InvalidRequestError(
            "provider", f"unknown provider {name!r}; one of {', '.join(_REGISTRY)}"
        )
    return info


def connect(provider: str, /, **kwargs: Any) -> Any:
    """A client for ``provider`` ("videosdk" or "pipecat"), built with ``kwargs``."""
    return get_provider(provider).client_class()(**kwargs)
