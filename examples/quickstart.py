"""A session's whole life on the built-in emulator: no account, no network.

    python examples/quickstart.py

Swap the emulator's client for ``VideoSDK()`` and your credentials to do the same for real.
"""

import asyncio

from agentcloud import SessionStatus
from agentcloud.testing import Emulator


async def main() -> None:
    async with Emulator() as emu, emu.videosdk() as client:
        session = await client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        session = await client.sessions.wait(session.id, until=SessionStatus.RUNNING, timeout=30)
        print("running:", session)
        session = await client.sessions.end(session.id)
        print("ended:", session)
        async for past in client.sessions.list(max_items=10):
            print(past.id, past.status, past.duration)


asyncio.run(main())
