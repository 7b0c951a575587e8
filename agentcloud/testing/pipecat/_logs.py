"""An agent's logs: the lines its sessions write, and the logs listing's query.

Each session writes a line as it enters a phase (the bot starting, running, stopping,
ending or failing), stamped with the time the phase was due; tests add their own with
``emu.pipecat_log(...)``. The listing's total is exact up to ``total_cap`` matching lines
and a lower bound past it (``relation: "gte"``), as Pipecat's search backend counts.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from .._lifecycle import Phase
from .._world import Refusal
from ._records import LogLine, PipecatSessionRecord

__all__ = ["LogQuery", "parse_log_query", "phase_line"]

BAD_REQUEST = "GENERIC_BAD_REQUEST"
_PHASE_LINES = {
    Phase.QUEUED: "INFO: Starting bot for session {id}",
    Phase.RUNNING: "INFO: Bot started for session {id}",
    Phase.STOPPING: "INFO: Stopping bot for session {id}",
    Phase.COMPLETED: "INFO: Session {id} completed",
    Phase.FAILED: "ERROR: Bot for session {id} failed to start",
}


def phase_line(session: PipecatSessionRecord, phase: Phase) -> tuple[float, str]:
    """When, and what, a session logs as it enters `phase`."""
    timeline = session.timeline
    at = (
        {
            Phase.QUEUED: timeline.created_at,
            Phase.RUNNING: timeline.running_at,
            Phase.STOPPING: timeline.stopping_at,
        }.get(phase)
        or timeline.ended_at
        or timeline.updated_at
    )
    return at, _PHASE_LINES[phase].format(id=session.id)


@frozen(kw_only=True)
class LogQuery:
    limit: int = 10
    offset: int = 0
    deployment_id: str | None = None
    session_id: str | None = None
    text: str | None = None
    ascending: bool = False
    start_time: int | None = None
    end_time: int | None = None

    def matches(self, line: LogLine) -> bool:
        if self.deployment_id is not None and line.deployment_id != self.deployment_id:
            return False
        if self.session_id is not None and line.session_id != self.session_id:
            return False
        if self.text is not None and self.text.lower() not in line.message.lower():
            return False
        if self.start_time is not None and line.at < self.start_time:
            return False
        return not (self.end_time is not None and line.at > self.end_time)


def _integer(query: Mapping[str, str], name: str, minimum: int, message: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text.lstrip("-").isdigit() or int(text) < minimum:
        raise Refusal(400, message, code=BAD_REQUEST)
    return int(text)


def parse_log_query(query: Mapping[str, str]) -> LogQuery:
    """The parsed query; a 400 in Pipecat's shape when a value is not what it takes."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Refusal(400, "Invalid order: expected asc or desc", code=BAD_REQUEST)
    limit = _integer(query, "limit", 1, "Invalid limit")
    offset = _integer(query, "offset", 0, "Invalid offset")
    return LogQuery(
        limit=10 if limit is None else limit,
        offset=0 if offset is None else offset,
        deployment_id=query.get("deploymentId") or None,
        session_id=query.get("sessionId") or None,
        text=query.get("query") or None,
        ascending=order == "asc",
        start_time=_integer(query, "startTime", 0, "Invalid timestamp format"),
        end_time=_integer(query, "endTime", 0, "Invalid timestamp format"),
    )
