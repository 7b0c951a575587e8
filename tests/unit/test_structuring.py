"""Every model's fast structure path builds what the general path builds, or gives way.

Each :class:`~agentcloud._convert.WireStructurer` has a function generated for its model
(the fast path) and the general path (cattrs' hook, derived fields, ``raw``), which defines
the result. For every built-in structurer and any wire object, the two must agree: the
same fields, of the same types, or the same ResponseDecodeError.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentcloud
import agentcloud.providers.pipecat
import agentcloud.providers.videosdk
from agentcloud._convert import WireStructurer, builder, make_converter, structurers
from agentcloud.errors import ResponseDecodeError
from agentcloud.models import Model
from tests.helpers import fixture

BUILT_IN = sorted(
    (s for s in structurers() if s._cls.__module__.startswith("agentcloud.")),
    key=lambda s: s._cls.__qualname__,
)

#: Keys the providers' derive functions read besides the fields' own.
DERIVE_KEYS = (
    "status",
    "start",
    "end",
    "createdAt",
    "endedAt",
    "endState",
    "completionStatus",
    "botStartedAt",
    "autoScaling",
    "envSecret",
    "image",
    "dailyRoom",
    "iceConfig",
)


def same(a: Any, b: Any) -> bool:
    """Equal values of identical types, models field by field (``raw`` too), NaN as NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Model) and attrs.has(type(a)):
        return all(
            same(getattr(a, field.name), getattr(b, field.name)) for field in attrs.fields(type(a))
        )
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, datetime):
        return a == b and a.tzinfo == b.tzinfo
    return bool(a == b)


def outcome(call: Any, wire: Any) -> tuple[str, Any]:
    try:
        return "value", call(wire)
    except ResponseDecodeError as error:
        return "error", str(error)


def check(structurer: WireStructurer[Any], wire: Any) -> None:
    fast_kind, fast = outcome(structurer, wire)
    general_kind, general = outcome(structurer._general, wire)
    assert fast_kind == general_kind, (fast, general)
    assert same(fast, general), (fast, general)


def test_every_built_in_model_has_a_fast_path() -> None:
    names = {s._cls.__name__ for s in BUILT_IN}
    assert {"VideoSDKSession", "PipecatSession", "Webhook", "RuntimeSession"} <= names
    assert [s._cls.__name__ for s in BUILT_IN if s._fast is None] == []


def test_a_listed_videosdk_session_is_built_the_fast_way() -> None:
    structurer = agentcloud.providers.videosdk._base._session_from_wire
    for wire in fixture("videosdk-fetch-sessions.json")["data"]:
        assert structurer._fast is not None
        fast = structurer._fast(wire)  # no fallback: the common case is the fast one
        assert same(fast, structurer._general(wire))
        assert fast.raw is wire
        assert fast.started_at == datetime(2025, 6, 18, 11, 15, 7, 275000, tzinfo=UTC)
        assert fast.duration == 56.0
        assert type(fast.duration) is float


def test_a_fast_built_model_is_an_ordinary_frozen_instance() -> None:
    # The fast path fills the slots through a twin class, then makes the object its own.
    structurer = agentcloud.providers.videosdk._base._session_from_wire
    wire = fixture("videosdk-fetch-sessions.json")["data"][0]
    assert structurer._fast is not None
    fast, general = structurer._fast(wire), structurer._general(wire)
    assert type(fast) is agentcloud.VideoSDKSession
    assert fast == general
    assert hash(fast) == hash(general)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.id = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del fast.id  # type: ignore[misc]
    assert fast.id == wire["sessionId"]
    moved = attrs.evolve(fast, tag="v2")
    assert type(moved) is agentcloud.VideoSDKSession
    assert moved.tag == "v2"
    assert moved.started_at == fast.started_at
    assert repr(fast) == repr(general)


def test_a_derived_value_for_an_undeclared_name_is_ignored_both_ways() -> None:
    @attrs.frozen(kw_only=True)
    class Thing(Model):
        id: str
        state: str = "unknown"
        note: str | None = None

    structurer = WireStructurer(
        Thing,
        converter=make_converter(),
        derived=("state",),
        derive=lambda wire: {"state": "up", "note": "from derive", "id": "overridden"},
    )
    assert structurer._fast is not None
    built = structurer({"id": "a", "note": "from the wire"})
    assert built == Thing(id="a", state="up", note="from the wire")
    check(structurer, {"id": "a", "note": "from the wire"})
    check(structurer, {"id": "a"})


