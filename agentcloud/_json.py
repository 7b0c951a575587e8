"""JSON on the wire: the standard library's ``json``, or orjson where it is installed.

``pip install agentcloud[speedups]`` brings orjson, as aiohttp's own ``speedups`` extra
brings its C helpers: nothing to configure, and the same results. Where orjson would
differ from ``json``, the standard library answers instead:

- **decoding** (:func:`loads`): orjson refuses what ``json`` accepts (``NaN``,
  ``Infinity``, numbers past a double's range, lone surrogates, a UTF-8 byte-order mark,
  UTF-16 text), so anything orjson refuses is handed to ``json``, which accepts it or
  raises its own error. orjson reads an integer past 64 bits as a float, silently: a body
  holding a run of 19 digits or more anywhere (in a string too) is decoded by ``json``.
- **encoding** (:func:`dumps`): orjson writes NaN and infinity as ``null`` and refuses
  integers past 64 bits and non-string keys; dataclasses, datetimes and subclasses of the
  basic types are passed to its (absent) ``default``, so refused. A value that orjson
  refuses, or whose orjson text holds ``null``, is encoded by ``json``. The text is the
  same JSON value either way (UTF-8 rather than ``\\u`` escapes, and a float's exponent
  may be spelled ``1e16`` rather than ``1e+16``). orjson alone also writes UUIDs and enums
  that are neither ``str`` nor ``int``; nothing the SDK sends holds one (its arguments are
  checked and copied as plain JSON values before they reach the transport).

:data:`ORJSON` is the module in use (None without it); the tests set it to None to run the
standard library's path.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

__all__ = ["ORJSON", "dumps", "dumps_object_with", "loads"]

def _find_orjson() -> ModuleType | None:
    try:
        import orjson
    except ImportError:  # the speedups extra is not installed
        return None
    return orjson


#: orjson when installed and in use, else None (the standard library does everything).
ORJSON: ModuleType | None = _find_orjson()

#: Digits stay digits, every other byte a space: a run of 19 digits becomes "0" * 19.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def _passthrough(module: ModuleType | None) -> int:
    """Types orjson must hand to its (absent) ``default``, and so refuse, where ``json``
    writes them differently or refuses them."""
    if module is None:
        return 0
    return int(
        module.OPT_PASSTHROUGH_SUBCLASS
        | module.OPT_PASSTHROUGH_DATETIME
        | module.OPT_PASSTHROUGH_DATACLASS
    )


#: orjson's options for ``dumps``, worked out once (they are the same on every call).
_DUMPS_OPTIONS = _passthrough(ORJSON)

#: ``json.dumps(value, separators=(",", ":"), allow_nan=False)`` without building an
#: encoder on every call (``json.dumps`` reuses its own only for default arguments).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def loads(data: bytes) -> Any:
    """The value of JSON ``data``, exactly as ``json.loads`` gives it; raises ValueError (or
    RecursionError) as ``json.loads`` does."""
    module = ORJSON
    if module is not None and _LONG_RUN not in data.translate(_DIGITS):
        try:
            return module.loads(data)
        except module.JSONDecodeError:
            pass  # json says whether it is JSON, and which error it is
    return json.loads(data)


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON text in UTF-8 bytes; NaN and infinity refused with
    ValueError, what JSON cannot carry with TypeError, as ``json.dumps`` refuses them."""
    module = ORJSON
    if module is not None:
        try:
            text: bytes = module.dumps(value, option=_DUMPS_OPTIONS)
        except TypeError:
            pass
        else:
            if b"null" not in text:  # NaN and infinity come out as null
                return text
    return _ENCODE(value).encode()


def dumps_object_with(head: dict[str, Any], key: str, encoded: bytes) -> bytes:
    """The JSON object ``head`` with ``key`` (absent from it) set to a value already
    encoded as ``encoded`` (by :func:`dumps`): a large value checked and encoded once is
    not encoded again inside the object that carries it."""
    text = dumps(head)
    comma = b"," if len(text) > 2 else b""
    return b"".join((text[:-1], comma, dumps(key), b":", encoded, b"}"))
