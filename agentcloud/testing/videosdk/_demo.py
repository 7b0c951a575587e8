"""VideoSDK's scene of ``agentcloud demo``: start, wait, list, get, end, with webhooks;
then the agent runtime: dispatch into a room, wait, end on leaving the block, logs."""

from __future__ import annotations

from typing import IO

from agentcloud.models import SessionStatus
from agentcloud.providers.videosdk import VideoSDK, Webhook
from agentcloud.webhooks import WebhookReceiver

from .._emulator import Emulator
from .._scenes import brief, line

__all__ = ["demo"]


async def demo(emu: Emulator, out: IO[str]) -> None:
    """The lifecycle of a VideoSDK session, a webhook receiver verifying its events."""
    async with (
        emu.videosdk() as vs,
        WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks,
    ):
        line(out, f"webhook receiver listening at {hooks.url}")
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id,
            tag="v1.0",
            env={"GREETING": "hello"},
            metadata={"user": "42"},
            webhook=Webhook(str(hooks.url)),
        )
        line(out, f"started   {brief(started)}")
        running = await vs.sessions.wait(started.id, until="running", timeout=30, receiver=hooks)
        line(out, f"running   {brief(running)}")
        count = 0
        async for session in vs.sessions.list(per_page=10, concurrency=4):
            count += 1
            if session.id == started.id:
                line(out, f"listed    ours among the newest, metadata {session.metadata}")
        line(out, f"listed    {count} sessions, 10 a page, 4 pages in flight")
        fetched = await vs.sessions.get(started.id)
        line(out, f"got       {brief(fetched)} started at {fetched.started_at}")
        ended = await vs.sessions.end(started.id)
        line(out, f"ending    {brief(ended)}")
        final = await vs.sessions.wait(
            started.id, until=SessionStatus.ENDED, timeout=30, receiver=hooks
        )
        line(out, f"ended     {brief(final)} after {final.duration}s")
        await emu.settle()
        while True:
            try:
                event = await hooks.next(session_id=started.id, timeout=0.5)
            except TimeoutError:
                break
            line(out, f"webhook   {event.name} (signature verified)")
        await runtime_scene(emu, vs, out)


async def runtime_scene(emu: Emulator, vs: VideoSDK, out: IO[str]) -> None:
    """An agent dispatched into a new room, ended by leaving ``async with``; its logs."""
    deployment = emu.videosdk_runtime_deployment_id
    line(out, "agent runtime:")
    async with vs.runtime.dispatch(
        agent_id=emu.videosdk_agent_id, deployment_id=deployment, metadata={"user": "42"}
    ) as dispatched:
        line(
            out,
            f"dispatched into room {dispatched.room_id} [vendor says {dispatched.raw_status!r}]",
        )
        session = await vs.runtime.sessions.wait(
            deployment, room_id=dispatched.room_id, until="running", timeout=30
        )
        line(out, f"running   {brief(session)}")
    ended = await vs.runtime.sessions.get(deployment, session.id)
    line(out, f"ended     {brief(ended)} on leaving the block")
    async for entry in vs.runtime.logs(deployment, session_id=session.id, order="asc"):
        line(out, f"log       {entry.level}: {entry.message}")
