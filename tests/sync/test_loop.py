"""Each blocking client's private event loop: started lazily, stopped by close(), usable
from any thread and from inside a running loop, never driven from its own thread."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import weakref
from typing import Any

import aiohttp
import pytest

import agentcloud
from agentcloud import InvalidRequestError, RetryPolicy, Session
from agentcloud.sync import VideoSDK, wrap
from agentcloud.testing import Emulator


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("agentcloud-sync-VideoSDK")]


@pytest.fixture
def session_id(emu: Emulator) -> str:
    return emu.seed_sessions("videosdk", 1, running=1)[0]


@pytest.fixture
def credentials(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": emu.videosdk_api_key,
        "secret": emu.videosdk_secret,
        "base_url": emu.url,
    }


def test_the_loop_starts_on_the_first_call_and_stops_on_close(
    credentials: dict[str, Any], session_id: str
) -> None:
    before = set(loop_threads())
    client = VideoSDK(**credentials)
    assert set(loop_threads()) == before  # making a client starts nothing
    assert client.sessions.get(session_id).id == session_id
    (thread,) = set(loop_threads()) - before
    assert thread.daemon
    client.close()
    assert not thread.is_alive()
    assert client.closed
    client.close()  # idempotent
    with pytest.raises(InvalidRequestError) as refused:
        client.sessions.get(session_id)
    assert refused.value.argument == "client"


def test_a_client_never_used_closes_without_a_thread(credentials: dict[str, Any]) -> None:
    before = set(loop_threads())
    with VideoSDK(**credentials) as client:
        pass
    assert client.closed
    assert set(loop_threads()) == before


def test_a_client_dropped_unclosed_is_closed_by_the_collector(
    credentials: dict[str, Any], session_id: str
) -> None:
    before = set(loop_threads())
    client = VideoSDK(**credentials)
    client.sessions.get(session_id)
    (thread,) = set(loop_threads()) - before
    target = weakref.ref(client._target)
    del client
    gc.collect()
    assert not thread.is_alive()
    closed = target()
    assert closed is None or closed.closed


def test_it_works_inside_a_running_event_loop(vs: VideoSDK, session_id: str) -> None:
    async def notebook_cell() -> str:
        # A blocking call from a coroutine: it blocks this loop, and says nothing of it.
        return vs.sessions.get(session_id).id

    assert asyncio.run(notebook_cell()) == session_id
    assert asyncio.run(notebook_cell()) == session_id  # a second loop, the same client
    assert vs.sessions.get(session_id).id == session_id


def test_a_blocking_call_from_the_clients_own_loop_is_refused(
    emu: Emulator, policy: RetryPolicy, session_id: str
) -> None:
    seen: list[BaseException] = []

    class CallsBack:
        def on_response(self, info: Any) -> None:
            if info.operation == "sessions.get" and not seen:
                try:
                    client.sessions.list(max_items=1).collect()
                except BaseException as error:
                    seen.append(error)

    with wrap(emu.videosdk(retry=policy, hooks=[CallsBack()])) as client:
        assert client.sessions.get(session_id).id == session_id
    (error,) = seen
    assert isinstance(error, InvalidRequestError)
    assert "own event loop" in str(error)


def test_http_is_refused_and_wrap_takes_only_unused_clients(
    emu: Emulator, credentials: dict[str, Any]
) -> None:
    async def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    http = asyncio.run(session())
    try:
        with pytest.raises(InvalidRequestError) as refused:
            VideoSDK(**credentials, http=http)
        assert refused.value.argument == "http"
        with pytest.raises(InvalidRequestError, match="http="):
            wrap(agentcloud.VideoSDK(**credentials, http=http))
    finally:
        asyncio.run(http.close())
    with pytest.raises(InvalidRequestError):
        wrap("not a client")  # type: ignore[call-overload]
    closed = emu.videosdk()
    asyncio.run(closed.aclose())
    with pytest.raises(InvalidRequestError, match="closed"):
        wrap(closed)


def test_errors_raised_on_the_loop_reach_the_caller_as_they_are(
    emu: Emulator, vs: VideoSDK
) -> None:
    with pytest.raises(agentcloud.NotFoundError) as caught:
        vs.sessions.get("00000000-0000-0000-0000-000000000000")
    assert caught.value.attempts == 1
    with pytest.raises(InvalidRequestError) as refused:
        vs.sessions.list(per_page=0)
    assert refused.value.argument == "per_page"


class RecordingFleet:
    """What a client needs of a fleet, recording where it was attached and what it heard."""

    def __init__(self) -> None:
        self.attached_on: asyncio.AbstractEventLoop | None = None
        self.thread: str | None = None
        self.leases: list[tuple[str, bool]] = []
        self.released_ids: list[str] = []
        self.closed_on: asyncio.AbstractEventLoop | None = None

    def attach(self, client: Any) -> RecordingFleet:
        self.attached_on = asyncio.get_running_loop()  # fails unless attached on a loop
        self.thread = threading.current_thread().name
        return self

    def held(self, session: Session, *, managed: bool) -> None:
        self.leases.append((session.id, managed))

    def released(self, session_id: str) -> None:
        self.released_ids.append(session_id)

    async def aclose(self) -> None:
        self.closed_on = asyncio.get_running_loop()


def test_a_fleet_is_attached_and_used_on_the_clients_own_loop(
    emu: Emulator, credentials: dict[str, Any]
) -> None:
    fleet = RecordingFleet()
    with VideoSDK(**credentials, fleet=fleet) as client:
        assert fleet.thread is not None
        assert fleet.thread.startswith("agentcloud-sync-VideoSDK")
        kept = client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        with client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0") as s:
            pass
    assert fleet.closed_on is fleet.attached_on
    # A direct start is leased as held; a with block's as managed while the block runs.
    assert [managed for sid, managed in fleet.leases if sid == kept.id][-1] is False
    assert [managed for sid, managed in fleet.leases if sid == s.id] == [True, False, True]
    assert s.id in fleet.released_ids
    assert kept.id not in fleet.released_ids


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_ctrl_c_is_left_to_the_main_thread(vs: VideoSDK, session_id: str) -> None:
    """A process-directed SIGINT must wake the main thread blocked in a call: the loop's
    thread does not take it."""
    vs.sessions.get(session_id)

    async def blocked_here() -> set[int]:
        return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    assert signal.SIGINT in vs._portal.run(blocked_here)
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
