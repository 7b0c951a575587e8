"""LiveKit access tokens: what its auth layer accepts, and the grants each method checks.

A request's ``Authorization: Bearer <jwt>`` is verified before Twirp sees it (HS256 with
the API secret, ``iss`` the API key, ``exp`` and ``nbf`` with a minute's leeway); a bad
one is refused with a plain-text 401 which, as LiveKit's server writes it, quotes the
token. A request with no token goes on with no grants, and the method refuses it with
Twirp's ``unauthenticated`` "permissions denied", as it refuses a grant that is missing.
Token times are real time (clients mint them with it), whatever the emulator's clock.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from aiohttp import web

from .._world import Refusal

__all__ = ["PlainRefusal", "TokenCheck", "denied", "mint"]

_LEEWAY = 60


class PlainRefusal(Refusal):
    """A refusal LiveKit's HTTP middleware writes itself: plain text, not Twirp JSON."""


def denied() -> Refusal:
    return Refusal(401, "permissions denied", code="unauthenticated")


class TokenCheck:
    """Verifies the tokens of one project (one API key and secret)."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret

    def video_grants(self, request: web.Request) -> dict[str, Any]:
        """The ``video`` grants of the request's token ({} without one)."""
        header = request.headers.get("Authorization", "")
        if not header:
            return {}
        if not header.startswith("Bearer "):
            raise PlainRefusal(401, "invalid authorization header. Must start with Bearer ")
        token = header[len("Bearer ") :]
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise PlainRefusal(401, "invalid authorization token") from None
        issuer = unverified.get("iss")
        if issuer != self.api_key:
            raise PlainRefusal(401, f"invalid API key: {issuer}")
        try:
            claims = jwt.decode(
                token,
                self.api_secret,
                algorithms=["HS256"],
                issuer=self.api_key,
                leeway=_LEEWAY,
                options={"require": ["exp"]},
            )
        except jwt.InvalidTokenError as error:
            raise PlainRefusal(401, f"invalid token: {token}, error: {error}") from None
        video = claims.get("video")
        return video if isinstance(video, dict) else {}

    def require_admin(self, grants: dict[str, Any], room: str) -> None:
        """``roomAdmin`` for exactly this room, as LiveKit's server checks it."""
        if grants.get("roomAdmin") is not True or grants.get("room", "") != room:
            raise denied()

    def require(self, grants: dict[str, Any], grant: str) -> None:
        if grants.get(grant) is not True:
            raise denied()


def mint(api_key: str, api_secret: str, video: dict[str, Any], *, ttl: float = 600.0) -> str:
    """A token with these ``video`` grants, shaped as LiveKit's server SDKs mint them."""
    now = int(time.time())
    claims = {"video": video, "sub": "", "iss": api_key, "nbf": now, "exp": now + int(ttl)}
    return jwt.encode(claims, api_secret, algorithm="HS256")
