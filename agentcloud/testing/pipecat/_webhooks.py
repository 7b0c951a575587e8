"""Pipecat Cloud's webhooks as Svix sends them: Standard Webhooks, signed per endpoint.

A delivery is a POST of `{event_type, org, created_at, data}` (snake_case keys) with
`svix-id` (`msg_...`), `svix-timestamp` (unix seconds) and `svix-signature`
(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the base64-decoded
part of the endpoint's `whsec_` secret). The captured deliveries spell the headers
`svix-*`; the documents name `webhook-*`; `spelling` chooses (`both` sends both).
Deliveries are at least once: `duplicates` re-sends each one with the same id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from attrs import define

from .._timestamps import iso_millis

__all__ = ["SPELLINGS", "WebhookEndpoint", "new_secret"]

SPELLINGS = ("svix", "webhook", "both")


def new_secret() -> str:
    """A fresh endpoint secret, as the dashboard shows it."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@define(kw_only=True)
class WebhookEndpoint:
    """The organization's webhook endpoint: where deliveries go and how they are signed."""

    url: str
    secret: str
    spelling: str = "svix"
    duplicates: int = 0

    def _key(self) -> bytes:
        return base64.b64decode(self.secret.removeprefix("whsec_"))

    def sign(self, message_id: str, stamp: int, body: bytes) -> str:
        content = f"{message_id}.{stamp}.".encode() + body
        mac = hmac.new(self._key(), content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(mac).decode("ascii")

    def delivery(
        self, *, message_id: str, event_type: str, org: str, data: dict[str, Any], now: float
    ) -> tuple[bytes, dict[str, str], str]:
        """The body, headers and signature of one delivery."""
        envelope = {
            "event_type": event_type,
            "org": org,
            "created_at": iso_millis(now),
            "data": data,
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        stamp = int(now)
        signature = self.sign(message_id, stamp, body)
        headers = {"Content-Type": "application/json"}
        prefixes = ("svix", "webhook") if self.spelling == "both" else (self.spelling,)
        for prefix in prefixes:
            headers[f"{prefix}-id"] = message_id
            headers[f"{prefix}-timestamp"] = str(stamp)
            headers[f"{prefix}-signature"] = signature
        return body, headers, signature
