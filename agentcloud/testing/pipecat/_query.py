"""The session listing's query: checked the way Pipecat's API (zod) checks it, and applied.

Invalid values answer 400 with zod's issue objects, in the shape of the OpenAPI
document's example, so clients can be tested against the real error shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from .._world import Refusal
from ._records import PipecatSessionRecord

__all__ = ["SessionQuery", "parse_session_query"]

_ENUMS = {"status": ("active", "ended", "all"), "startType": ("cold", "warm", "all")}
# Integer parameters and their minimum values.
_INTEGERS = {
    "limit": 1,
    "offset": 0,
    "startTime": 0,
    "endTime": 0,
    "startTimeMin": 0,
    "startTimeMax": 0,
}


@frozen(kw_only=True)
class SessionQuery:
    limit: int = 10
    offset: int = 0
    status: str = "all"
    start_type: str = "all"
    deployment_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    # Bounds on botStartSeconds (the OpenAPI's "start times ... in seconds"); 0 = no bound.
    start_time_min: int = 0
    start_time_max: int = 0

    def matches(self, session: PipecatSessionRecord) -> bool:
        """Whether the listing shows `session` under this query's filters."""
        timeline = session.timeline
        ended = timeline.phase.is_terminal
        if (self.status == "active" and ended) or (self.status == "ended" and not ended):
            return False
        if self.deployment_id is not None and session.deployment_id != self.deployment_id:
            return False
        cold = session.cold_start if timeline.running_at is not None else None
        if (self.start_type == "cold" and cold is not True) or (
            self.start_type == "warm" and cold is not False
        ):
            return False
        if self.start_time is not None and timeline.created_at < self.start_time:
            return False
        if self.end_time is not None and timeline.created_at > self.end_time:
            return False
        if self.start_time_min or self.start_time_max:
            seconds = session.bot_start_seconds if timeline.running_at is not None else None
            if seconds is None:
                return False
            if self.start_time_min and seconds < self.start_time_min:
                return False
            if self.start_time_max and seconds > self.start_time_max:
                return False
        return True


def _integer_issue(name: str, raw: str, minimum: int) -> tuple[int | None, dict[str, Any] | None]:
    try:
        number = float(raw) if raw.strip() else math.nan
    except ValueError:
        number = math.nan
    if math.isnan(number):
        return None, {
            "code": "invalid_type",
            "expected": "number",
            "received": "nan",
            "path": [name],
            "message": "Expected number, received nan",
        }
    if not number.is_integer():
        return None, {
            "code": "invalid_type",
            "expected": "integer",
            "received": "float",
            "path": [name],
            "message": "Expected integer, received float",
        }
    if number < minimum:
        return None, {
            "code": "too_small",
            "minimum": minimum,
            "type": "number",
            "inclusive": True,
            "exact": False,
            "message": f"Number must be greater than or equal to {minimum}",
            "path": [name],
        }
    return int(number), None


def _enum_issue(name: str, raw: str) -> dict[str, Any] | None:
    options = _ENUMS[name]
    if raw in options:
        return None
    expected = " | ".join(f"'{option}'" for option in options)
    return {
        "received": raw,
        "code": "invalid_enum_value",
        "options": list(options),
        "path": [name],
        "message": f"Invalid enum value. Expected {expected}, received '{raw}'",
    }


def parse_session_query(query: Mapping[str, str]) -> SessionQuery:
    """The parsed query; a 400 `Refusal` carrying zod's issues when it is invalid."""
    issues: list[dict[str, Any]] = []
    integers: dict[str, int] = {}
    for name, minimum in _INTEGERS.items():
        if name in query:
            value, issue = _integer_issue(name, query[name], minimum)
            if issue is not None:
                issues.append(issue)
            elif value is not None:
                integers[name] = value
    for name in _ENUMS:
        if name in query and (issue := _enum_issue(name, query[name])) is not None:
            issues.append(issue)
    if issues:
        raise Refusal(400, "Invalid parameters", err={"issues": issues, "name": "ZodError"})
    return SessionQuery(
        limit=integers.get("limit", 10),
        offset=integers.get("offset", 0),
        status=query.get("status", "all"),
        start_type=query.get("startType", "all"),
        deployment_id=query.get("deploymentId") or None,
        start_time=integers.get("startTime"),
        end_time=integers.get("endTime"),
        start_time_min=integers.get("startTimeMin", 0),
        start_time_max=integers.get("startTimeMax", 0),
    )
