"""JSON in and out of the emulator: request bodies read, answers written compactly."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["decode_json", "json_response"]


def decode_json(raw: bytes) -> Any:
    """The JSON value in `raw`; ValueError when it is not JSON."""
    return json.loads(raw)


def _compact(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def json_response(
    payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer, compactly written."""
    return web.json_response(payload, status=status, headers=headers, dumps=_compact)
