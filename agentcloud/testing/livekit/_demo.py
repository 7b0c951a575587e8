"""LiveKit's scene of ``agentcloud demo``: dispatch, wait, list across rooms, end."""

from __future__ import annotations

from typing import IO

from agentcloud.webhooks import WebhookReceiver

from .._emulator import Emulator
from .._scenes import brief, line

__all__ = ["demo"]


async def demo(emu: Emulator, out: IO[str]) -> None:
    """An agent dispatched into a room, its job events verified as they arrive."""
    async with (
        emu.livekit() as lk,
        WebhookReceiver.serve(
            api_key=emu.livekit_api_key, api_secret=emu.livekit_api_secret
        ) as hooks,
    ):
        emu.livekit_webhooks(str(hooks.url))
        started = await lk.sessions.start(
            agent_name=emu.livekit_agent_name, room="demo-room", metadata={"user": "42"}
        )
        line(out, f"started   {brief(started)} in room {started.room}")
        running = await lk.sessions.wait(
            started.id, room="demo-room", until="running", timeout=30, receiver=hooks
        )
        job = running.jobs[-1]
        line(out, f"running   {brief(running)} job {job.id} on worker {job.worker_id}")
        rooms = await lk.rooms.list().collect()
        line(out, f"rooms     {', '.join(room.name for room in rooms)}")
        count = 0
        async for _ in lk.sessions.list(concurrency=4):
            count += 1
        line(out, f"listed    {count} dispatches across {len(rooms)} rooms")
        ended = await lk.sessions.end(started.id, room="demo-room")
        line(out, f"ended     {brief(ended)}")
        await emu.settle()
        for name in ("agent_job_pending", "agent_job_started", "agent_job_ended"):
            event = await hooks.next(session_id=started.id, type=name, timeout=5)
            line(out, f"webhook   {event.name}: {event.type.value} (signature verified)")
