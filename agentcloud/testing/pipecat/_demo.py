"""Pipecat's scene of ``agentcloud demo``: start, wait, list, get metrics, end."""

from __future__ import annotations

from typing import IO

from .._emulator import Emulator
from .._scenes import brief, line

__all__ = ["demo"]


async def demo(emu: Emulator, out: IO[str]) -> None:
    """The lifecycle of a Pipecat session, ended by leaving `async with`."""
    async with emu.pipecat() as pc:
        agent = await pc.agents.get("my-agent")
        line(
            out,
            f"agent     {agent.name}: ready={agent.ready}, "
            f"{agent.active_session_count} active sessions",
        )
        async with pc.sessions.start(create_daily_room=True, body={"user": "42"}) as started:
            room = started.connection.daily_room if started.connection else None
            line(out, f"started   {brief(started)} daily room {room}")
            running = await pc.sessions.wait(started.id, until="running", timeout=30)
            line(out, f"running   {brief(running)}")
            active = await pc.sessions.list(status="active").collect()
            line(out, f"listed    {len(active)} active session(s)")
            total = 0
            async for _ in pc.sessions.list(per_page=10, concurrency=4):
                total += 1
            line(out, f"listed    {total} sessions in all, walking limit/offset")
            details = await pc.sessions.get(started.id)
            metrics = details.resource_metrics
            if metrics is not None:
                line(
                    out,
                    f"got       cpu p50/p99 {metrics.cpu_millicores_p50}/"
                    f"{metrics.cpu_millicores_p99} millicores, memory p99 "
                    f"{metrics.memory_bytes_p99} bytes, "
                    f"{len(metrics.timeseries)} samples",
                )
            else:
                line(out, f"got       {brief(details)} (no resource metrics yet)")
        line(out, "ended     by leaving `async with`")
        final = await pc.sessions.wait(started.id, until="ended", timeout=30)
        line(out, f"ended     {brief(final)}")
