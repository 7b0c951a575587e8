"""LiveKit's webhooks: which job phase sends which event, the body and its signature.

A POST of ``application/webhook+json`` (protojson: lowerCamel names, defaults left out)
with ``Authorization: <jwt>`` and no ``Bearer``: HS256 signed with the API secret,
``iss`` the API key, valid five minutes, ``sha256`` the padded base64 SHA-256 of the body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt

from .._lifecycle import Phase

__all__ = ["CONTENT_TYPE", "event_for", "sign", "webhook_body"]

CONTENT_TYPE = "application/webhook+json"
_VALID_FOR = 300

_JOB_EVENTS = {
    Phase.QUEUED: "agent_job_pending",
    Phase.RUNNING: "agent_job_started",
    Phase.COMPLETED: "agent_job_ended",
    Phase.FAILED: "agent_job_ended",
}


def event_for(phase: Phase) -> str | None:
    """The event announcing that a job entered `phase` (None: that phase sends none)."""
    return _JOB_EVENTS.get(phase)


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, api_key: str, api_secret: str) -> str:
    """The ``Authorization`` value of a delivery: a token hashing ``body``, real time."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    now = int(time.time())
    claims = {"iss": api_key, "nbf": now, "exp": now + _VALID_FOR, "sha256": digest}
    return jwt.encode(claims, api_secret, algorithm="HS256")
