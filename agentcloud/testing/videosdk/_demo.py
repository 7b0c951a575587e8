"""VideoSDK's scene of ``agentcloud demo``: start, wait, list, get, end, with webhooks."""

from __future__ import annotations

from typing import IO

from agentcloud.models import SessionStatus
from agentcloud.providers.videosdk import Webhook
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
