"""A bot that starts a Pipecat Cloud session, hands out its room and waits for it to end.

    export PIPECAT_CLOUD_API_KEY=sk_...  PIPECAT_CLOUD_PUBLIC_KEY=pk_...
    python examples/pipecat_bot.py [AGENT]

The session is ended when the bot stops waiting (after MAX_MINUTES, default 30, or on
Ctrl-C), so a forgotten session never bills for hours. PIPECAT_CLOUD_BASE_URL, when set,
points the client somewhere else (an `agentcloud emulator`, for one).
"""

import asyncio
import os
import sys

from agentcloud import PipecatCloud, RequestTimeoutError, SessionStatus
from agentcloud.providers.pipecat import DEFAULT_BASE_URL


async def main() -> None:
    agent = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PIPECAT_CLOUD_AGENT", "my-agent")
    max_minutes = float(os.environ.get("MAX_MINUTES", "30"))
    base_url = os.environ.get("PIPECAT_CLOUD_BASE_URL", DEFAULT_BASE_URL)
    async with PipecatCloud(agent=agent, base_url=base_url) as client:
        start = client.sessions.start(create_daily_room=True, body={"greeting": "Hello!"})
        async with start as session:
            assert session.connection is not None  # a start's answer says how to join
            print("join the call at", session.connection.daily_room)
            session = await client.sessions.wait(
                session.id, until=SessionStatus.RUNNING, timeout=120
            )
            print("the bot is up")
            try:
                session = await client.sessions.wait(
                    session.id,
                    until=SessionStatus.ENDED,
                    timeout=max_minutes * 60,
                    max_poll_interval=15,
                )
                print(f"the session ended by itself after {session.duration:.0f}s")
            except RequestTimeoutError:
                print(f"still running after {max_minutes:g} minutes: ending it")


asyncio.run(main())
