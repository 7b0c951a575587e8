"""Checks and helpers every provider module uses; no vendor knowledge here."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..errors import InvalidRequestError, ResponseDecodeError

__all__ = [
    "check_json_object",
    "check_json_value",
    "check_segment",
    "check_text",
    "credential",
    "expect_count",
    "expect_list",
    "expect_object",
    "path_segment",
]


_FORBIDDEN_IN_ID = ("/", "\\", "?", "#", "%")
# Searched with compiled patterns: a Python loop over every character cost microseconds a call.
_FORBIDDEN_IN_ID_PATTERN = re.compile("[" + re.escape("".join(_FORBIDDEN_IN_ID)) + "]")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def check_segment(argument: str, value: object) -> str:
    """Accepts a non-empty single path segment; anything else raises InvalidRequestError."""
    if not isinstance(value, str):
        raise InvalidRequestError(argument, f"must be a string, got {type(value).__name__}")
    if not value or not value.strip():
        raise InvalidRequestError(argument, "must not be empty")
    if len(value) > 256:
        raise InvalidRequestError(argument, "is too long (over 256 characters)")
    if value in (".", "..") or _FORBIDDEN_IN_ID_PATTERN.search(value):
        raise InvalidRequestError(argument, f"must be a single path segment, got {value!r}")
    if _CONTROL_CHARACTER.search(value) or value != value.strip():
        raise InvalidRequestError(argument, "must not contain control characters or edge spaces")
    _check_unicode(argument, value)
    return value


def path_segment(argument: str, value: object) -> str:
    """A checked, percent-encoded single path segment."""
    return quote(check_segment(argument, value), safe="")


def check_text(argument: str, value: object, *, max_length: int = 1024) -> str:
    """A non-empty string without control characters."""
    if not isinstance(value, str):
        raise InvalidRequestError(argument, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(argument, "must not be empty")
    if len(value) > max_length:
        raise InvalidRequestError(argument, f"is too long (over {max_length} characters)")
    if _CONTROL_CHARACTER.search(value):
        raise InvalidRequestError(argument, "must not contain control characters")
    _check_unicode(argument, value)
    return value


def _check_unicode(argument: str, value: str) -> None:
    # A lone surrogate (what undecodable command-line bytes become) cannot be encoded for
    # the URL or the wire; refuse it here rather than fail with UnicodeEncodeError mid-call.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            argument, "must be valid Unicode (it holds a lone surrogate)"
        ) from None


def _check_json(argument: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(argument, f"must be JSON-serialisable: {error}") from None
    except RecursionError:
        raise InvalidRequestError(argument, "is nested too deeply to send as JSON") from None


def check_json_object(argument: str, value: object) -> dict[str, Any]:
    """A mapping with string keys whose values JSON can carry (no NaN or infinity)."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(argument, f"must be a mapping, got {type(value).__name__}")
    result = dict(value)
    for key in result:
        if not isinstance(key, str):
            raise InvalidRequestError(argument, f"keys must be strings, got {key!r}")
    _check_json(argument, result)
    return result


def check_json_value(argument: str, value: object) -> Any:
    """Any value JSON can carry (no NaN or infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(argument, "must be JSON-serialisable: not a finite number")
    _check_json(argument, value)
    return value


def credential(argument: str, value: str | None, env: str) -> str | None:
    """``value``, else the environment variable ``env``; checked to be plain text."""
    if value is None:
        value = os.environ.get(env) or None
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(argument, "must be a non-empty string")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        raise InvalidRequestError(argument, "must not contain spaces or control characters")
    _check_unicode(argument, value)
    return value


def expect_object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ResponseDecodeError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def expect_list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise ResponseDecodeError(f"{what}: expected a JSON array, got {type(data).__name__}")
    return data


def expect_count(data: Any, what: str) -> int | None:
    """A non-negative integer count, or None when absent."""
    if data is None:
        return None
    if isinstance(data, bool) or not isinstance(data, int) or data < 0:
        # Only a number is quoted back: a string there could hold anything at all.
        got = repr(data) if isinstance(data, int) else type(data).__name__
        raise ResponseDecodeError(f"{what}: expected a count, got {got}")
    return data
