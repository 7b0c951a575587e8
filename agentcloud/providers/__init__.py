"""The provider registry: the one place that knows which agent clouds exist.

A provider is one module under ``agentcloud/providers/`` (its client, resources, models,
webhook format, paging and reconciler), one folder under ``agentcloud/testing/`` (its
emulator) and one :class:`ProviderInfo` entry: here for the built-in ones, or published by
another package under the entry-point group ``agentcloud.providers``::

    # pyproject.toml of a package "agentcloud-acme"
    [project.entry-points."agentcloud.providers"]
    acme = "agentcloud_acme:PROVIDER"     # a ProviderInfo

Everything else reads the registry: the lazy names of ``agentcloud`` (``agentcloud.X``),
:func:`connect`, the command line's ``--provider`` choices and per-provider options,
``webhooks.parse()`` and the emulator's list of vendors. Provider modules are imported
only when first used, and providers never import each other.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from .livekit import LiveKitCloud
    from .pipecat import PipecatCloud
    from .videosdk import VideoSDK

__all__ = [
    "ENTRY_POINT_GROUP",
    "ProviderInfo",
    "connect",
    "get_provider",
    "provider_infos",
    "provider_names",
    "register",
]

logger = logging.getLogger("agentcloud")

ENTRY_POINT_GROUP = "agentcloud.providers"
"""Packages outside agentcloud publish their providers' ProviderInfo under this group."""


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ProviderInfo:
    """Where a provider lives. Nothing is imported until the provider is first used.

    ``module`` holds the client class named ``client``, and may define ``WEBHOOK_FORMAT``
    (how its webhooks are verified and parsed) and ``CLI`` (its command-line options and
    commands). ``exports`` are the module's names that ``agentcloud`` re-exports
    (``agentcloud.VideoSDK``); ``emulator`` is the module of its emulator folder, which
    :class:`agentcloud.testing.Emulator` serves.
    """

    name: str
    title: str
    module: str
    client: str
    exports: tuple[str, ...] = attrs.field(default=(), converter=_names)
    emulator: str | None = None

    def load(self) -> ModuleType:
        """The provider module, imported on first use."""
        return importlib.import_module(self.module)

    def client_class(self) -> type[Any]:
        """The provider's client class (``VideoSDK``...), importing its module on first use."""
        return getattr(self.load(), self.client)  # type: ignore[no-any-return]

    def attribute(self, name: str, default: Any = None) -> Any:
        """A module-level attribute of the provider (``WEBHOOK_FORMAT``, ``CLI``...)."""
        return getattr(self.load(), name, default)


_BUILT_IN: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        name="videosdk",
        title="VideoSDK Agent Cloud",
        module="agentcloud.providers.videosdk",
        client="VideoSDK",
        exports=(
            "VideoSDK",
            "VideoSDKSession",
            "Deployment",
            "Webhook",
            "WEBHOOK_EVENTS",
            "RUNTIME_WEBHOOK_EVENTS",
            "Dispatch",
            "RuntimeSession",
            "Room",
            "AgentDeployment",
            "AgentVersion",
        ),
        emulator="agentcloud.testing.videosdk",
    ),
    ProviderInfo(
        name="pipecat",
        title="Pipecat Cloud",
        module="agentcloud.providers.pipecat",
        client="PipecatCloud",
        exports=(
            "PipecatCloud",
            "PipecatSession",
            "Agent",
            "BotReply",
            "Connection",
            "LifecycleEvent",
            "MeetingId",
            "Region",
            "ResourceMetrics",
            "ResourceSample",
        ),
        emulator="agentcloud.testing.pipecat",
    ),
    ProviderInfo(
        name="livekit",
        title="LiveKit Cloud",
        module="agentcloud.providers.livekit",
        client="LiveKitCloud",
        exports=("LiveKitCloud", "LiveKitSession", "LiveKitJob", "LiveKitRoom"),
        emulator="agentcloud.testing.livekit",
    ),
)

_registry: dict[str, ProviderInfo] = {info.name: info for info in _BUILT_IN}
_lock = threading.Lock()
_entry_points_loaded = False


def register(info: ProviderInfo) -> None:
    """Adds a provider at run time (entry points do this on first use of the registry).

    A name already registered is refused: providers never replace each other.
    """
    if not isinstance(info, ProviderInfo):
        raise InvalidRequestError("info", "must be an agentcloud.providers.ProviderInfo")
    name = info.name.lower()
    with _lock:
        if name in _registry and _registry[name] != info:
            raise InvalidRequestError("info", f"a provider named {name!r} is already registered")
        _registry[name] = info


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    # Imported here: scanning installed packages is only needed once a plug-in may matter.
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            info = point.load()
            register(info)
        except Exception:  # one broken plug-in must not take the built-in providers down
            logger.warning("could not load agentcloud provider %r", point.name, exc_info=True)


def provider_infos() -> tuple[ProviderInfo, ...]:
    """Every registered provider, built-in ones first."""
    _load_entry_points()
    return tuple(_registry.values())


def provider_names() -> tuple[str, ...]:
    """The names ``connect`` accepts."""
    return tuple(info.name for info in provider_infos())


def get_provider(name: str) -> ProviderInfo:
    """The registry entry for ``name``; InvalidRequestError naming ``provider`` if unknown."""
    _load_entry_points()
    info = _registry.get(name.lower()) if isinstance(name, str) else None
    if info is None:
        raise InvalidRequestError(
            "provider", f"unknown provider {name!r}; one of {', '.join(provider_names())}"
        )
    return info


def exported_names(*, plugins: bool = True) -> Iterator[tuple[str, ProviderInfo]]:
    """(name, provider) for every name the package re-exports from a provider module;
    ``plugins=False`` looks at the providers registered so far without loading entry points
    (which costs a scan of every installed package)."""
    infos = provider_infos() if plugins else tuple(_registry.values())
    for info in infos:
        for name in info.exports:
            yield name, info


@overload
def connect(provider: Literal["videosdk"], /, **kwargs: Any) -> VideoSDK: ...
@overload
def connect(provider: Literal["pipecat"], /, **kwargs: Any) -> PipecatCloud: ...
@overload
def connect(provider: Literal["livekit"], /, **kwargs: Any) -> LiveKitCloud: ...
@overload
def connect(provider: str, /, **kwargs: Any) -> Any: ...
def connect(provider: str, /, **kwargs: Any) -> Any:
    """A client for ``provider`` (any name in :func:`provider_names`), built with ``kwargs``:
    ``connect("videosdk", api_key=...)`` is ``VideoSDK(api_key=...)``."""
    return get_provider(provider).client_class()(**kwargs)
