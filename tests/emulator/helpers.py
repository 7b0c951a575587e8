"""Raw-HTTP callers for the emulator's tests, and the vendors' published shapes.

`PipecatCaller` validates every answer against Pipecat's OpenAPI document (when the
status is documented for the path; otherwise it checks the vendor's error shape), so no
test can receive an undocumented shape without failing.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from agentcloud.testing import Emulator

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
REFERENCE = REPO.parent / "shared" / "reference"
PIPECAT_HOST = "https://api.pipecat.daily.co"


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"none of {candidates}")


@cache
def pipecat_openapi() -> OpenAPI:
    name = "pipecat-cloud-openapi.json"
    return OpenAPI.from_file_path(str(_first_existing(FIXTURES / name, REFERENCE / name)))


@cache
def _spec_document() -> dict[str, Any]:
    name = "pipecat-cloud-openapi.json"
    document: dict[str, Any] = json.loads(
        _first_existing(FIXTURES / name, REFERENCE / name).read_text()
    )
    return document


def documented_statuses(method: str, path: str) -> set[str] | None:
    """Statuses the OpenAPI documents for a concrete /v1 path, or None if not documented."""
    relative = path.removeprefix("/v1")
    if relative.startswith("/public/"):
        relative = relative.removeprefix("/public")
    wanted = relative.strip("/").split("/")
    for template, operations in _spec_document()["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(wanted):
            continue
        fits = all(
            part == segment or part.startswith("{")
            for part, segment in zip(parts, wanted, strict=True)
        )
        if fits and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    return None


#: The one way the emulator's answers knowingly differ from the OpenAPI document: a listed
#: session always carries ``endedAt``, null while active, as the real API answers (the
#: official CLI indexes ``s["endedAt"]`` on every item); the listing's schema types it as a
#: non-nullable string. Validation checks the key is there, then validates the item with
#: that one null left out, so every other field is still held to the document.
LISTING_ENDED_AT_DEVIATION = "a listed session's endedAt is null while it is active"

_ORG_SERVICES = re.compile(r"^/v1/organizations/[^/]+/services(?=/|$)")
_ORG_REGIONS = re.compile(r"^/v1/organizations/[^/]+/regions$")
_LISTING = re.compile(r"^/v1/agents/[^/]+/sessions$")
_BOT_PATH = re.compile(r"^(/v1/public/[^/]+/sessions/[^/]+/).+$")
_AGENT = re.compile(r"^/v1/agents/[^/]+$")


def documented_form(method: str, path: str, status: int, body: Any) -> tuple[str, Any]:
    """The documented path an answer is checked against, and the body to check.

    The official CLI's organization-scoped paths answer what the documented ones do (agent
    details wrapped in ``{"body": ...}``); the listing's ``endedAt: null`` is the one
    documented deviation (:data:`LISTING_ENDED_AT_DEVIATION`).
    """
    documented = _ORG_REGIONS.sub("/v1/regions", _ORG_SERVICES.sub("/v1/agents", path))
    # The session API's {path} may span segments; the document's template has one.
    documented = _BOT_PATH.sub(r"\1path", documented)
    if documented != path and method == "GET" and _AGENT.match(documented) and status == 200:
        assert set(body) == {"body"}, body
        body = body["body"]
    if method == "GET" and _LISTING.match(documented) and status == 200:
        items = []
        for item in body["sessions"]:
            assert "endedAt" in item, f"{LISTING_ENDED_AT_DEVIATION}, and never absent: {item}"
            if item["endedAt"] is None:
                item = {key: value for key, value in item.items() if key != "endedAt"}
            items.append(item)
        body = {**body, "sessions": items}
    return documented, body


def assert_valid_pipecat_answer(method: str, path: str, status: int, raw: bytes) -> None:
    documented, checked = documented_form(method, path, status, json.loads(raw))
    statuses = documented_statuses(method, documented)
    if statuses is not None and str(status) in statuses:
        request = MockRequest(PIPECAT_HOST, method.lower(), documented)
        response = MockResponse(json.dumps(checked).encode(), status_code=status)
        pipecat_openapi().validate_response(request, response)
        return
    body = json.loads(raw)
    if status == 429 and "message" in body:
        assert body == {
            "status": 429,
            "code": "429",
            "message": "Rate limit exceeded. Please try again later",
        }
        return
    # Undocumented status: still the vendor's ErrorResponse shape.
    assert isinstance(body.get("error"), str), body
    assert isinstance(body.get("code"), str), body


def videosdk_example(name: str) -> Any:
    return json.loads((FIXTURES / f"videosdk-{name}.json").read_text())


class PipecatCaller:
    """Calls the emulator's Pipecat API with the right key and checks every answer."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.http = http

    def key(self, which: str) -> str | None:
        return {
            "private": self.emu.pipecat_api_key,
            "public": self.emu.pipecat_public_key,
            "none": None,
        }[which]

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str = "private",
        authorization: str | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
    ) -> tuple[int, Any]:
        """The status and JSON answer; `raw_body` is sent as is, labelled JSON."""
        headers = {}
        token = self.key(key)
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if json_body is not None:
            raw_body = json.dumps(json_body).encode()
        if raw_body is not None:
            # A file-like body: aiohttp warns about large raw bytes bodies.
            payload = io.BytesIO(raw_body)
            headers["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.emu.url + path, headers=headers, params=params, data=payload
        ) as response:
            raw = await response.read()
            assert response.headers.get("x-request-id")
            assert_valid_pipecat_answer(method, path, response.status, raw)
            return response.status, json.loads(raw)

    async def start(self, agent: str = "my-agent", **options: Any) -> str:
        status, body = await self.call(
            "POST", f"/v1/public/{agent}/start", key="public", json_body=options
        )
        assert status == 200, body
        session_id: str = body["sessionId"]
        return session_id


class VideoSDKCaller:
    """Calls the emulator's VideoSDK API with a valid server token by default."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.http = http

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        no_auth: bool = False,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
    ) -> tuple[int, Any]:
        """The status and JSON answer; `raw_body` is sent as is, labelled JSON."""
        headers = {} if no_auth else {"Authorization": token or self.emu.videosdk_token()}
        data = None
        if raw_body is not None:
            data = io.BytesIO(raw_body)
            headers["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.emu.url + path, headers=headers, params=params, json=json_body, data=data
        ) as response:
            assert response.headers.get("x-request-id")
            assert response.content_type == "application/json"
            return response.status, await response.json()

    async def start(self, **fields: Any) -> dict[str, Any]:
        body = {"deploymentId": self.emu.videosdk_deployment_id, "tag": "v1.0", **fields}
        status, answer = await self.call(
            "POST", "/ai/v1/ai-deployment-sessions/start", json_body=body
        )
        assert status == 200, answer
        data: dict[str, Any] = answer["data"]
        return data

    async def get(self, session_id: str) -> dict[str, Any]:
        status, answer = await self.call("GET", f"/ai/v1/ai-deployment-sessions/{session_id}")
        assert status == 200, answer
        result: dict[str, Any] = answer
        return result


@asynccontextmanager
async def videosdk_caller(emu: Emulator) -> AsyncIterator[VideoSDKCaller]:
    """A VideoSDKCaller with its own HTTP session, for tests that make their own emulator."""
    async with aiohttp.ClientSession() as http:
        yield VideoSDKCaller(emu, http)


@asynccontextmanager
async def pipecat_caller(emu: Emulator) -> AsyncIterator[PipecatCaller]:
    """A PipecatCaller with its own HTTP session, for tests that make their own emulator."""
    async with aiohttp.ClientSession() as http:
        yield PipecatCaller(emu, http)
