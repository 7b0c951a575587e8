"""An ambiguous VideoSDK start is reconciled by time, never by a fixed window.

A loopback vendor carries out the start, then answers 500 (the ambiguous kind). Before the
SDK looks, a busy account has started hundreds of other sessions, so the one it made is
far down the newest-first listing. The SDK must walk back until sessions older than its
attempt and find it (one start sent, that session returned); and where the listing cannot
prove absence (no creation times, or not newest first) it must say the outcome is unknown
rather than start a second session.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from agentcloud import RetryPolicy, StartOutcomeUnknownError, VideoSDK

from .support import FakeTime, ScriptedServer

MARKER = "agentcloud_request_id"


class BusyVendor:
    """Starts a session for every start request, answers 500 anyway, and lists ``newer``
    sessions made after it (by others) above it, and ``older`` ones below."""

    def __init__(self, *, newer: int, older: int = 150, order: str = "newest first") -> None:
        self.newer = newer
        self.older = older
        self.order = order
        self.times = True
        self.starts: list[dict[str, Any]] = []
        self.listing: list[dict[str, Any]] = []

    def _row(self, at: datetime, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {"sessionId": str(uuid.uuid4()), "status": "running"}
        if self.times:
            row["createdAt"] = at.isoformat().replace("+00:00", "Z")
        if metadata is not None:
            row["metadata"] = metadata
        return row

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST" and request.path.endswith("/start"):
            body = await request.json()
            self.starts.append(body)
            now = datetime.now(UTC)
            ours = self._row(now, body.get("metaData"))
            rows = [self._row(now + timedelta(milliseconds=n + 1)) for n in range(self.newer)]
            rows.reverse()
            rows.append(ours)
            rows += [self._row(now - timedelta(hours=1, minutes=n)) for n in range(self.older)]
            if self.order != "newest first":
                rows.reverse()
            self.listing = rows
            return web.json_response({"message": "Internal server error"}, status=500)
        page = int(request.query.get("page", "1"))
        size = int(request.query.get("perPage", "100"))
        items = self.listing[(page - 1) * size : page * size]
        return web.json_response(
            {"data": items, "pageInfo": {"currentPage": page, "totalItems": len(self.listing)}}
        )


def client(url: str) -> VideoSDK:
    timer = FakeTime()
    return VideoSDK(
        "vsk_recon_api_key_0123456789",
        "vsk_recon_secret_0123456789abcdef",
        base_url=url,
        retry=RetryPolicy(max_attempts=4, sleep=timer.sleep, clock=timer.clock),
    )


@pytest.mark.parametrize("newer", [0, 199, 250, 1_000])
async def test_the_start_is_found_however_many_came_after_it(newer: int) -> None:
    vendor = BusyVendor(newer=newer)
    async with ScriptedServer(vendor) as server, client(server.url) as vs:
        session = await vs.sessions.start(deployment_id="d", tag="v1.0")
    assert len(vendor.starts) == 1, f"the start was sent {len(vendor.starts)} times"
    marker = vendor.starts[0]["metaData"][MARKER]
    ours = next(row for row in vendor.listing if (row.get("metadata") or {}).get(MARKER))
    assert session.id == ours["sessionId"]
    assert (session.metadata or {}).get(MARKER) == marker


async def test_a_listing_without_times_is_walked_to_its_end() -> None:
    vendor = BusyVendor(newer=250, older=300)
    vendor.times = False
    async with ScriptedServer(vendor) as server, client(server.url) as vs:
        session = await vs.sessions.start(deployment_id="d", tag="v1.0")
    assert len(vendor.starts) == 1, f"the start was sent {len(vendor.starts)} times"
    assert (session.metadata or {}).get(MARKER) == vendor.starts[0]["metaData"][MARKER]


async def test_a_listing_not_newest_first_proves_nothing() -> None:
    """Oldest first, the first page is all from before the attempt: that must not read as
    "not created" (the session is on a later page)."""
    vendor = BusyVendor(newer=250, older=300, order="oldest first")
    async with ScriptedServer(vendor) as server, client(server.url) as vs:
        with pytest.raises(StartOutcomeUnknownError) as caught:
            await vs.sessions.start(deployment_id="d", tag="v1.0")
    assert len(vendor.starts) == 1, f"the start was sent {len(vendor.starts)} times"
    assert caught.value.marker == vendor.starts[0]["metaData"][MARKER]