@pytest.mark.parametrize(
    "change",
    [
        {"sessionId": None},
        {"sessionId": 42},
        {"sessionId": True},
        {"createdAt": "yesterday"},
        {"createdAt": "2025-06-18T11:15:07+02:00"},
        {"createdAt": "2025-06-18T11:15:07"},
        {"createdAt": 1750245307},
        {"createdAt": 1750245307.5},
        {"createdAt": True},
        {"duration": 10**400},
        {"duration": "56"},
        {"duration": True},
        {"duration": float("nan")},
        {"metadata": []},
        {"metadata": None},
        {"tag": 1.5},
        {"webhook": "https://x"},
        {"webhook": {"endPoint": "https://x", "events": "one"}},
        {"webhook": {"endpoint": 7}},
        {"status": None},
        {"status": "RUNNING"},
    ],
)
def test_odd_videosdk_values_agree(change: dict[str, Any]) -> None:
    wire = {**fixture("videosdk-fetch-sessions.json")["data"][0], **change}
    check(agentcloud.providers.videosdk._base._session_from_wire, wire)


@pytest.mark.parametrize("missing", ["sessionId", "createdAt", "webhook", "metadata", "status"])
def test_missing_keys_agree(missing: str) -> None:
    wire = dict(fixture("videosdk-fetch-sessions.json")["data"][0])
    del wire[missing]
    check(agentcloud.providers.videosdk._base._session_from_wire, wire)


def test_the_fallback_spelling_is_read_when_the_key_is_absent() -> None:
    structurer = agentcloud.providers.videosdk._base._session_from_wire
    wire = dict(fixture("videosdk-fetch-sessions.json")["data"][0])
    del wire["metadata"]
    wire["metaData"] = {"user": "42"}
    assert structurer(wire).metadata == {"user": "42"}
    check(structurer, wire)
    check(structurer, {**wire, "metadata": None})  # present wins, even as null


def test_a_dict_subclass_or_a_non_object_goes_the_general_way() -> None:
    structurer = agentcloud.providers.videosdk._base._session_from_wire

    class Wire(dict[str, Any]):
        pass

    wire = Wire(fixture("videosdk-fetch-sessions.json")["data"][0])
    check(structurer, wire)
    for odd in (None, [], "x", 3):
        check(structurer, odd)


def test_a_model_the_fast_path_cannot_build_has_none() -> None:
    @attrs.frozen(kw_only=True)
    class Checked(Model):
        id: str = attrs.field(validator=attrs.validators.min_len(1))

    @attrs.frozen(kw_only=True)
    class Plain(Model):
        id: str
        name: str | None = None

    converter = make_converter()
    checked = WireStructurer(Checked, converter=converter)
    assert checked._fast is None
    with pytest.raises(ResponseDecodeError):
        checked({"id": ""})
    plain = WireStructurer(Plain, converter=converter)
    assert plain._fast is not None
    assert plain({"id": "a", "name": "b"}) == Plain(id="a", name="b")


# ---- any wire object, every built-in structurer -------------------------------------------

TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))]),
    ).map(lambda d: d.isoformat()),
    st.integers(min_value=-(10**12), max_value=10**12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["running", "completed", "FAILED", "gte", ""]),
    TIMES,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["id", "endpoint", "events", "c", "m", "t"]), inner),
    ),
    max_leaves=6,
)


def _keys(structurer: WireStructurer[Any]) -> list[str]:
    keys = set(structurer.wire_keys.values()) | set(DERIVE_KEYS)
    for alternatives in dict(structurer._fallbacks).values():
        keys |= set(alternatives)
    return sorted(keys)


@st.composite
def wires(draw: st.DrawFn) -> tuple[WireStructurer[Any], dict[str, Any]]:
    structurer = draw(st.sampled_from(BUILT_IN))
    keys = _keys(structurer)
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    return structurer, {key: draw(VALUES) for key in chosen}


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=wires())
def test_any_wire_object_agrees(case: tuple[WireStructurer[Any], dict[str, Any]]) -> None:
    structurer, wire = case
    check(structurer, wire)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(case=wires(), data=st.data())
def test_well_formed_objects_agree(
    case: tuple[WireStructurer[Any], dict[str, Any]], data: st.DataObject
) -> None:
    # Mostly valid shapes: every field present with a plausible value, so the fast path
    # is the one that answers.
    structurer, _ = case
    wire: dict[str, Any] = {}
    for name, key in structurer.wire_keys.items():
        wire[key] = data.draw(
            st.one_of(st.none(), TIMES, st.text(max_size=8), st.integers(0, 10**6)), label=name
        )
    check(structurer, wire)


@pytest.mark.parametrize(
    "times",
    [
        # As VideoSDK lists an ended session: the start is its creation, the end its update.
        {"start": "2025-06-18T11:50:00.000Z", "end": "2025-06-18T11:54:22.000Z"},
        {"start": "2025-06-18T11:15:07+02:00", "end": "2025-06-18T11:15:07+02:00"},
        {"start": "2025-06-18T11:15:07", "end": "2025-06-18T11:15:07"},
        {"start": "yesterday", "end": "yesterday"},
        {"start": 1750245307, "end": "1750245307"},
    ],
)
def test_datetimes_of_the_same_text_agree(times: dict[str, Any]) -> None:
    """A datetime whose text another field already had takes that field's value: the same
    as parsing it again, whatever the text is."""
    wire = dict(fixture("videosdk-fetch-sessions.json")["data"][0])
    wire.update(times)
    wire["createdAt"], wire["updatedAt"] = times["start"], times["end"]
    structurer = agentcloud.providers.videosdk._base._session_from_wire
    check(structurer, wire)
    kind, built = outcome(structurer, wire)
    if kind == "value" and isinstance(times["start"], str):
        assert built.started_at == built.created_at is not None


