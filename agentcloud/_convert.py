"""Wire JSON to models: converters, a structurer per model, and the ``expect_*`` checks.

Field names map to camelCase wire names through hooks that cattrs generates once per class
(fast, and the models stay free of wire concerns, unlike attrs aliases). Each provider
builds its own converter with :func:`make_converter` (nothing is shared or mutated across
providers) and one :class:`WireStructurer` per model, passing the renames and key fallbacks
its vendor's quirks need and a ``derive`` function for fields computed from several wire
keys (status, provider-specific flags). Derived values are set with :func:`set_derived`,
the one place a frozen model is written after it was built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ResponseDecodeError

__all__ = [
    "WireStructurer",
    "camel_case",
    "expect_count",
    "expect_list",
    "expect_object",
    "make_converter",
    "parse_datetime",
    "set_derived",
]

T = TypeVar("T")

_CAMEL_BOUNDARY = re.compile(r"_([a-z0-9])")


def camel_case(name: str) -> str:
    """``cpu_millicores_p50`` -> ``cpuMillicoresP50``."""
    return _CAMEL_BOUNDARY.sub(lambda match: match.group(1).upper(), name)


def parse_datetime(value: Any, _: Any = None) -> datetime:
    """ISO 8601 text or unix seconds to an aware UTC datetime; a naive stamp is read as UTC."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:  # its message quotes the value, which may be anything at all
            raise ValueError(f"not an ISO 8601 time ({len(value)} characters)") from None
        if parsed.tzinfo is UTC:  # the usual "...Z": already what we return
            return parsed
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    if parsed.utcoffset():
        return parsed.astimezone(UTC)
    return parsed


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _strict_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _json_object(value: Any, _: Any) -> dict[str, Any]:
    # Kept as the vendor sent it: copying every metadata dict would cost on every item.
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    raise TypeError(f"expected an object, got {type(value).__name__}")


