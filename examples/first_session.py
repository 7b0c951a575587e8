"""Your first session on VideoSDK Agent Cloud itself.

    export VIDEOSDK_API_KEY=...  VIDEOSDK_SECRET_KEY=...  VIDEOSDK_DEPLOYMENT_ID=...
    python examples/first_session.py

VIDEOSDK_BASE_URL, when set, points the client somewhere else (an `agentcloud emulator`,
a gateway of your own); unset, it talks to https://api.videosdk.live.
"""

import asyncio
import os

from agentcloud import SessionStatus, VideoSDK
from agentcloud.providers.videosdk import DEFAULT_BASE_URL


async def main() -> None:
    deployment_id = os.environ["VIDEOSDK_DEPLOYMENT_ID"]
    base_url = os.environ.get("VIDEOSDK_BASE_URL", DEFAULT_BASE_URL)
    # VideoSDK() reads VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY and mints its own JWT.
    async with VideoSDK(base_url=base_url) as client:
        # Ended on the way out of the block, however it is left (Ctrl-C included).
        async with client.sessions.start(
            deployment_id=deployment_id, tag="v1.0", metadata={"user": "tutorial"}
        ) as session:
            print("started:", session.id, session.status)
            session = await client.sessions.wait(
                session.id, until=SessionStatus.RUNNING, timeout=120
            )
            print("running since", session.started_at)
        print("ended:", (await client.sessions.get(session.id)).status)


asyncio.run(main())