@settings(max_examples=150, deadline=None, derandomize=True)
@given(case=wires(), data=st.data())
def test_fields_sharing_a_few_texts_agree(
    case: tuple[WireStructurer[Any], dict[str, Any]], data: st.DataObject
) -> None:
    # Every field drawn from the same three values: texts repeat across fields.
    structurer, _ = case
    pool = data.draw(st.lists(st.one_of(st.none(), TIMES), min_size=1, max_size=3), label="pool")
    wire = {
        key: data.draw(st.sampled_from(pool), label=name)
        for name, key in structurer.wire_keys.items()
    }
    check(structurer, wire)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    structurer=st.sampled_from(BUILT_IN),
    items=st.lists(st.sampled_from(["fixture", "odd", "subclass", "not an object"]), max_size=6),
    data=st.data(),
)
def test_a_page_built_at_once_is_the_page_built_item_by_item(
    structurer: WireStructurer[Any], items: list[str], data: st.DataObject
) -> None:
    # ``many`` takes one fast pass over a page and, when any item is unusual, builds each
    # item the usual way: the same values in the same order, or the same first error.
    keys = _keys(structurer)
    page: list[Any] = []
    for kind in items:
        wire = {key: data.draw(VALUES) for key in data.draw(st.lists(st.sampled_from(keys)))}
        if kind == "fixture":
            wire = {key: data.draw(st.text(max_size=4)) for key in structurer.wire_keys.values()}
        page.append({"subclass": Subclass(wire), "not an object": [wire]}.get(kind, wire))
    one_by_one = outcome(lambda wires: [structurer(wire) for wire in wires], page)
    at_once = outcome(structurer.many, page)
    assert at_once[0] == one_by_one[0]
    assert same(at_once[1], one_by_one[1])


class Subclass(dict[str, Any]):
    """A dict subclass: always built the general way."""


# ---- builder(): a model made from code, through the twin class ------------------------------


def _models() -> list[type[Any]]:
    """Every attrs model the SDK defines (its providers' too)."""
    found: set[type[Any]] = set()
    pending = [Model]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if (
                attrs.has(sub)
                and sub.__module__.startswith("agentcloud.")
                and "_Builder" not in sub.__name__
            ):
                found.add(sub)
    return sorted(found, key=lambda cls: cls.__qualname__)


MODELS = _models()


@given(cls=st.sampled_from(MODELS), data=st.data())
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
def test_a_built_model_is_the_model_its_init_makes(cls: type[Any], data: st.DataObject) -> None:
    build = builder(cls)
    fields = attrs.fields(cls)
    # Any subset of the fields given (the rest default), each a plain JSON-ish value: the
    # builder does what ``__init__`` does with them, convert and check nothing beyond it.
    given_names = data.draw(st.lists(st.sampled_from([f.alias for f in fields]), unique=True))
    required = [f.alias for f in fields if f.default is attrs.NOTHING]
    values = st.one_of(st.none(), st.text(max_size=3), st.integers())
    kwargs = {name: data.draw(values) for name in sorted({*given_names, *required})}
    expected, got = made(cls, kwargs), made(build, kwargs)
    assert got[0] == expected[0]
    assert same(got[1], expected[1])


def made(make: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[str, Any]:
    """What ``make(**kwargs)`` returns, or the type of what it raises (a converter may
    refuse a value: the builder is then the class itself, and refuses it alike)."""
    try:
        return "value", make(**kwargs)
    except Exception as error:
        return "error", type(error)


def test_the_builder_keeps_models_frozen_and_defaults_fresh() -> None:
    @attrs.frozen(kw_only=True)
    class Held(Model):
        id: str
        tags: list[str] = attrs.field(factory=list)
        _secret: str | None = attrs.field(default=None, repr=False)

    build = builder(Held)
    assert build is not Held
    one, two = build(id="a"), build(id="b", secret="s")
    assert type(one) is Held
    assert one == Held(id="a")
    assert two == Held(id="b", secret="s")
    assert one.tags is not two.tags  # a factory runs for every model, as in __init__
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        one.id = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        build()  # the required id, as __init__ requires it
    with pytest.raises(TypeError):
        build("a")  # keyword-only


def test_a_model_the_builder_cannot_make_is_made_by_its_class() -> None:
    @attrs.frozen(kw_only=True)
    class Checked(Model):
        id: str = attrs.field(validator=attrs.validators.min_len(1))

    @attrs.frozen(kw_only=True)
    class Converted(Model):
        count: int = attrs.field(converter=int)

    @attrs.frozen(kw_only=True)
    class Hooked(Model):
        id: str

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Checked, Converted, Hooked):
        assert builder(cls) is cls
    with pytest.raises(ValueError, match="id"):
        builder(Checked)(id="")
