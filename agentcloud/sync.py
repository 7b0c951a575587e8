"""Blocking agentcloud, for scripts, notebooks, Celery tasks and Django views.

::

    from agentcloud.sync import VideoSDK         # every provider's client: PipecatCloud, ...

    with VideoSDK() as vs:
        s = vs.sessions.start(deployment_id="...", tag="v1.0")
        s = vs.sessions.wait(s.id, until="running", timeout=60)
        for s in vs.sessions.list(max_items=1000, concurrency=4):
            ...
        with vs.sessions.start(deployment_id="...", tag="v1.0") as s:   # ended on exit, Ctrl-C too
            ...

**The same API, blocking.** Every provider in the registry (``agentcloud.providers``, those
registered later through entry points included) has a blocking client here, of the same
name, derived from its async class when first used: the same constructor arguments, the
same resources (nested ones too), the same methods with the same arguments, docstrings and
type hints, the same models and the same errors (import them from ``agentcloud``). A method
added to an async resource is here at once; nothing is written twice. ``connect(name,
**kwargs)`` builds one by provider name, and ``wrap(client)`` makes a blocking twin of an
async client not yet used (a factory's, such as the emulator's ``emu.videosdk()``).

**One event loop per client.** Each client runs a private event loop on a daemon thread,
started by its first call and stopped by ``close()`` (or the end of its ``with`` block; the
interpreter's exit and the garbage collector close a client left open). Any number of
threads may share one client: their calls run concurrently on its loop, over its one
connection pool (``max_connections``). It works from inside a running event loop too (a
notebook cell): the call blocks that loop's thread, and never says "this event loop is
already running". A blocking call made from the client's own loop (a hook calling the sync
client) would wait for itself, and is refused with InvalidRequestError. ``http=`` is refused
likewise: an aiohttp session belongs to the loop it was made on.

**Listings** are iterables (:class:`Pager`): ``for s in vs.sessions.list()``, ``.pages()``,
``.collect()``, with the async pager's prefetch, ``concurrency`` and bounded memory, one hop
between threads per page. Leaving the loop early cancels the pages in flight at once.

**Starts** return at once with the session started (:class:`Started`): use it directly
(``s.id``; ``s.value`` is the session itself; it runs on, held by the client as after an
async ``await``), or under ``with`` to have the session ended on every way out of the block,
Ctrl-C included (and by ``close()`` while the block runs). The same holds for any async
handle that is awaitable and an async context manager.

**Ctrl-C** during any blocking call cancels the call in flight and waits until nothing of
it is left: its requests are cut (no connection left half-used), its pages in flight
cancelled, a start under way finished and its session ended (the caller never got it). Then
KeyboardInterrupt is raised. A second Ctrl-C stops that wait. A script that wants exit code
130 without a traceback catches it: ``except KeyboardInterrupt: sys.exit(130)``.

**Waiting and webhooks.** ``sessions.wait(...)`` blocks the same way. ``agentcloud.webhooks
.parse(...)`` is synchronous already (call it from any web framework's view);
:class:`WebhookReceiver` ``.serve(...)`` serves a receiver on the client's loop, with a
blocking ``next()`` and ``for event in receiver``, and can be passed to ``wait(receiver=)``.

**The fleet.** ``VideoSDK(fleet=fleet)`` hands the fleet (``agentcloud.fleet``) to the async
client, built on the sync client's own loop (so it starts at once): the managed and held
sessions are leased from there, and ``wait(receiver=fleet)`` is woken by every replica's
webhooks. That loop is the only one the fleet may then be used on: give each sync client a
fleet of its own.

**Tests.** ``with agentcloud.testing.Emulator() as emu:`` runs the emulator on a thread of
its own; ``wrap(emu.videosdk())`` is a blocking client wired to it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._sync._pager import Pager
    from ._sync._started import Started
    from ._sync._twins import SyncClient, wrap
    from ._sync._webhooks import WebhookReceiver

__all__ = ["Pager", "Started", "SyncClient", "WebhookReceiver", "connect", "wrap"]

_CORE = {
    "Pager": "._sync._pager",
    "Started": "._sync._started",
    "SyncClient": "._sync._twins",
    "WebhookReceiver": "._sync._webhooks",
    "wrap": "._sync._twins",
}


def _built_in_clients() -> list[str]:
    from .providers import exported_names

    return sorted({info.client for _, info in exported_names(plugins=False)})


__all__ += _built_in_clients()


def connect(provider: str, /, **kwargs: Any) -> Any:
    """A blocking client for ``provider`` (any name in ``agentcloud.providers
    .provider_names()``), built with ``kwargs``: ``connect("videosdk", api_key=...)`` is
    ``VideoSDK(api_key=...)``."""
    from ._sync._twins import twin_class
    from .providers import get_provider

    return twin_class(get_provider(provider).client_class())(**kwargs)


def _client_class(name: str) -> Any:
    from ._sync._twins import twin_class
    from .providers import provider_infos

    for info in provider_infos():
        if info.client == name:
            return twin_class(info.client_class())
    return None


def __getattr__(name: str) -> Any:
    if name in _CORE:
        value = getattr(importlib.import_module(_CORE[name], __package__), name)
    elif name.startswith("__") or (value := _client_class(name)) is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    from .providers import provider_infos

    return sorted({*globals(), *__all__, *(info.client for info in provider_infos())})
