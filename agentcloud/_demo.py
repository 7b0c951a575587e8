"""``agentcloud demo`` and ``agentcloud emulator``: the SDK shown working, offline."""

from __future__ import annotations

import asyncio
from typing import IO

from .models import Session, SessionStatus, Webhook
from .testing import Emulator, serve
from .webhooks import WebhookReceiver

__all__ = ["run_demo", "run_emulator"]


def _line(out: IO[str], text: str) -> None:
    out.write(text + "\n")
    out.flush()


def _brief(session: Session) -> str:
    return f"{session.id} [{session.status.value}, vendor says {session.raw_status!r}]"


async def _videosdk(emu: Emulator, out: IO[str]) -> None:
    _line(out, "\n== VideoSDK Agent Cloud")
    async with (
        emu.videosdk() as vs,
        WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks,
    ):
        _line(out, f"webhook receiver listening at {hooks.url}")
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id,
            tag="v1.0",
            env={"GREETING": "hello"},
            metadata={"user": "42"},
            webhook=Webhook(str(hooks.url)),
        )
        _line(out, f"started   {_brief(started)}")
        running = await vs.sessions.wait(started.id, until="running", timeout=30, receiver=hooks)
        _line(out, f"running   {_brief(running)}")
        count = 0
        async for session in vs.sessions.list(per_page=10, concurrency=4):
            count += 1
            if session.id == started.id:
                _line(out, f"listed    ours among the newest, metadata {session.metadata}")
        _line(out, f"listed    {count} sessions, 10 a page, 4 pages in flight")
        fetched = await vs.sessions.get(started.id)
        _line(out, f"got       {_brief(fetched)} started at {fetched.started_at}")
        ended = await vs.sessions.end(started.id)
        _line(out, f"ending    {_brief(ended)}")
        final = await vs.sessions.wait(
            started.id, until=SessionStatus.ENDED, timeout=30, receiver=hooks
        )
        _line(out, f"ended     {_brief(final)} after {final.duration}s")
        await emu.settle()
        while True:
            try:
                event = await hooks.next(session_id=started.id, timeout=0.5)
            except TimeoutError:
                break
            _line(out, f"webhook   {event.name} (signature verified)")


async def _pipecat(emu: Emulator, out: IO[str]) -> None:
    _line(out, "\n== Pipecat Cloud")
    async with emu.pipecat() as pc:
        agent = await pc.agents.get("my-agent")
        _line(
            out,
            f"agent     {agent.name}: ready={agent.ready}, "
            f"{agent.active_session_count} active sessions",
        )
        async with pc.sessions.start(create_daily_room=True, body={"user": "42"}) as started:
            room = started.connection.daily_room if started.connection else None
            _line(out, f"started   {_brief(started)} daily room {room}")
            running = await pc.sessions.wait(started.id, until="running", timeout=30)
            _line(out, f"running   {_brief(running)}")
            active = await pc.sessions.list(status="active").collect()
            _line(out, f"listed    {len(active)} active session(s)")
            total = 0
            async for _ in pc.sessions.list(per_page=10, concurrency=4):
                total += 1
            _line(out, f"listed    {total} sessions in all, walking limit/offset")
            details = await pc.sessions.get(started.id)
            metrics = details.resource_metrics
            if metrics is not None:
                _line(
                    out,
                    f"got       cpu p50/p99 {metrics.cpu_millicores_p50}/"
                    f"{metrics.cpu_millicores_p99} millicores, memory p99 "
                    f"{metrics.memory_bytes_p99} bytes, "
                    f"{len(metrics.timeseries)} samples",
                )
            else:
                _line(out, f"got       {_brief(details)} (no resource metrics yet)")
        _line(out, "ended     by leaving `async with`")
        final = await pc.sessions.wait(started.id, until="ended", timeout=30)
        _line(out, f"ended     {_brief(final)}")


async def run_demo(out: IO[str]) -> int:
    """A whole lifecycle on both providers against an in-process emulator."""
    async with Emulator() as emu:
        emu.seed_sessions("videosdk", 35)
        emu.seed_sessions("pipecat", 35)
        _line(out, f"emulator of both clouds at {emu.url} (35 past sessions each)")
        await _videosdk(emu, out)
        await _pipecat(emu, out)
    _line(out, "\ndone: every call above went over real HTTP to the local emulator.")
    return 0


async def run_emulator(
    *,
    host: str,
    port: int,
    latency: float,
    fault_rate: float,
    sessions: int,
    seed: int,
    out: IO[str],
) -> int:
    """Serves the emulator until interrupted, after printing how to reach it."""
    emu = await serve(
        host, port, latency=latency, fault_rate=fault_rate, sessions=sessions, seed=seed
    )
    try:
        for text in (
            f"agentcloud emulator listening at {emu.url}",
            f"export VIDEOSDK_API_KEY={emu.videosdk_api_key}",
            f"export VIDEOSDK_SECRET_KEY={emu.videosdk_secret}",
            f"export PIPECAT_CLOUD_API_KEY={emu.pipecat_api_key}",
            f"export PIPECAT_CLOUD_PUBLIC_KEY={emu.pipecat_public_key}",
            "export PIPECAT_CLOUD_AGENT=my-agent",
            f"# VideoSDK deployment {emu.videosdk_deployment_id}, tag v1.0",
            f"# try: agentcloud sessions list --provider videosdk --base-url {emu.url}",
        ):
            _line(out, text)
        await asyncio.Event().wait()
    finally:
        await emu.close()
    return 0
