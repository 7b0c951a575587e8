"""Code of your own that starts agent sessions: what test_greeter.py tests."""

from agentcloud import SessionStatus, VideoSDK, VideoSDKSession


async def start_greeter(client: VideoSDK, deployment_id: str, user: str) -> VideoSDKSession:
    """Starts the greeter agent for ``user`` and returns its session once it runs."""
    session = await client.sessions.start(
        deployment_id=deployment_id, tag="v1.0", metadata={"user": user}
    )
    return await client.sessions.wait(session.id, until=SessionStatus.RUNNING, timeout=60)
