"""JSON in and out of the emulator, as strictly as the vendors' own servers read it.

Their JSON parsers refuse `NaN` and `Infinity`, which Python's accepts, and no vendor
answers a deeply nested body with a server error; `decode_json` refuses both with a
`ValueError`, which each vendor turns into its own 400. Answers are written compactly, as
the vendors write theirs.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web

__all__ = ["MAX_JSON_DEPTH", "decode_json", "json_response"]

MAX_JSON_DEPTH = 512
"""Nesting (arrays and objects) a request body may have: far more than any real payload,
and few enough that writing the value back out cannot exhaust Python's recursion limit."""


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests more than `limit` arrays or objects; walked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_json(raw: bytes) -> Any:
    """The JSON value in `raw`; ValueError when it is not JSON a vendor would accept."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        value = _DECODER.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    # Counting brackets is cheap and bounds the depth, so only a body with many of them
    # pays for the walk.
    if (
        isinstance(value, dict | list)
        and raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
        and _deeper_than(value, MAX_JSON_DEPTH)
    ):
        raise ValueError("JSON nested too deeply")
    return value


def _compact(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def json_response(
    payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer, compactly written."""
    return web.json_response(payload, status=status, headers=headers, dumps=_compact)
