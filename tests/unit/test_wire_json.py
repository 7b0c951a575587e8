"""The speedups extra: orjson decodes and encodes the wire's JSON with json's results.

Every test runs twice, with orjson (when installed) and with it switched off through the
module's seam (``agentcloud._json.ORJSON = None``), and compares with the standard
library's own answer.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import json
import math
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentcloud import _json
from agentcloud.testing import Emulator

HAS_ORJSON = importlib.util.find_spec("orjson") is not None


@pytest.fixture(params=["orjson", "json"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        if not HAS_ORJSON:
            pytest.skip("orjson is not installed (pip install agentcloud[speedups])")
        import orjson

        monkeypatch.setattr(_json, "ORJSON", orjson)
    else:
        monkeypatch.setattr(_json, "ORJSON", None)
    name: str = request.param
    return name


def same(a: Any, b: Any) -> bool:
    """Equal values of identical types, NaN equal to NaN. Iterative: a value nested past
    the recursion limit (Python 3.13's json decodes 2,000 levels) is compared too."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending.extend((x[key], y[key]) for key in x)
        elif isinstance(x, float) and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


def outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", call(*args)
    except RecursionError:
        return "error", "RecursionError"
    except (ValueError, TypeError) as error:
        return "error", f"{type(error).__name__}: {error}"


def assert_loads_like_json(data: bytes) -> None:
    got_kind, got = outcome(_json.loads, data)
    want_kind, want = outcome(json.loads, data)
    assert got_kind == want_kind, (data[:80], got, want)
    assert same(got, want), (data[:80], got, want)


@pytest.mark.skipif(not HAS_ORJSON, reason="orjson is not installed")
def test_orjson_is_used_when_installed() -> None:
    import orjson

    assert _json.ORJSON is orjson


DECODE_CASES = [
    b'{"a":1,"b":[true,false,null],"c":"x"}',
    b' \n{"nested": {"deep": [1, 2.5, -0.0, 1E2, -0]}}\t',
    b"123456789012345678",  # fits in 64 bits
    b"9223372036854775807",
    b"18446744073709551615",
    b"18446744073709551616",  # past 64 bits: orjson would give a float
    b"-9223372036854775809",
    b"123456789012345678901234567890",
    b'{"id": 123456789012345678901234567890}',
    b'{"id": "1234567890123456789012"}',  # a long digit run in a string
    b"0.1000000000000000055511151231257827",
    b"4.9e-324",
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"NaN",
    b"[NaN, Infinity, -Infinity]",
    b'"\\ud800"',  # a lone surrogate
    b'"\\ud83d\\ude00 \\u00e9"',
    '"é ü 日本 😀"'.encode(),
    '"é"'.encode("utf-16"),
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark
    b'"\xff"',  # not UTF-8
    b'"\x01"',  # a raw control character
    b'{"a": 1, "a": 2}',
    b"[1,]",
    b"tru",
    b"01",
    b"",
    b"[" * 2000 + b"]" * 2000,
    b"{\"a\":" * 300 + b"1" + b"}" * 300,
]


@pytest.mark.parametrize("data", DECODE_CASES, ids=lambda data: repr(data[:24]))
def test_decoding_gives_what_json_gives(mode: str, data: bytes) -> None:
    assert_loads_like_json(data)


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_any_json_text_decodes_as_json_decodes_it(value: Any, ascii_only: bool) -> None:
    for module in (None, _json.ORJSON):
        previous, _json.ORJSON = _json.ORJSON, module
        try:
            assert_loads_like_json(json.dumps(value, ensure_ascii=ascii_only).encode())
        finally:
            _json.ORJSON = previous


class Colour(enum.StrEnum):
    RED = "red"


class Text(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


ENCODE_CASES: list[Any] = [
    {"createDailyRoom": True, "body": {"user": "42"}},
    {"text": "é ü 日本 😀", "emoji": "\ud83d\ude00"},
    {"big": 2**64, "bigger": -(10**30)},
    {"n": None, "list": [None, 1, 2.5]},
    [1.0, 1e16, 1e-7, -0.0, 0.1],
    {"status": Colour.RED, "text": Text("x")},
    {1: "int key", None: "none key"},
]

REFUSED: list[Any] = [
    float("nan"),
    {"x": float("inf")},
    [float("-inf")],
    {"when": datetime(2025, 1, 1, tzinfo=UTC)},
    {"point": Point(1)},
    {"raw": b"bytes"},
    {"set": {1, 2}},
    {(1, 2): "tuple key"},
]


@pytest.mark.parametrize("value", ENCODE_CASES, ids=repr)
def test_encoding_gives_the_value_json_gives(mode: str, value: Any) -> None:
    text = _json.dumps(value)
    assert isinstance(text, bytes)
    want = json.dumps(value, separators=(",", ":"), allow_nan=False)
    assert same(json.loads(text), json.loads(want))


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_encoding_refuses_what_json_refuses(mode: str, value: Any) -> None:
    got = outcome(_json.dumps, value)
    want = outcome(lambda v: json.dumps(v, separators=(",", ":"), allow_nan=False).encode(), value)
    assert got == want
    assert got[0] == "error"


def test_deep_nesting_is_refused_as_json_refuses_it(mode: str) -> None:
    value: Any = []
    # Past Python's recursion limit (another test may have raised it) and past the C
    # recursion limit that Python 3.12+ applies to the json encoder instead.
    for _ in range(max(sys.getrecursionlimit(), 100_000) + 100):
        value = [value]
    assert outcome(_json.dumps, value) == ("error", "RecursionError")


@settings(max_examples=100, deadline=None, derandomize=True)
@given(value=JSON_VALUES)
def test_any_value_encodes_to_the_same_json_value(value: Any) -> None:
    want = json.loads(json.dumps(value, separators=(",", ":")))
    for module in (None, _json.ORJSON):
        previous, _json.ORJSON = _json.ORJSON, module
        try:
            assert same(json.loads(_json.dumps(value)), want)
        finally:
            _json.ORJSON = previous


async def test_a_client_builds_the_same_sessions_either_way(mode: str) -> None:
    async with Emulator(seed=3) as emu, emu.videosdk() as vs:
        emu.seed_sessions("videosdk", 130, seed=3)
        listed = [s.to_dict(raw=True) async for s in vs.sessions.list(per_page=50)]
        _json.ORJSON = None  # the standard library's answer, same client, same answers
        again = [s.to_dict(raw=True) async for s in vs.sessions.list(per_page=50)]
        metadata = {"user": "é 日本", "n": 2**70}
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", metadata=metadata
        )
        sent = emu.requests[-1].body
    assert len(listed) == 130
    assert listed == again
    assert sent["metaData"]["user"] == "é 日本"
    assert sent["metaData"]["n"] == 2**70
    assert started.metadata is not None
    assert started.metadata["n"] == 2**70
