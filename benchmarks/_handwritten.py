"""The hand-written side: what a careful user writes on aiohttp without the SDK.

One pooled ``aiohttp.ClientSession``, a JWT minted once, ``json.loads`` of each body into
plain dicts, a status check; nothing else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt

from ._server import ServerInfo

__all__ = [
    "PER_PAGE",
    "SESSIONS",
    "raw_get_json",
    "raw_headers",
    "raw_pages",
    "raw_window",
    "session_ids",
]

SESSIONS = "/ai/v1/ai-deployment-sessions"
PER_PAGE = 100


def raw_headers(info: ServerInfo) -> dict[str, str]:
    """The headers a hand-written client sends: a server JWT minted once, no prefix."""
    now = int(time.time())
    claims = {
        "apikey": info.videosdk_api_key,
        "permissions": ["allow_join", "allow_mod"],
        "version": 2,
        "roles": ["crawler"],
        "iat": now,
        "exp": now + 3600,
    }
    token = jwt.encode(claims, info.videosdk_secret, algorithm="HS256")
    return {"Authorization": token, "Accept": "application/json"}


async def raw_get_json(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> Any:
    async with http.get(url, headers=headers, params=params) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {url}: {response.status}")
    return json.loads(body)


async def raw_pages(
    http: aiohttp.ClientSession, info: ServerInfo, headers: dict[str, str], per_page: int
) -> AsyncIterator[dict[str, Any]]:
    """The hand-written listing: page after page until ``totalItems``, items as dicts."""
    url = info.url + SESSIONS
    page = 1
    while True:
        data = await raw_get_json(http, url, headers, {"page": str(page), "perPage": str(per_page)})
        items = data["data"]
        for item in items:
            yield item
        if not items or page * per_page >= data["pageInfo"]["totalItems"]:
            return
        page += 1


async def raw_window(
    http: aiohttp.ClientSession, info: ServerInfo, headers: dict[str, str], window: int
) -> AsyncIterator[list[Any]]:
    """A hand-written concurrent walk: the first page, then ``window`` pages in flight,
    each page's items (as a list of dicts) yielded in order."""
    url = info.url + SESSIONS

    def get(page: int) -> asyncio.Future[Any]:
        params = {"page": str(page), "perPage": str(PER_PAGE)}
        return asyncio.ensure_future(raw_get_json(http, url, headers, params))

    first = await get(1)
    last = -(-first["pageInfo"]["totalItems"] // PER_PAGE)
    in_flight: deque[asyncio.Future[Any]] = deque()
    following = 2
    while len(in_flight) < window and following <= last:
        in_flight.append(get(following))
        following += 1
    yield first["data"]
    while in_flight:
        data = await in_flight.popleft()
        if following <= last:
            in_flight.append(get(following))
            following += 1
        yield data["data"]


async def session_ids(info: ServerInfo, count: int) -> list[str]:
    """The newest ``count`` session ids (untimed set-up)."""
    ids: list[str] = []
    async with aiohttp.ClientSession() as http:
        async for item in raw_pages(http, info, raw_headers(info), PER_PAGE):
            ids.append(item["sessionId"])
            if len(ids) == count:
                break
    return ids
