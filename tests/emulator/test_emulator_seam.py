"""The vendor seam: a provider registered later is served from its world module alone.

This module is that provider's emulator module: it defines `World` and `EXPORTS`, and the
tests register a provider "acme" whose registry entry names it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from attrs import define

import agentcloud.providers
import agentcloud.testing
from agentcloud.providers import ProviderInfo
from agentcloud.testing import Emulator, FaultPlan, ManualClock, Phase
from agentcloud.testing._json import json_response
from agentcloud.testing._lifecycle import Timeline
from agentcloud.testing._seeding import SeededSession, SeedPlan, seed_into
from agentcloud.testing._world import Refusal, WorldContext

EXPORTS = ("AcmeSession",)


@define(kw_only=True)
class AcmeSession:
    id: str
    timeline: Timeline
    sequence: int
    provider: str = "acme"


class AcmeWorld:
    """A vendor with a token, a session endpoint and an error shape of its own."""

    name: str = "acme"
    path_prefixes: tuple[str, ...] = ("/acme/",)
    attributes: tuple[str, ...] = ("token", "session_count")
    server_error_message: str = "acme broke"

    def __init__(self, context: WorldContext, *, token: str = "acme-token") -> None:
        self.book = context.sessions
        self.base_url = context.base_url
        self.token = token
        self.sessions: dict[str, AcmeSession] = {}

    @property
    def session_count(self) -> int:
        return len(self.sessions)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/acme/sessions/{id}", self.get_session)]

    async def get_session(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.token:
            raise Refusal(401, "who are you", code="ACME-401")
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            raise Refusal(404, "no such session", hint="list them first")
        return json_response({"id": session.id, "phase": session.timeline.phase.value})

    def seed_world(self) -> None:
        pass

    def error_response(self, refusal: Refusal) -> web.Response:
        body = {"acme_error": refusal.message, "acme_code": refusal.code, **refusal.extra}
        return json_response(body, status=refusal.status, headers=refusal.headers)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        return json_response({"acme_error": "slow down"}, status=429)

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def seed_sessions(self, plan: SeedPlan) -> list[str]:
        def build(drawn: SeededSession) -> AcmeSession:
            return AcmeSession(
                id=drawn.id, timeline=drawn.timeline, sequence=self.book.next_sequence()
            )

        return seed_into(self.sessions, self.book, plan, build, provider=self.name)

    def client(self, **kwargs: Any) -> dict[str, Any]:
        return {"base_url": self.base_url(), "token": self.token, **kwargs}

    def environment(self) -> dict[str, str]:
        return {"ACME_TOKEN": self.token}


World = AcmeWorld

ACME = ProviderInfo(
    name="acme", title="Acme", module=__name__, client="AcmeWorld", emulator=__name__
)


@pytest.fixture
def acme_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry with "acme" after the built-in providers, as an entry point adds it."""
    built_in = agentcloud.providers.provider_infos()
    monkeypatch.setattr(agentcloud.providers, "provider_infos", lambda: (*built_in, ACME))


@pytest.fixture
async def emu(acme_registered: None) -> AsyncIterator[Emulator]:
    async with Emulator(clock=ManualClock(), acme_token="given") as emulator:
        yield emulator


async def get(emu: Emulator, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {} if token is None else {"Authorization": token}
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.url + path, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_its_names_options_and_client_are_served(emu: Emulator) -> None:
    assert emu.acme_token == "given"
    assert emu.acme_session_count == 0
    assert emu.acme(timeout=3) == {"base_url": emu.url, "token": "given", "timeout": 3}
    assert {"acme", "acme_token", "acme_session_count"} <= set(dir(emu))
    assert emu.environment()["ACME_TOKEN"] == "given"
    assert "acme" in emu.worlds
    with pytest.raises(TypeError, match="acme_colour"):
        Emulator(acme_colour="red")


async def test_its_sessions_seed_list_and_move_on_the_clock(emu: Emulator) -> None:
    [running, ended] = emu.seed_sessions("acme", 2, seed=3, running=1)
    assert emu.acme_session_count == 2
    assert emu.session_phase("acme", running) is Phase.RUNNING
    assert emu.session_phase("acme", ended).is_terminal
    status, body = await get(emu, f"/acme/sessions/{running}", token="given")
    assert (status, body) == (200, {"id": running, "phase": "running"})


async def test_refusals_router_errors_and_faults_take_its_error_shape(emu: Emulator) -> None:
    assert await get(emu, "/acme/sessions/x") == (
        401,
        {"acme_error": "who are you", "acme_code": "ACME-401"},
    )
    assert await get(emu, "/acme/sessions/x", token="given") == (
        404,
        {"acme_error": "no such session", "acme_code": None, "hint": "list them first"},
    )
    status, body = await get(emu, "/acme/nothing")
    assert (status, body["acme_error"]) == (404, "API endpoint not found")
    emu.faults = FaultPlan(script=["server_error", "rate_limited"])
    assert await get(emu, "/acme/nothing") == (500, {"acme_error": "acme broke", "acme_code": None})
    assert await get(emu, "/acme/nothing") == (429, {"acme_error": "slow down"})


async def test_its_secrets_are_redacted_from_the_log(emu: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.url + "/acme/sessions/x", headers={"X-Token": "given"}),
    ):
        pass
    assert emu.requests[-1].headers["X-Token"] == "[REDACTED]"


def test_its_exports_are_reexported(acme_registered: None) -> None:
    try:
        assert agentcloud.testing.AcmeSession is AcmeSession
        assert "AcmeSession" in agentcloud.testing.__all__
    finally:
        vars(agentcloud.testing).pop("AcmeSession", None)  # resolved once, then cached


async def test_only_registered_providers_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agentcloud.providers, "provider_infos", lambda: (ACME,))
    async with Emulator() as emu:
        assert list(emu.worlds) == ["acme"]
        assert not hasattr(emu, "videosdk_api_key")
        # No world claims the path: the core answers in a plain shape of its own.
        assert await get(emu, "/ai/v1/ai-deployment-sessions") == (
            404,
            {"message": "API endpoint not found"},
        )
        with pytest.raises(ValueError, match="unknown provider 'videosdk'"):
            emu.seed_sessions("videosdk", 1)


def test_a_world_naming_itself_otherwise_is_not_served(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    impostor = ProviderInfo(
        name="other", title="Other", module=__name__, client="AcmeWorld", emulator=__name__
    )
    built_in = agentcloud.providers.provider_infos()
    monkeypatch.setattr(agentcloud.providers, "provider_infos", lambda: (*built_in, impostor))
    emu = Emulator()
    assert "other" not in emu.worlds
    assert "names itself 'acme'" in caplog.text
