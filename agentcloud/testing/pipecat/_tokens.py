"""The tokens a Pipecat start hands out: Daily meeting tokens and websocket tokens.

Nothing ever verifies them; they only have to look like the real ones to a client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

__all__ = ["hs256_jwt", "websocket_token"]

_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_jwt(claims: dict[str, Any], secret: str) -> str:
    """A standard HS256 JWT, as Daily's meeting tokens are.

    Built by hand rather than with PyJWT, which validates the key on every call: that
    costs more than the rest of a start, for tokens nobody verifies.
    """
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_JWT_HEADER}.{payload}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def websocket_token(claims: dict[str, Any], secret: str) -> str:
    """An opaque signed token for a websocket transport: base64 claims, then their MAC."""
    encoded = _b64url(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256)
    return f"{encoded}.{_b64url(mac.digest())}"
