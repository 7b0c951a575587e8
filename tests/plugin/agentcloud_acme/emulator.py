"""Acme's emulator world: sessions listed by cursor (the token is an offset, base36)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agentcloud.testing._json import json_response
from agentcloud.testing._world import Refusal, WorldContext


class AcmeWorld:
    name = "acme"
    path_prefixes = ("/acme/",)
    attributes = ("token", "add_session")
    server_error_message = "acme broke"

    def __init__(self, context: WorldContext, *, token: str = "acme-secret-token") -> None:
        self.token = token
        self._base_url = context.base_url
        self.sessions: dict[str, Any] = {}
        self.cursors_seen: list[str | None] = []

    def add_session(self, session_id: str, *, state: str = "up", shard: str = "a") -> None:
        self.sessions[session_id] = {
            "id": session_id,
            "state": state,
            "shard": shard,
            "created": "2025-06-18T12:00:00Z",
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/acme/v1/sessions", self.list_sessions),
            web.get("/acme/v1/sessions/{id}", self.get_session),
        ]

    def _check(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Token {self.token}":
            raise Refusal(401, "bad token")

    async def list_sessions(self, request: web.Request) -> web.Response:
        self._check(request)
        limit = int(request.query.get("limit", "10"))
        cursor = request.query.get("cursor")
        self.cursors_seen.append(cursor)
        start = int(cursor, 36) if cursor else 0
        shard = request.query.get("shard")
        items = [s for s in self.sessions.values() if shard is None or s["shard"] == shard]
        page = items[start : start + limit]
        following = start + limit
        next_token = format_base36(following) if following < len(items) else None
        return json_response({"items": page, "next": next_token})

    async def get_session(self, request: web.Request) -> web.Response:
        self._check(request)
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            raise Refusal(404, "no such session")
        return json_response(session)

    def seed_world(self) -> None:
        pass

    def error_response(self, refusal: Refusal) -> web.Response:
        return json_response({"message": refusal.message}, status=refusal.status)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        return json_response({"message": "slow down"}, status=429)

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def seed_sessions(self, plan: Any) -> list[str]:
        return []

    def client(self, **kwargs: Any) -> Any:
        from agentcloud_acme.client import AcmeCloud

        return AcmeCloud(self.token, base_url=self._base_url(), **kwargs)

    def environment(self) -> dict[str, str]:
        return {"ACME_TOKEN": self.token}


def format_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if number == 0:
            return text


World = AcmeWorld
