"""Blocking agentcloud in a plain script: no asyncio, as in a cron job, a notebook, a Celery
task or a Django view.

    export VIDEOSDK_API_KEY=...  VIDEOSDK_SECRET_KEY=...  VIDEOSDK_DEPLOYMENT_ID=...
    python examples/sync_script.py [MAX_MINUTES]

A janitor run from cron: it ends every session of the deployment still running after
MAX_MINUTES (default 60), a few at a time from threads sharing one client, then starts a
smoke-test session, waits until it runs and ends it. Ctrl-C at any point cancels the call
in flight, ends the smoke-test session and exits 130. VIDEOSDK_BASE_URL, when set, points
the client somewhere else (an `agentcloud emulator`, for one).
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from agentcloud import SessionStatus, VideoSDKSession
from agentcloud.providers.videosdk import DEFAULT_BASE_URL
from agentcloud.sync import VideoSDK


def main() -> None:
    deployment_id = os.environ["VIDEOSDK_DEPLOYMENT_ID"]
    max_minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    too_old = datetime.now(UTC) - timedelta(minutes=max_minutes)
    # One client for the whole script: its own event loop runs on a daemon thread.
    with VideoSDK(base_url=os.environ.get("VIDEOSDK_BASE_URL", DEFAULT_BASE_URL)) as vs:
        # A listing is a plain iterator; pages are fetched as the loop goes.
        stale = [
            session
            for session in vs.sessions.list(max_items=1000)
            if session.deployment_id == deployment_id
            and not session.status.is_terminal
            and session.created_at is not None
            and session.created_at < too_old
        ]

        def end(session: VideoSDKSession) -> VideoSDKSession:
            return vs.sessions.end(session.id)

        # Any number of threads may share the client: their calls run at once.
        with ThreadPoolExecutor(max_workers=4) as pool:
            for ended in pool.map(end, stale):
                print("ended", ended.id, ended.status)
        print(f"{len(stale)} sessions ran longer than {max_minutes:g} minutes")

        # Ended on the way out of the block, however it is left (Ctrl-C included).
        with vs.sessions.start(deployment_id=deployment_id, tag="v1.0") as session:
            session = vs.sessions.wait(session.id, until=SessionStatus.RUNNING, timeout=120)
            print("smoke test running:", session.id)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)  # the call in flight is cancelled and the smoke test's session ended
