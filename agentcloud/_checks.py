"""Every argument check, in one style: a bad value raises InvalidRequestError naming it.

Checks run before anything is sent, and return what was checked in the form that is sent:
JSON values come back as deep copies, so a caller that mutates its dict after the call
returned its handle cannot slip an unchecked value (a NaN, an oversized body) onto the wire.
Why "not x > 0" rather than "x <= 0" throughout: NaN compares false with everything, and a
NaN timeout or count would otherwise disable the bound it sets.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from ._json import dumps as dumps_json
from .errors import InvalidRequestError

__all__ = [
    "check_aware_datetime",
    "check_choice",
    "check_count",
    "check_flag",
    "check_json_encoded",
    "check_json_object",
    "check_json_value",
    "check_seconds",
    "check_segment",
    "check_string_map",
    "check_text",
    "check_timeout",
    "credential",
    "json_size",
    "path_segment",
    "unix_seconds",
]

_C = TypeVar("_C", bound=str)

_FORBIDDEN_IN_ID = ("/", "\\", "?", "#", "%")
# Searched with compiled patterns: a Python loop over every character costs microseconds.
_FORBIDDEN_IN_ID_PATTERN = re.compile("[" + re.escape("".join(_FORBIDDEN_IN_ID)) + "]")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _type_name(value: object) -> str:
    return type(value).__name__


def check_segment(argument: str, value: object) -> str:
    """A non-empty single path segment; anything else raises InvalidRequestError."""
    if not isinstance(value, str):
        raise InvalidRequestError(argument, f"must be a string, got {_type_name(value)}")
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
        raise InvalidRequestError(argument, f"must be a string, got {_type_name(value)}")
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


def _json_copy(argument: str, value: Any) -> Any:
    """``value`` checked to be JSON (no NaN or infinity) and copied through its text."""
    return _json_copy_sized(argument, value)[0]


def _json_copy_sized(argument: str, value: Any) -> tuple[Any, int]:
    """``_json_copy`` and the length of the text it went through (``json_size``'s)."""
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(argument, f"must be JSON-serialisable: {error}") from None
    except RecursionError:
        raise InvalidRequestError(argument, "is nested too deeply to send as JSON") from None
    try:
        return json.loads(text), len(text)
    except RecursionError:  # dumps and loads have different depth limits
        raise InvalidRequestError(argument, "is nested too deeply to send as JSON") from None


def check_json_object(argument: str, value: object) -> dict[str, Any]:
    """A mapping with string keys whose values JSON can carry, as a deep copy."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(argument, f"must be a mapping, got {_type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidRequestError(argument, f"keys must be strings, got {key!r}")
    copied: dict[str, Any] = _json_copy(argument, dict(value))
    return copied


def check_string_map(argument: str, value: object) -> dict[str, str]:
    """A mapping of non-empty names to strings (an environment, attributes), as a copy."""
    checked = check_json_object(argument, value)
    for key, item in checked.items():
        if not key or not isinstance(item, str):
            raise InvalidRequestError(
                argument, f"must map non-empty names to strings; {key!r} is {type(item).__name__}"
            )
    return checked


def check_json_value(argument: str, value: object) -> Any:
    """Any value JSON can carry (no NaN or infinity), as a deep copy."""
    return check_json_value_sized(argument, value)[0]


def check_json_value_sized(argument: str, value: object) -> tuple[Any, int]:
    """``check_json_value``, and the copy's :func:`json_size` (measured on the way)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(argument, "must be JSON-serialisable: not a finite number")
    return _json_copy_sized(argument, value)


def check_json_encoded(argument: str, value: object) -> bytes:
    """Any value JSON can carry (no NaN or infinity), encoded as the transport sends it
    (:func:`agentcloud._json.dumps`). The bytes are the call's own copy, as the copies of
    the other checks are: what the caller changes afterwards is not sent."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(argument, "must be JSON-serialisable: not a finite number")
    try:
        return dumps_json(value)
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(argument, f"must be JSON-serialisable: {error}") from None
    except RecursionError:
        raise InvalidRequestError(argument, "is nested too deeply to send as JSON") from None


def json_size(value: Any) -> int:
    """Bytes of ``value`` as the transport sends it: compact separators, ASCII escapes."""
    return len(json.dumps(value, separators=(",", ":"), allow_nan=False))


def check_flag(argument: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(argument, f"must be True or False, got {_type_name(value)}")
    return value


def check_choice(argument: str, value: object, choices: tuple[_C, ...]) -> _C:
    """One of ``choices`` (exact strings)."""
    for choice in choices:
        if isinstance(value, str) and value == choice:
            return choice
    raise InvalidRequestError(argument, f"must be one of {', '.join(choices)}; got {value!r}")


def check_count(argument: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An integer within ``minimum..maximum`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(argument, f"must be an integer, got {_type_name(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidRequestError(argument, f"must be {bounds}, got {value}")
    return value


def check_seconds(argument: str, value: object, *, allow_infinite: bool = True) -> float:
    """A number of seconds > 0 (infinity too unless refused; NaN and booleans never)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(argument, f"must be seconds > 0, got {_type_name(value)}")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float: longer than any wait
        seconds = math.inf
    if not seconds > 0 or (not allow_infinite and seconds == math.inf):
        raise InvalidRequestError(argument, f"must be seconds > 0, got {value!r}")
    return seconds


def check_timeout(argument: str, value: object) -> float | None:
    """None (no bound) or seconds > 0."""
    return None if value is None else check_seconds(argument, value)


def check_aware_datetime(argument: str, value: object) -> datetime:
    """A timezone-aware datetime (a naive one is ambiguous)."""
    if not isinstance(value, datetime):
        raise InvalidRequestError(
            argument, f"must be a timezone-aware datetime, got {_type_name(value)}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(
            argument, "must be timezone-aware (e.g. datetime.now(UTC)); a naive time is ambiguous"
        )
    return value


def unix_seconds(argument: str, value: object, *, round_up: bool) -> str:
    """An aware datetime as whole unix seconds, rounded to widen a window, not narrow it."""
    seconds = check_aware_datetime(argument, value).timestamp()
    return str(math.ceil(seconds) if round_up else math.floor(seconds))


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
