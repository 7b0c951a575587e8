"""LiveKit's messages as the emulator writes them, from the vendor's protobuf definitions.

Twirp answers JSON with proto field names and every field present (int64 as text, enums
by name, unset messages null): `room_view`, `dispatch_view` and friends write exactly
that, and the protobuf encoding (`_wire`) parses the same dicts, so one view serves both.
Webhook bodies are protojson's default instead: lowerCamel names, defaults left out
(`protojson`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._records import LiveKitDispatchRecord, LiveKitRoomRecord

if TYPE_CHECKING:
    from ._world import LiveKitWorld

__all__ = ["dispatch_view", "job_view", "protojson", "room_view"]

_ZERO_ENUMS = frozenset({"JS_PENDING", "JT_ROOM", "JRP_ON_FAILURE", "JSR_UNSPECIFIED"})
# int64 fields, written as text: "0" is their default.
_INT64_FIELDS = frozenset(
    {"created_at", "deleted_at", "started_at", "ended_at", "updated_at", "creation_time"}
    | {"creation_time_ms"}
)
# Map fields keep their keys as given; every other key is a field name.
_MAP_FIELDS = frozenset({"attributes", "tags"})


def nanos(seconds: float | None) -> str:
    """Unix nanoseconds as Twirp JSON writes an int64: text, "0" when unset."""
    if seconds is None:
        return "0"
    # Whole seconds apart from the fraction: a float holds ns since 1970 only to ~256 ns.
    whole = int(seconds)
    return str(whole * 1_000_000_000 + round((seconds - whole) * 1_000_000_000))


def room_view(room: LiveKitRoomRecord, *, participants: int = 0) -> dict[str, Any]:
    return {
        "sid": room.sid,
        "name": room.name,
        "empty_timeout": room.empty_timeout,
        "departure_timeout": room.departure_timeout,
        "max_participants": room.max_participants,
        "creation_time": str(int(room.created_at)),
        "creation_time_ms": str(int(room.created_at * 1000)),
        "turn_password": "",
        "enabled_codecs": [],
        "metadata": room.metadata,
        "num_participants": participants,
        "num_publishers": 0,
        "active_recording": False,
        "version": None,
    }


def job_view(dispatch: LiveKitDispatchRecord, room: dict[str, Any] | None) -> dict[str, Any]:
    job = dispatch.job
    assert job is not None
    timeline = dispatch.timeline
    status = dispatch.job_status()
    running = status == "JS_RUNNING" or timeline.running_at is not None
    return {
        "id": job.id,
        "dispatch_id": dispatch.id,
        "type": "JT_ROOM",
        "room": room,
        "participant": None,
        "namespace": "",
        "metadata": dispatch.metadata,
        "agent_name": dispatch.agent_name,
        "state": {
            "status": status,
            "error": job.error,
            "started_at": nanos(timeline.running_at),
            "ended_at": nanos(timeline.ended_at if timeline.phase.is_terminal else None),
            "updated_at": nanos(timeline.updated_at),
            "participant_identity": f"agent-{job.id}" if running else "",
            "worker_id": job.worker_id,
            "agent_id": "",
            "reason": job.reason,
        },
        "enable_recording": False,
        "deployment": dispatch.deployment,
        "attributes": dict(dispatch.attributes),
        "enable_redaction": False,
    }


def dispatch_view(dispatch: LiveKitDispatchRecord, world: LiveKitWorld) -> dict[str, Any]:
    jobs = []
    if dispatch.job is not None:
        room = world.rooms.get(dispatch.room)
        jobs.append(job_view(dispatch, world.room_view(room) if room is not None else None))
    return {
        "id": dispatch.id,
        "agent_name": dispatch.agent_name,
        "room": dispatch.room,
        "metadata": dispatch.metadata,
        "state": {
            "jobs": jobs,
            "created_at": nanos(dispatch.created_at),
            "deleted_at": nanos(dispatch.deleted_at),
        },
        "restart_policy": dispatch.restart_policy,
        "deployment": dispatch.deployment,
        "attributes": dict(dispatch.attributes),
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _is_default(key: str, value: Any) -> bool:
    if isinstance(value, str):
        return value == "" or value in _ZERO_ENUMS or (value == "0" and key in _INT64_FIELDS)
    return value is None or value is False or value == 0 or value == [] or value == {}


def protojson(view: Any, *, keep_keys: bool = False) -> Any:
    """A proto-name view as protojson writes it by default: lowerCamel names, fields at
    their default value left out."""
    if isinstance(view, list):
        return [protojson(item) for item in view]
    if not isinstance(view, dict):
        return view
    written: dict[str, Any] = {}
    for key, value in view.items():
        if not keep_keys and _is_default(key, value):
            continue
        name = key if keep_keys else _camel(key)
        written[name] = protojson(value, keep_keys=key in _MAP_FIELDS and not keep_keys)
    return written
