"""The public surface of an async client, found independently of ``agentcloud._sync``: its
public methods, and each public resource's (nested ones included), by dotted path."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from agentcloud._client import BaseClient
from agentcloud._resource import Resource

#: BaseClient's own calls, which the blocking client replaces (``close()``).
CLIENT_PLUMBING = {"aclose"}


def async_surface(client: Any) -> dict[str, Callable[..., Any]]:
    """``{"sessions.start": <function>, "webhook_public_key": <function>, ...}``."""
    found: dict[str, Callable[..., Any]] = {}

    def walk(owner: Any, prefix: str) -> None:
        for name, function in inspect.getmembers(type(owner), inspect.isfunction):
            if name.startswith("_"):
                continue
            if isinstance(owner, BaseClient) and name in CLIENT_PLUMBING:
                continue
            found[prefix + name] = function
        for name, value in vars(owner).items():
            if not name.startswith("_") and isinstance(value, Resource):
                walk(value, f"{prefix}{name}.")

    walk(client, "")
    return found


def resolve(root: Any, path: str) -> Any:
    """``resolve(client, "sessions.start")`` is ``client.sessions.start``."""
    for step in path.split("."):
        root = getattr(root, step)
    return root
