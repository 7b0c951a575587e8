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
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MemberDescriptorType, NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ResponseDecodeError

__all__ = [
    "WireStructurer",
    "builder",
    "camel_case",
    "expect_count",
    "expect_list",
    "expect_object",
    "make_converter",
    "parse_datetime",
    "set_derived",
]

T = TypeVar("T")

#: Every structurer made (see :func:`structurers`).
_MADE: weakref.WeakSet[WireStructurer[Any]] = weakref.WeakSet()

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

    _NONE_IS_NONE.add(structure)
    return structure


#: Hooks that return None for None and call another hook otherwise: the fast path tests
#: for None itself.
_NONE_IS_NONE: set[Callable[..., Any]] = set()


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


def structurers() -> list[WireStructurer[Any]]:
    """Every structurer made so far (the tests check each fast path against the general)."""
    return list(_MADE)


class WireStructurer(Generic[T]):
    """Builds ``cls`` from a vendor's JSON object.

    ``renames`` maps a field to its wire key when camelCase is not it; ``fallbacks`` maps a
    wire key to the other spellings a vendor uses for it; ``derived`` fields are left out of
    the generated hook and computed by ``derive`` from the whole wire object (a value it
    gives for any other name is ignored). ``raw`` (when the class has it) is the wire object
    itself. With ``register=True`` the structurer also becomes ``converter``'s hook for
    ``cls`` (and ``cls | None``), for nested models.

    Each call takes a fast path generated once for ``cls`` (see ``_compile_fast``), which
    returns what the general path (:meth:`_general`) returns; anything unusual goes the
    general way, which also says what is wrong with a malformed object.
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
        self._derived = tuple(derived)
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
        #: The wire key each structured field is read from.
        self.wire_keys = {name: renames.get(name, camel_case(name)) for name in names - omitted}
        self._fast = _compile_fast(
            cls,
            converter,
            wire_keys=self.wire_keys,
            fallbacks=dict(self._fallbacks),
            derived=tuple(derived),
            derive=derive,
            has_raw=self._has_raw,
        )
        _MADE.add(self)
        if register:
            converter.register_structure_hook(cls, self._nested)
            converter.register_structure_hook_func(
                lambda type_: _optional_inner(type_) is cls, _optional_of(self._nested, cls)
            )

    def _nested(self, wire: Any, _: Any) -> T:
        return self(wire)

    def __call__(self, wire: Any) -> T:
        fast = self._fast
        if fast is not None:
            try:
                built: T = fast(wire)
            except Exception:  # the general path says what is wrong, as always
                pass
            else:
                return built
        return self._general(wire)

    def many(self, wires: Sequence[Any]) -> list[T]:
        """``[self(wire) for wire in wires]``, for a page of items: one fast pass over the
        page, and item by item (each the usual way) only if an item is unusual."""
        fast = self._fast
        if fast is not None:
            try:
                return list(map(fast, wires))
            except Exception:
                pass
        return list(map(self, wires))

    def _general(self, wire: Any) -> T:
        """The general path: cattrs' hook, then the derived fields and ``raw``. It defines
        what a structurer returns and raises; the fast path returns the same value."""
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
                found = self._derive(wire)
                set_derived(value, **{n: found[n] for n in self._derived if n in found})
        except ResponseDecodeError:
            raise
        except Exception as error:
            raise ResponseDecodeError(
                f"malformed {self._cls.__name__}: {type(error).__name__}: {error}"
            ) from None
        if self._has_raw:
            set_derived(value, raw=wire)
        return value


# ---- the fast path ------------------------------------------------------------------------
#
# A function generated once per model (Python source, compiled), that reads each field's
# wire key, handles the common case inline (None, or a value of the field's exact type,
# an ISO time ending in Z) and calls the converter's own hook for anything else, then
# fills the instance's slots directly, derived fields and ``raw`` included: one call where
# the general path makes a hook call per field, an ``__init__`` call and two rewrites.
# The slots are filled through a twin of the class that only differs in allowing plain
# attribute stores (``o.name = v`` is a specialised slot store, several times cheaper than
# calling each slot's descriptor); the finished object then becomes the class itself
# (``__class__`` assignment, allowed as the twin adds no slots), so what is returned is an
# ordinary instance of ``cls``: equal, hashed and typed like one built by ``__init__``.
# It returns exactly what the general path returns; on any exception the structurer runs
# the general path, which raises the usual ResponseDecodeError. Models it cannot build
# that way (validators, attrs' own init hooks, a converter that takes self, no slots)
# have no fast path.

_MISSING = object()


class _NotFast(Exception):
    """The fast path gives way to the general path (an unexpected shape)."""


def _is_slot(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            return isinstance(found, MemberDescriptorType)
    return False


def _twin(cls: type) -> type:
    """A subclass of ``cls`` with the same slots whose instances take plain stores."""
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        # Both, or the type keeps a Python-level attribute hook and stores stay slow.
        "__delattr__": object.__delattr__,
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}._Builder",
    }
    return type(cls)(f"{cls.__name__}_Builder", (cls,), namespace)


def _not_fast(*_: Any) -> Any:
    raise _NotFast


def builder(cls: type[T]) -> Callable[..., T]:
    """A keyword-only constructor of the frozen model ``cls`` that fills its slots
    through the twin class, as the fast structure functions do: about a third of the cost
    of ``cls(...)`` (a frozen ``__init__`` calls a descriptor per field), with the same
    defaults and the same result. For models built on every call from code, not from a
    wire object (a start's ``Connection``). ``cls`` itself where that cannot be done
    (validators, converters, init hooks, fields outside ``__init__`` or not in slots)."""
    if any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")):
        return cls
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    names: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_M": _MISSING}
    parameters: list[str] = []
    body: list[str] = []
    for index, field in enumerate(fields):
        if (
            field.validator is not None
            or field.converter is not None
            or not field.init
            or not _is_slot(cls, field.name)
        ):
            return cls
        alias = field.alias or field.name
        default = field.default
        if default is attrs.NOTHING:
            parameters.append(alias)
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                return cls
            names[f"_f{index}"] = default.factory
            parameters.append(f"{alias}=_M")
            body += [f"    if {alias} is _M:", f"        {alias} = _f{index}()"]
        else:
            names[f"_d{index}"] = default
            parameters.append(f"{alias}=_d{index}")
        body.append(f"    o.{field.name} = {alias}")
    names["_twin"] = _twin(cls)
    lines = [f"def build(*, {', '.join(parameters)}):", "    o = _new(_twin)", *body]
    lines += ["    o.__class__ = _cls", "    return o"]
    code = compile("\n".join(lines) + "\n", f"<agentcloud builder {cls.__qualname__}>", "exec")
    exec(code, names)
    built: Callable[..., T] = names["build"]
    return built


def _compile_fast(
    cls: type,
    converter: cattrs.Converter,
    *,
    wire_keys: Mapping[str, str],
    fallbacks: Mapping[str, tuple[str, ...]],
    derived: tuple[str, ...],
    derive: Callable[[dict[str, Any]], Mapping[str, Any]] | None,
    has_raw: bool,
) -> Callable[[dict[str, Any]], Any] | None:
    """The fast structure function of ``cls``, or None where it cannot have one."""
    if any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")):
        return None
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    names: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_M": _MISSING,
        "_NotFast": _NotFast,
        "_fromiso": datetime.fromisoformat,
        "_UTC": UTC,
        "_derive": derive,
        "_dict": dict,
    }
    # Only a plain dict: a subclass may answer ``get`` its own way.
    lines = ["def structure(w):", "    if w.__class__ is not _dict:", "        raise _NotFast"]
    lines += ["    o = _new(_twin)"]
    if derive is not None:
        lines += ["    d = _derive(w)"]
    #: The datetime fields already structured (by index): a later one whose text is the
    #: same (a session's start is often its creation, its end its last update) takes
    #: their value rather than parsing the text again.
    parsed: list[int] = []
    for index, field in enumerate(fields):
        if field.validator is not None or not _is_slot(cls, field.name):
            return None
        if field.converter is not None and not _plain_callable(field.converter):
            return None
        value = f"v{index}"
        body: list[str] = []
        if field.name == "raw" and has_raw:
            body.append(f"{value} = w")
        elif field.name in derived and derive is not None:
            default = field.default
            if field.converter is None and not (
                default is attrs.NOTHING or isinstance(default, attrs.Factory)  # type: ignore[arg-type]
            ):
                names[f"_d{index}"] = default
                body.append(f"{value} = d.get({field.name!r}, _d{index})")
            else:
                body += [
                    f"{value} = d.get({field.name!r}, _M)",
                    f"if {value} is _M:",
                    *("    " + line for line in _default(field, index, value, names)),
                ]
        elif field.name in derived or not field.init:
            body += _default(field, index, value, names)
        else:
            key = wire_keys[field.name]
            hook = converter.get_structure_hook(field.type)
            names[f"_h{index}"], names[f"_t{index}"] = hook, field.type
            structured = _inline(hook, index, value, parsed)
            if field.converter is not None:
                names[f"_c{index}"] = field.converter
                structured.append(f"{value} = _c{index}({value})")
            if field.default is attrs.NOTHING and key not in fallbacks:
                # Required: a missing key raises KeyError, and the general path says so.
                body += [f"{value} = w[{key!r}]", *structured]
                _parsed_at_top(hook, field, index, parsed)
            elif (
                field.default is None
                and field.converter is None
                and key not in fallbacks
                and (hook in _EXACT_TYPES or hook in _NONE_IS_NONE or hook is _optional_datetime)
            ):
                # A missing key gives the default None, as the hook gives None for null.
                body += [f"{value} = w.get({key!r})", *structured]
                _parsed_at_top(hook, field, index, parsed)
            else:
                body += _fetch(value, key, fallbacks)
                # A key the wire lacks takes the default (cattrs passes nothing to __init__).
                body += [f"if {value} is _M:"]
                body += ["    " + line for line in _default(field, index, value, names)]
                body += ["else:"]
                body += ["    " + line for line in structured]
        body.append(f"o.{field.name} = {value}")
        lines += ["    " + line for line in body]
    names["_twin"] = _twin(cls)
    lines += ["    o.__class__ = _cls", "    return o"]
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<agentcloud fast structure {cls.__qualname__}>", "exec")
    exec(code, names)
    built: Callable[[dict[str, Any]], Any] = names["structure"]
    return built


def _plain_callable(converter: Any) -> bool:
    return callable(converter) and not isinstance(converter, attrs.Converter)


def _default(field: Any, index: int, value: str, names: dict[str, Any]) -> list[str]:
    """Lines setting ``value`` to the field's default, as attrs' ``__init__`` would."""
    default = field.default
    if default is attrs.NOTHING:
        names[f"_nf{index}"] = _not_fast
        return [f"{value} = _nf{index}()"]  # required: the general path says so
    lines: list[str]
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            names[f"_nf{index}"] = _not_fast
            return [f"{value} = _nf{index}()"]
        names[f"_f{index}"] = default.factory
        lines = [f"{value} = _f{index}()"]
    else:
        names[f"_d{index}"] = default
        lines = [f"{value} = _d{index}"]
    if field.converter is not None:
        names[f"_c{index}"] = field.converter
        lines.append(f"{value} = _c{index}({value})")
    return lines


def _fetch(value: str, key: str, fallbacks: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Lines reading the wire key (or the first fallback spelling present) into ``value``."""
    lines = [f"{value} = w.get({key!r}, _M)"]
    for alternative in fallbacks.get(key, ()):
        lines += [f"if {value} is _M:", f"    {value} = w.get({alternative!r}, _M)"]
    return lines


_EXACT_TYPES: dict[Any, str] = {
    _optional_str: "str",
    _optional_int: "int",
    _optional_float: "float",
    _optional_bool: "bool",
    _optional_json_object: "dict",
}


def _parsed_at_top(hook: Any, field: Any, index: int, parsed: list[int]) -> None:
    """Records a datetime field structured on every path through the function (its text
    kept in ``s<index>``), whose value a later field of the same text may take."""
    if hook is _optional_datetime and field.converter is None:
        parsed.append(index)


def _inline(hook: Any, index: int, value: str, parsed: Sequence[int] = ()) -> list[str]:
    """Lines structuring a present ``value`` with ``hook``: the common case inline where
    the hook is one of agentcloud's own, else a call of it. A datetime's text equal to
    that of one of the ``parsed`` fields before it takes that field's value."""
    call = f"_h{index}({value}, _t{index})"
    if hook is _strict_str:
        return [f"if {value}.__class__ is not str:", f"    {value} = {call}"]
    if hook is _optional_float:  # an int (a whole number of seconds) is the usual case
        return [
            f"if {value}.__class__ is not float and {value} is not None:",
            f"    {value} = float({value}) if {value}.__class__ is int else {call}",
        ]
    exact = _EXACT_TYPES.get(hook)
    if exact is not None:
        return [
            f"if {value}.__class__ is not {exact} and {value} is not None:",
            f"    {value} = {call}",
        ]
    if hook is _optional_datetime:
        same: list[str] = []
        for n, earlier in enumerate(parsed):
            same += [
                f"    {'if' if n == 0 else 'elif'} {value} == s{earlier}:",
                f"        {value} = v{earlier}",
            ]
        parse = [f"p = _fromiso({value})", f"{value} = p if p.tzinfo is _UTC else {call}"]
        return [
            f"s{index} = {value}",
            f"if {value}.__class__ is str:",
            *same,
            *(["    else:"] if same else []),
            *(("        " if same else "    ") + line for line in parse),
            f"elif {value} is not None:",
            f"    {value} = {call}",
        ]
    if hook in _NONE_IS_NONE:
        return [f"if {value} is not None:", f"    {value} = {call}"]
    return [f"{value} = {call}"]
