"""``with Emulator() as emu:``: the emulator serving blocking code from a thread of its own,
its world changed on that thread, its manual clock moved from any thread."""

from __future__ import annotations

import socket
import threading

import pytest

from agentcloud.sync import wrap
from agentcloud.testing import Emulator, Lifecycle, ManualClock, Phase


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "agentcloud-sync-emulator"]


def test_it_serves_until_the_block_ends() -> None:
    before = set(emulator_threads())
    with Emulator() as emu:
        [thread] = set(emulator_threads()) - before
        with wrap(emu.videosdk()) as vs:
            assert vs.deployments.get(emu.videosdk_deployment_id, "v1.0").name
        port = emu.port
        with pytest.raises(RuntimeError, match="already started"):
            emu.__enter__()
    assert not thread.is_alive()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_changes_to_its_world_run_on_its_own_thread() -> None:
    lifecycle = Lifecycle(start_delay=10.0, run_duration=60.0)
    clock = ManualClock()
    with Emulator(clock=clock, lifecycle=lifecycle, seed=1) as emu:
        heard: list[tuple[str, Phase, str]] = []
        running = threading.Event()

        def listener(provider: str, session_id: str, phase: Phase) -> None:
            heard.append((session_id, phase, threading.current_thread().name))
            if phase is Phase.RUNNING:
                running.set()

        emu.add_phase_listener(listener)
        doomed = emu.add_videosdk_deployment(name="other")
        with wrap(emu.videosdk()) as vs:
            started = vs.sessions.start(deployment_id=doomed.id, tag="v1.0")
        assert emu.session_phase("videosdk", started.id) is Phase.QUEUED
        clock.advance(10.0)  # from this thread: the emulator's timers wake on theirs
        assert running.wait(10)
        assert emu.session_phase("videosdk", started.id) is Phase.RUNNING
        assert [phase for _, phase, _ in heard] == [Phase.QUEUED, Phase.RUNNING]
        assert {name for _, _, name in heard} == {"agentcloud-sync-emulator"}
        ids = emu.seed_sessions("pipecat", 3, seed=2)
        assert len(ids) == 3
        emu.clear_requests()
        assert len(emu.requests) == 0
