"""Acme's client: sessions behind a token, listed with an opaque cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Unpack

import attrs

from agentcloud._checks import credential, path_segment
from agentcloud._client import BaseClient, ClientOptions
from agentcloud._commands import Option, ProviderCLI
from agentcloud._convert import WireStructurer, make_converter
from agentcloud._resource import Listing, SessionsResource
from agentcloud.errors import InvalidRequestError
from agentcloud.models import Session, SessionStatus
from agentcloud.pagination import Cursor, Pager

_STATES = {"up": SessionStatus.RUNNING, "done": SessionStatus.ENDED}


@attrs.frozen(kw_only=True)
class AcmeSession(Session):
    provider: str = "acme"
    shard: str | None = None


_sessions = WireStructurer(
    AcmeSession,
    converter=make_converter(),
    renames={"created_at": "created"},
    derived=("status", "raw_status", "provider"),
    derive=lambda wire: {
        "status": _STATES.get(wire.get("state"), SessionStatus.UNKNOWN),
        "raw_status": wire.get("state"),
    },
)
_LISTING = Listing(
    operation="sessions.list",
    path="/acme/v1/sessions",
    style=Cursor(items="items", next=("next",), cursor_param="cursor", size_param="limit"),
    structure=_sessions,
)


class AcmeSessions(SessionsResource[AcmeSession]):
    async def get(self, session_id: str, *, timeout: float | None = None) -> AcmeSession:
        path = f"/acme/v1/sessions/{path_segment('session_id', session_id)}"
        return await self._get("sessions.get", path, _sessions, timeout=timeout)

    def list(
        self, *, per_page: int = 10, max_items: int | None = None, shard: str | None = None
    ) -> Pager[AcmeSession]:
        query = {"shard": shard} if shard else None
        return self._list(_LISTING, query=query, per_page=per_page, max_items=max_items)


class AcmeCloud(BaseClient):
    """Acme Agents: ``sessions``."""

    provider = "acme"
    default_base_url = "https://api.acme.example"

    def __init__(self, token: str | None = None, **options: Unpack[ClientOptions]) -> None:
        key = credential("token", token, "ACME_TOKEN")
        if key is None:
            raise InvalidRequestError("token", "missing: pass token= or set ACME_TOKEN")
        super().__init__(secrets=[key], **options)
        self._header = f"Token {key}"
        self.sessions = AcmeSessions(self)

    def _authorization(self, scope: Any) -> Callable[[], str]:
        header = self._header
        return lambda: header

    async def _end_session(self, session: Any) -> object:
        raise NotImplementedError


CLI = ProviderCLI(
    listing=(Option(flag="--shard", help="only this shard's sessions"),),
    credentials=("ACME_TOKEN",),
    base_url_env="ACME_BASE_URL",
)
