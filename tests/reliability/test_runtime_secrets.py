"""Secrets never leak from VideoSDK's agent runtime calls either: every success and error
path (under every fault the emulator injects) leaves the API key, the secret and the JWT
out of log records, error texts and reprs (the checks of ``test_secrets``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from agentcloud import VideoSDK, Webhook
from agentcloud.testing import Emulator, FaultKind, FaultPlan, ManualClock

from .test_secrets import FAST, SID, TIMEOUT, Exposure, expose, policy


def every_runtime_call(
    emu: Emulator, vs: VideoSDK, room: str
) -> Iterator[tuple[str, Callable[[], Awaitable[Any]]]]:
    agent, dep, ver = emu.videosdk_agent_id, emu.videosdk_runtime_deployment_id, SID
    yield "dispatch", lambda: vs.runtime.dispatch(agent_id=agent, deployment_id=dep)
    yield "dispatch into", lambda: vs.runtime.dispatch(agent_id=agent, room_id=room)
    yield "dispatch refused", lambda: vs.runtime.dispatch(agent_id="nobody", room_id=room)
    yield (
        "general",
        lambda: vs.runtime.dispatch(
            agent_id=agent, room_id=room, version_id=emu.videosdk_runtime_version_id, general=True
        ),
    )
    yield "sessions.list", lambda: vs.runtime.sessions.list(dep, per_page=2).collect()
    yield "sessions.get missing", lambda: vs.runtime.sessions.get(dep, SID)
    yield "sessions.find", lambda: vs.runtime.sessions.find(dep, room_id=room, timeout=1)
    yield "sessions.wait", lambda: vs.runtime.sessions.wait(dep, room_id=room, timeout=1)
    yield "sessions.end", lambda: vs.runtime.sessions.end(room_id=room)
    yield "sessions.end missing", lambda: vs.runtime.sessions.end(room_id="no-such-room")
    yield "logs", lambda: vs.runtime.logs(dep, room_id=room).collect()
    yield "rooms.create", lambda: vs.rooms.create(custom_room_id="secret-check")
    yield "deployments.create", lambda: vs.runtime.deployments.create(name="n")
    yield "deployments.get", lambda: vs.runtime.deployments.get(dep)
    yield "deployments.latest", lambda: vs.runtime.deployments.latest(dep)
    yield "deployments.update", lambda: vs.runtime.deployments.update(dep, env_secret="s")
    yield "versions.get missing", lambda: vs.runtime.versions.get(ver)
    yield (
        "versions.update",
        lambda: vs.runtime.versions.update(
            emu.videosdk_runtime_version_id,
            webhook=Webhook("http://127.0.0.1:9/hook", events=["agent-session-started"]),
        ),
    )
    yield "versions.activate", lambda: vs.runtime.versions.activate(emu.videosdk_runtime_version_id)


async def test_no_secret_from_the_agent_runtime(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        Emulator(clock=ManualClock(), seed=52, lifecycle=FAST) as emu,
        emu.videosdk(retry=policy(), timeout=TIMEOUT) as vs,
    ):
        exposure = Exposure([emu.videosdk_api_key, emu.videosdk_secret, vs._authorization(None)()])
        room = (await vs.rooms.create()).room_id
        exposure.add("repr", f"{vs.runtime!r} {vs.rooms!r} {vs.runtime.sessions.list('d')!r}")
        plans: list[FaultPlan | None] = [None]
        plans += [FaultPlan(script=[kind] * 3, stall_seconds=TIMEOUT * 1.5) for kind in FaultKind]
        for plan in plans:
            for name, make in every_runtime_call(emu, vs, room):
                emu.faults = plan
                await expose(exposure, f"{name} under {plan}", make)
        emu.faults = None
    exposure.records(caplog.records)
    exposure.check()
