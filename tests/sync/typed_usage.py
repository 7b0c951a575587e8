"""Blocking code as a user writes it, for type checkers only (never run): tests/sync/
test_stubs.py runs ``mypy --strict`` on it and reads each ``reveal_type``."""

from __future__ import annotations

from typing import reveal_type

import agentcloud
from agentcloud import SessionStatus
from agentcloud.sync import PipecatCloud, VideoSDK, WebhookReceiver, connect, wrap


def videosdk() -> None:
    with VideoSDK(api_key="k", secret="s") as vs:
        started = vs.sessions.start(deployment_id="d", tag="v1.0")
        reveal_type(started.id)  # str
        reveal_type(started.value)  # VideoSDKSession
        reveal_type(vs.sessions.get(started.id))  # VideoSDKSession
        for session in vs.sessions.list(max_items=3, concurrency=2):
            reveal_type(session)  # VideoSDKSession
        for page in vs.sessions.list().pages():
            reveal_type(page)  # Page[VideoSDKSession]
        reveal_type(vs.deployments.list().collect())  # list[Deployment]
        with vs.sessions.start(deployment_id="d", tag="v1.0") as managed:
            reveal_type(managed)  # VideoSDKSession
        with WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks:
            waited = vs.sessions.wait(started.id, until=SessionStatus.RUNNING, receiver=hooks)
            reveal_type(waited)  # VideoSDKSession
            reveal_type(hooks.next(timeout=1))  # SessionEvent
        reveal_type(vs.webhook_public_key())  # str


def pipecat() -> None:
    pc = connect("pipecat", api_key="k", agent="my-agent")
    reveal_type(pc)  # PipecatCloud
    reveal_type(pc.agents.get("my-agent"))  # Agent
    reveal_type(pc.sessions.start(body={"user": "42"}).connection)  # Connection | None
    reveal_type(pc.agent)  # str | None
    pc.close()
    with PipecatCloud(api_key="k") as other:
        reveal_type(other.sessions.end("s"))  # PipecatSession
    reveal_type(wrap(agentcloud.VideoSDK(api_key="k", secret="s")))  # VideoSDK
