"""Minutes of agent sessions per deployment per day, as CSV, streamed from the listing.

    python examples/usage_report.py videosdk|pipecat [--since YYYY-MM-DD]

The deployment column is VideoSDK's deployment id, or the Pipecat agent's name.
Sessions are read page by page as they arrive (four pages in flight) and only the totals
are kept, so a listing of a million sessions needs no more memory than one of ten.
Credentials come from the providers' usual variables; VIDEOSDK_BASE_URL or
PIPECAT_CLOUD_BASE_URL, when set, point the client somewhere else.
"""

import argparse
import asyncio
import csv
import os
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta

from agentcloud import PipecatCloud, Session, VideoSDK
from agentcloud.providers import pipecat, videosdk


async def videosdk_sessions(since: datetime) -> AsyncIterator[tuple[str, Session]]:
    """(deployment, session) for every VideoSDK session that ended and was started since
    ``since``, newest first."""
    base_url = os.environ.get("VIDEOSDK_BASE_URL", videosdk.DEFAULT_BASE_URL)
    # aclosing: leaving the walk early cancels the pages still in flight at once.
    async with (
        VideoSDK(base_url=base_url) as vs,
        aclosing(aiter(vs.sessions.list(concurrency=4))) as listing,
    ):
        async for session in listing:
            if session.started_at is not None and session.started_at < since:
                return  # newest first: every session after this one is older still
            if session.status.is_terminal:
                yield session.deployment_id or "-", session


async def pipecat_sessions(since: datetime) -> AsyncIterator[tuple[str, Session]]:
    """(agent, session) for every session of every Pipecat agent that ended and was
    started since ``since``."""
    base_url = os.environ.get("PIPECAT_CLOUD_BASE_URL", pipecat.DEFAULT_BASE_URL)
    async with PipecatCloud(base_url=base_url) as pc:
        async for agent in pc.agents.list():
            # Pipecat filters on its side: only ended sessions started since then come back.
            sessions = pc.sessions.list(
                agent=agent.name, status="ended", started_after=since, concurrency=4
            )
            async for session in sessions:
                yield agent.name, session


async def usage(provider: str, since: datetime) -> dict[tuple[date, str], tuple[int, float]]:
    """(day, deployment) -> (sessions, minutes)."""
    sessions: Counter[tuple[date, str]] = Counter()
    minutes: defaultdict[tuple[date, str], float] = defaultdict(float)
    ended = pipecat_sessions(since) if provider == "pipecat" else videosdk_sessions(since)
    async for deployment, session in ended:
        if session.started_at is None or session.duration is None:
            continue  # never got going: nothing was billed
        key = (session.started_at.date(), deployment)
        sessions[key] += 1
        minutes[key] += session.duration / 60
    return {key: (sessions[key], minutes[key]) for key in sorted(sessions)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Minutes per deployment per day, as CSV.")
    parser.add_argument("provider", choices=("videosdk", "pipecat"))
    parser.add_argument("--since", type=date.fromisoformat, help="first day (default: 30 days ago)")
    arguments = parser.parse_args()
    first_day = arguments.since or (datetime.now(UTC) - timedelta(days=30)).date()
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    report = asyncio.run(usage(arguments.provider, since))
    out = csv.writer(sys.stdout)
    out.writerow(["day", "deployment", "sessions", "minutes"])
    for (day, deployment), (count, total) in report.items():
        out.writerow([day.isoformat(), deployment, count, f"{total:.1f}"])


if __name__ == "__main__":
    main()
