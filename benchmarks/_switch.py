"""The speedups extra switched off for one side of a figure (``agentcloud._json``'s seam)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from agentcloud import _json

__all__ = ["ORJSON_INSTALLED", "without_orjson"]

#: Whether the speedups extra (orjson) is installed and in use.
ORJSON_INSTALLED = _json.ORJSON is not None


@contextlib.contextmanager
def without_orjson() -> Iterator[None]:
    """The standard library's json for the wire, as without the speedups extra."""
    previous, _json.ORJSON = _json.ORJSON, None
    try:
        yield
    finally:
        _json.ORJSON = previous
