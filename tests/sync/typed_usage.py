"""Blocking code as a user writes it, for type checkers only (never run): tests/sync/
test_stubs.py runs ``mypy --strict`` on it and reads each ``reveal_type``."""

from __future__ import annotations

from typing import reveal_type

import agentcloud
from agentcloud import SessionStatus
from agentcloud.sync import LiveKitCloud, PipecatCloud, VideoSDK, WebhookReceiver, connect, wrap


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


def videosdk_runtime() -> None:
    with VideoSDK(api_key="k", secret="s") as vs:
        dispatched = vs.runtime.dispatch(agent_id="a")
        reveal_type(dispatched.value)  # Dispatch
        reveal_type(dispatched.room_id)  # str
        with vs.runtime.dispatch(agent_id="a") as dispatch:
            reveal_type(dispatch)  # Dispatch
        found = vs.runtime.sessions.find("d", room_id=dispatched.room_id)
        reveal_type(found)  # RuntimeSession
        for line in vs.runtime.logs("d", session_id=found.id):
            reveal_type(line)  # LogEntry
        reveal_type(vs.runtime.deployments.create(name="bot"))  # AgentDeployment
        reveal_type(vs.runtime.versions.list(deployment_id="d").collect())  # list[AgentVersion]
        reveal_type(vs.runtime.versions.activate("v"))  # None
        reveal_type(vs.rooms.create())  # Room


def pipecat() -> None:
    pc = connect("pipecat", api_key="k", agent="my-agent")
    reveal_type(pc)  # PipecatCloud
    reveal_type(pc.agents.get("my-agent"))  # Agent
    reveal_type(pc.sessions.start(body={"user": "42"}).connection)  # Connection | None
    reveal_type(pc.agent)  # str | None
    reveal_type(pc.agents.create("voice", image="img:1"))  # Agent
    reveal_type(pc.agents.wait_ready("voice"))  # Agent
    reveal_type(pc.sessions.send("s", "context", json={"n": 1}))  # BotReply
    reveal_type(pc.regions.list())  # list[Region]
    for page in pc.logs.list(session_id="s").pages():
        reveal_type(page)  # Page[LogEntry]
    pc.close()
    with PipecatCloud(api_key="k") as other:
        reveal_type(other.sessions.end("s"))  # PipecatSession
    reveal_type(wrap(agentcloud.VideoSDK(api_key="k", secret="s")))  # VideoSDK


def livekit() -> None:
    with LiveKitCloud(api_key="k", api_secret="s") as lk:
        started = lk.sessions.start(agent_name="support", room="call-42")
        reveal_type(started.value)  # LiveKitSession
        reveal_type(started.jobs)  # tuple[LiveKitJob, ...]
        with lk.sessions.start(agent_name="support", room="call-42") as managed:
            reveal_type(managed)  # LiveKitSession
        for session in lk.sessions.list():
            reveal_type(session)  # LiveKitSession
        reveal_type(lk.sessions.wait(started.id, room="call-42"))  # LiveKitSession
        reveal_type(lk.rooms.create("call-42"))  # LiveKitRoom
        reveal_type(lk.rooms.delete("call-42"))  # None
