"""What every vendor's scene of ``agentcloud demo`` writes with."""

from __future__ import annotations

from typing import IO

from agentcloud.models import Session

__all__ = ["brief", "line"]


def line(out: IO[str], text: str) -> None:
    """Writes one line at once, so a scene reads like a log as it runs."""
    out.write(text + "\n")
    out.flush()


def brief(session: Session) -> str:
    """A session as the demo shows it: id, status and the vendor's own word for it."""
    return f"{session.id} [{session.status.value}, vendor says {session.raw_status!r}]"
