"""Twirp's two encodings, as LiveKit's server reads and writes them.

JSON always: a request may use proto or lowerCamel field names, unknown keys are dropped,
a value of the wrong type is ``malformed``; fields left out take protobuf's defaults.
Protobuf when ``livekit-protocol`` (which ``livekit-api`` brings) is installed: requests
are parsed with its message classes and answers built from the same views as JSON, so
the official client runs against the emulator unmodified. An answer is written in the
encoding its request came in. The request field tables below are the emulator's own,
written from LiveKit's ``.proto`` files; protobuf parsing does not depend on them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .._json import decode_json, json_response
from .._world import Refusal

__all__ = ["JSON", "PROTOBUF", "METHODS", "Method", "answer", "protobuf_available", "read"]

JSON = "application/json"
PROTOBUF = "application/protobuf"

_JOB_RESTART_POLICIES = ("JRP_ON_FAILURE", "JRP_NEVER")

# Field kinds: a scalar kind, ("enum", names), ("messages", fields) or "message" (opaque).
_ROOM_AGENT_DISPATCH: dict[str, Any] = {
    "agent_name": "string",
    "metadata": "string",
    "restart_policy": ("enum", _JOB_RESTART_POLICIES),
    "deployment": "string",
    "attributes": "map",
}
_REQUESTS: dict[str, dict[str, Any]] = {
    "CreateAgentDispatchRequest": {
        "agent_name": "string",
        "room": "string",
        "metadata": "string",
        "restart_policy": ("enum", _JOB_RESTART_POLICIES),
        "deployment": "string",
        "attributes": "map",
    },
    "ListAgentDispatchRequest": {"dispatch_id": "string", "room": "string"},
    "DeleteAgentDispatchRequest": {"dispatch_id": "string", "room": "string"},
    "CreateRoomRequest": {
        "name": "string",
        "room_preset": "string",
        "empty_timeout": "uint32",
        "departure_timeout": "uint32",
        "max_participants": "uint32",
        "node_id": "string",
        "metadata": "string",
        "tags": "map",
        "egress": "message",
        "min_playout_delay": "uint32",
        "max_playout_delay": "uint32",
        "sync_streams": "bool",
        "replay_enabled": "bool",
        "agents": ("messages", _ROOM_AGENT_DISPATCH),
    },
    "ListRoomsRequest": {"names": "strings"},
    "DeleteRoomRequest": {"room": "string"},
}
_DEFAULTS: dict[str, Any] = {"string": "", "uint32": 0, "bool": False, "map": {}, "strings": []}

# The module of livekit-protocol that defines each message.
_MODULES = {
    "CreateAgentDispatchRequest": "agent_dispatch",
    "ListAgentDispatchRequest": "agent_dispatch",
    "DeleteAgentDispatchRequest": "agent_dispatch",
    "ListAgentDispatchResponse": "agent_dispatch",
    "AgentDispatch": "agent_dispatch",
    "CreateRoomRequest": "room",
    "ListRoomsRequest": "room",
    "DeleteRoomRequest": "room",
    "ListRoomsResponse": "room",
    "DeleteRoomResponse": "room",
    "Room": "models",
}


class Method:
    """One Twirp method: its request and answer messages."""

    def __init__(self, request: str, response: str) -> None:
        self.request = request
        self.response = response


METHODS: dict[str, Method] = {
    "/twirp/livekit.AgentDispatchService/CreateDispatch": Method(
        "CreateAgentDispatchRequest", "AgentDispatch"
    ),
    "/twirp/livekit.AgentDispatchService/DeleteDispatch": Method(
        "DeleteAgentDispatchRequest", "AgentDispatch"
    ),
    "/twirp/livekit.AgentDispatchService/ListDispatch": Method(
        "ListAgentDispatchRequest", "ListAgentDispatchResponse"
    ),
    "/twirp/livekit.RoomService/CreateRoom": Method("CreateRoomRequest", "Room"),
    "/twirp/livekit.RoomService/ListRooms": Method("ListRoomsRequest", "ListRoomsResponse"),
    "/twirp/livekit.RoomService/DeleteRoom": Method("DeleteRoomRequest", "DeleteRoomResponse"),
}


def _protocol_class(message: str) -> Any:
    module = importlib.import_module(f"livekit.protocol.{_MODULES[message]}")
    return getattr(module, message)


def protobuf_available() -> bool:
    """Whether livekit-protocol is installed, so protobuf requests can be served."""
    try:
        _protocol_class("AgentDispatch")
    except ImportError:
        return False
    return True


def _malformed(message: str = "the json request could not be decoded") -> Refusal:
    return Refusal(400, message, code="malformed")


_UPPER = re.compile(r"([A-Z])")


def _value(kind: Any, value: Any) -> Any:
    if value is None:  # protojson reads null as the field's default
        return _default(kind)
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "uint32":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
            return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if (
        kind == "map"
        and isinstance(value, dict)
        and all(isinstance(item, str) for item in value.values())
    ):
        return dict(value)
    if kind == "strings" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if kind == "message" and isinstance(value, dict):
        return value
    if isinstance(kind, tuple) and kind[0] == "enum":
        names = kind[1]
        if isinstance(value, str) and value in names:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return names[value]
    if isinstance(kind, tuple) and kind[0] == "messages" and isinstance(value, list):
        return [_fields(item, kind[1]) for item in value]
    raise _malformed()


def _default(kind: Any) -> Any:
    if isinstance(kind, tuple):
        return kind[1][0] if kind[0] == "enum" else []
    return None if kind == "message" else _DEFAULTS[kind]


def _fields(data: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A message in proto names with every field: given values checked, others default."""
    if not isinstance(data, dict):
        raise _malformed()
    read = {name: _default(kind) for name, kind in spec.items()}
    for key, value in data.items():
        name = key if key in spec else _UPPER.sub(r"_\1", key).lower()
        if name in spec:
            read[name] = _value(spec[name], value)
    return read


def read(raw: bytes, message: str, content_type: str) -> dict[str, Any]:
    """The request message in proto names; ``malformed`` when it cannot be read."""
    spec = _REQUESTS[message]
    if content_type == PROTOBUF:
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError

        try:
            parsed = _protocol_class(message).FromString(raw)
        except DecodeError:
            raise _malformed("the protobuf request could not be decoded") from None
        return _fields(MessageToDict(parsed, preserving_proto_field_name=True), spec)
    try:
        decoded = decode_json(raw)
    except ValueError:
        raise _malformed() from None
    return _fields(decoded, spec)


def answer(view: dict[str, Any], message: str, content_type: str) -> web.Response:
    """``view`` (proto names, every field) as the answer, in the request's encoding."""
    if content_type == PROTOBUF:
        from google.protobuf.json_format import ParseDict

        built = ParseDict(view, _protocol_class(message)())
        return web.Response(body=built.SerializeToString(), content_type=PROTOBUF)
    return json_response(view)