def _optional_json_object(value: Any, _: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise TypeError(f"expected an object, got {type(value).__name__}")


def _optional_inner(type_: Any) -> Any:
    """``X`` for ``X | None`` (or ``Optional[X]``), else None."""
    if get_origin(type_) not in (Union, UnionType):
        return None
    args = get_args(type_)
    if len(args) != 2 or NoneType not in args:
        return None
    return args[0] if args[1] is NoneType else args[1]


def _optional_of(hook: Callable[[Any, Any], T], inner: Any) -> Callable[[Any, Any], T | None]:
    # Built once per type: cattrs' own Optional hook looks the inner hook up on every value.
    def structure(value: Any, _: Any) -> T | None:
        return None if value is None else hook(value, inner)

    return structure


_SCALAR_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {
    datetime: parse_datetime,
    str: _strict_str,
    int: _strict_int,
    float: _strict_float,
    bool: _strict_bool,
}


# The Optional scalar hooks every model field goes through, with the common case inline:
# a value that is None or already of its exact type is returned without a second call.
def _optional_datetime(value: Any, _: Any) -> datetime | None:
    if value is None:
        return None
    if value.__class__ is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:  # its message quotes the value: let parse_datetime say it
            return parse_datetime(value)
        if parsed.tzinfo is UTC:
            return parsed
    return parse_datetime(value)


def _optional_str(value: Any, _: Any) -> str | None:
    return value if value is None or value.__class__ is str else _strict_str(value, _)


def _optional_int(value: Any, _: Any) -> int | None:
    return value if value is None or value.__class__ is int else _strict_int(value, _)


def _optional_float(value: Any, _: Any) -> float | None:
    return value if value is None or value.__class__ is float else _strict_float(value, _)


def _optional_bool(value: Any, _: Any) -> bool | None:
    return value if value is None or value.__class__ is bool else _strict_bool(value, _)


_OPTIONAL_SCALAR_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {
    datetime: _optional_datetime,
    str: _optional_str,
    int: _optional_int,
    float: _optional_float,
    bool: _optional_bool,
}


def make_converter() -> cattrs.Converter:
    """A new converter with agentcloud's strict scalar hooks; one per provider."""
    conv = cattrs.Converter(detailed_validation=False)
    for type_, hook in _SCALAR_HOOKS.items():
        conv.register_structure_hook(type_, hook)
    conv.register_structure_hook_factory(
        lambda type_: _optional_inner(type_) in _SCALAR_HOOKS,
        lambda type_: _OPTIONAL_SCALAR_HOOKS[_optional_inner(type_)],
    )
    conv.register_structure_hook_func(lambda type_: type_ == dict[str, Any], _json_object)
    conv.register_structure_hook_func(
        lambda type_: type_ == dict[str, Any] | None, _optional_json_object
    )
    return conv


def set_derived(instance: T, **values: Any) -> T:
    """Sets fields of a freshly built frozen model and returns it.

    The one place a model is written after construction: structurers build a model from
    the keys that map one to one, then set what is derived from several keys (a status
    from three vendor fields), which costs less than building the model twice. Only for
    models no one else has seen yet.
    """
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    return instance


def expect_object(data: Any, what: str) -> dict[str, Any]:
    """``data`` if it is a JSON object, else ResponseDecodeError naming ``what``."""
    if not isinstance(data, dict):
        raise ResponseDecodeError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def expect_list(data: Any, what: str) -> list[Any]:
    """``data`` if it is a JSON array, else ResponseDecodeError naming ``what``."""
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


class WireStructurer(Generic[T]):
    """Builds ``cls`` from a vendor's JSON object.

    ``renames`` maps a field to its wire key when camelCase is not it; ``fallbacks`` maps a
    wire key to the other spellings a vendor uses for it; ``derived`` fields are left out of
    the generated hook and computed by ``derive`` from the whole wire object. ``raw`` (when
    the class has it) is the wire object itself. With ``register=True`` the structurer
    also becomes ``converter``'s hook for ``cls`` (and ``cls | None``), for nested models.
    """

    def __init__(
        self,
        cls: type[T],
        *,
        converter: cattrs.Converter,
        renames: Mapping[str, str] | None = None,
        fallbacks: Mapping[str, tuple[str, ...]] | None = None,
        derived: tuple[str, ...] = (),
        derive: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
        register: bool = False,
    ) -> None:
        renames = renames or {}
        self._cls = cls
        self._fallbacks = tuple((fallbacks or {}).items())
        self._derive = derive
        names = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
        self._has_raw = "raw" in names
        omitted = set(derived) | ({"raw"} if self._has_raw else set())
        overrides: dict[str, Any] = {}
        for name in names:
            if name in omitted:
                overrides[name] = override(omit=True)
            else:
                overrides[name] = override(rename=renames.get(name, camel_case(name)))
        self._structure = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=False, **overrides
        )
        if register:
            converter.register_structure_hook(cls, self._nested)
            converter.register_structure_hook_func(
                lambda type_: _optional_inner(type_) is cls, _optional_of(self._nested, cls)
            )

    def _nested(self, wire: Any, _: Any) -> T:
        return self(wire)

    def __call__(self, wire: Any) -> T:
        if not isinstance(wire, dict):
            raise ResponseDecodeError(
                f"expected a JSON object for {self._cls.__name__}, got {type(wire).__name__}"
            )
        source = wire
        for key, alternatives in self._fallbacks:
            if key not in source:
                for alternative in alternatives:
                    if alternative in source:
                        source = {**source, key: source[alternative]}
                        break
        try:
            value = self._structure(source, self._cls)
            if self._derive is not None:
                set_derived(value, **self._derive(wire))
        except ResponseDecodeError:
            raise
        except Exception as error:
            raise ResponseDecodeError(
                f"malformed {self._cls.__name__}: {type(error).__name__}: {error}"
            ) from None
        if self._has_raw:
            set_derived(value, raw=wire)
        return value
