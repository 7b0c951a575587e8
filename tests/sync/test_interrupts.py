"""Ctrl-C during a blocking call: the call in flight is cancelled, nothing is left behind
(no task on the client's loop, no connection half-used, no session billing), and the client
goes on working. SIGINT is really sent to this thread, as a terminal does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentcloud import RetryPolicy, SessionStatus
from agentcloud.sync import wrap
from agentcloud.testing import Emulator
from tests.sync.helpers import (
    Connections,
    OnRequest,
    idle_until_interrupted,
    sigint_when,
    tasks_left,
)

STALL = 5.0  # the emulator's latency while a call is to be interrupted


def not_billing(emu: Emulator, provider: str = "videosdk") -> list[str]:
    """Ids of the provider's sessions still queued or running."""
    phases = {sid: emu.session_phase(provider, sid).value for sid in emu.worlds[provider].sessions}
    return [sid for sid, phase in phases.items() if phase in ("queued", "running")]


def test_ctrl_c_during_a_call_cuts_its_request(
    emu: Emulator, policy: RetryPolicy, connections: Connections
) -> None:
    [session_id] = emu.seed_sessions("videosdk", 1, running=1)
    hook = OnRequest("sessions.get")
    client = wrap(emu.videosdk(retry=policy, hooks=[hook]))
    try:
        emu.latency = STALL
        started = time.monotonic()
        with sigint_when(hook.event), pytest.raises(KeyboardInterrupt):
            client.sessions.get(session_id)
        assert time.monotonic() - started < STALL  # cut, not waited out
        assert tasks_left(client) == []
        assert connections.wait_closed(timeout=STALL)  # the half-used connection is gone
        emu.latency = 0.0
        assert client.sessions.get(session_id).id == session_id  # and the client works on
    finally:
        emu.latency = 0.0
        client.close()


@pytest.fixture
def stalled_listing(emu: Emulator, policy: RetryPolicy) -> Iterator[tuple[Any, OnRequest]]:
    """A client whose listing's first page comes at once and every later one stalls."""
    emu.seed_sessions("videosdk", 57, seed=2)

    def stall_the_rest() -> None:
        emu.latency = STALL

    hook = OnRequest("sessions.list", then=stall_the_rest)
    client = wrap(emu.videosdk(retry=policy, hooks=[hook]))
    try:
        yield client, hook
    finally:
        emu.latency = 0.0
        client.close()


def test_ctrl_c_while_pages_are_in_flight_cancels_them(
    stalled_listing: tuple[Any, OnRequest],
) -> None:
    client, hook = stalled_listing
    first_page_read = threading.Event()
    seen = 0
    with sigint_when(first_page_read), pytest.raises(KeyboardInterrupt):  # noqa: PT012
        for _ in client.sessions.list(per_page=10, concurrency=4):
            seen += 1
            if seen == 10:
                first_page_read.set()  # Ctrl-C while the next pages are stalled
    assert seen == 10
    assert hook.seen == 5  # the first page, and four in flight when Ctrl-C came
    assert tasks_left(client) == []


def test_leaving_a_loop_early_cancels_the_pages_in_flight_at_once(
    stalled_listing: tuple[Any, OnRequest],
) -> None:
    client, hook = stalled_listing
    for session in client.sessions.list(per_page=10, concurrency=4):
        assert session.id
        leaving = time.monotonic()
        break
    assert time.monotonic() - leaving < STALL  # the stalled pages were not waited for
    assert tasks_left(client) == []  # they were cancelled
    assert hook.seen == 5  # (and there were some: prefetch, four at once)


def test_ctrl_c_during_a_start_ends_the_session_it_makes(
    emu: Emulator, policy: RetryPolicy
) -> None:
    hook = OnRequest("sessions.start")
    client = wrap(emu.videosdk(retry=policy, hooks=[hook]))
    try:
        emu.latency = 0.3  # the start, and then its end, take this long
        with sigint_when(hook.event), pytest.raises(KeyboardInterrupt):
            client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        emu.latency = 0.0
        assert len(emu.worlds["videosdk"].sessions) == 1  # the start went through...
        assert not_billing(emu) == []  # ...and what it made was ended
        assert tasks_left(client) == []
        assert len(client._target._held) == 0
    finally:
        emu.latency = 0.0
        client.close()


def test_ctrl_c_inside_a_with_block_ends_its_session(emu: Emulator, policy: RetryPolicy) -> None:
    inside = threading.Event()
    deployment = emu.videosdk_deployment_id
    with wrap(emu.videosdk(retry=policy)) as client:
        with (  # noqa: PT012
            sigint_when(inside),
            pytest.raises(KeyboardInterrupt),
            client.sessions.start(deployment_id=deployment, tag="v1.0") as s,
        ):
            assert s.status is SessionStatus.QUEUED
            inside.set()
            idle_until_interrupted(STALL)  # the bot's work, interrupted
        assert not_billing(emu) == []
        assert tasks_left(client) == []


def test_a_start_whose_caller_was_interrupted_as_it_returned_is_ended(
    emu: Emulator, policy: RetryPolicy
) -> None:
    """Ctrl-C landing once the start has settled, as the caller is woken: the portal
    undoes the value the caller never received. With ``end_on_close=False`` (the default)
    an unmanaged session is let go by the client, so the undo must take it back to end it."""
    client = wrap(emu.videosdk(retry=policy))
    try:
        started = client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        assert not_billing(emu) == [started.id]
        client._portal.run(started._undo_abandoned)  # what the portal runs then
        assert not_billing(emu) == []
        assert tasks_left(client) == []
    finally:
        client.close()


def test_ctrl_c_on_the_way_into_a_with_block_ends_its_session(
    emu: Emulator, policy: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted while ``with`` takes the session (before it is managed): no block will
    end it, so entering ends it, although the client had let the unmanaged session go."""
    client = wrap(emu.videosdk(retry=policy))
    try:
        started = client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        portal, real_run = client._portal, client._portal.run
        calls: list[str] = []

        def interrupted_once(function: Any, *args: Any) -> Any:
            calls.append(function.__name__)
            if len(calls) == 1:
                raise KeyboardInterrupt  # as Ctrl-C would, while the portal waits
            return real_run(function, *args)

        monkeypatch.setattr(portal, "run", interrupted_once)
        with pytest.raises(KeyboardInterrupt), started:
            pytest.fail("the block must not run")
        assert calls == ["manage", "leave"]
        assert not_billing(emu) == []
    finally:
        client.close()
