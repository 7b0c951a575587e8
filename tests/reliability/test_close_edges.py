"""``aclose()`` at its edges: called from inside the close, after a close that failed, and
from another event loop than the one the close runs on. Each returns, or raises once,
and never hangs (every wait here is bounded)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentcloud import RetryPolicy
from agentcloud._tasks import finishing
from agentcloud.testing import Emulator, Lifecycle

FOREVER = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)


async def test_a_hook_closing_the_client_during_its_close_does_not_wait_for_itself() -> None:
    async with Emulator(lifecycle=FOREVER) as emu:
        closes: list[Any] = []

        class CloseOnEnd:
            async def on_request(self, info: Any) -> None:
                if info.operation == "sessions.end":
                    closes.append(await asyncio.wait_for(client.aclose(), 5))

        client = emu.videosdk(end_on_close=True, hooks=[CloseOnEnd()])
        session = await client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        close = asyncio.ensure_future(client.aclose())
        done, _ = await asyncio.wait({close}, timeout=10)
        if not done:  # a close waiting for itself declines cancel(): let it be cancelled
            stuck: Any = client._closing
            stuck.cancel_after = 0.0
            stuck.cancel()
            pytest.fail("the close waited for itself")
        close.result()
        assert closes == [None]  # the hook's aclose() returned at once, inside the close
        assert emu.session_phase("videosdk", session.id).value in ("stopping", "completed")
        assert client.closed


async def test_a_failed_close_raises_once_and_still_closes_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Emulator(lifecycle=FOREVER) as emu:
        client = emu.videosdk(retry=RetryPolicy.never())
        await client.sessions.list(max_items=1).collect()
        released: list[bool] = []

        class Listener:
            def held(self, session: Any, managed: bool) -> None: ...

            def released(self, session_id: str) -> None: ...

            async def aclose(self) -> None:
                released.append(True)

        async def broken() -> None:
            raise RuntimeError("the transport's close broke")

        monkeypatch.setattr(client, "_fleet_listener", Listener())
        monkeypatch.setattr(client._transport, "aclose", broken)
        with pytest.raises(RuntimeError, match="broke"):
            await asyncio.wait_for(client.aclose(), 10)
        assert released == [True]  # the listener was closed all the same
        await asyncio.wait_for(client.aclose(), 10)  # and a second close returns
        await asyncio.wait_for(client.aclose(), 10)


def test_a_close_left_on_a_loop_that_is_gone_is_not_waited_for_from_another() -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    with Emulator(lifecycle=FOREVER) as emu:
        client = emu.videosdk()
        gone = asyncio.new_event_loop()
        try:
            stranded = finishing(never(), gone)  # a close its loop never finished
        finally:
            gone.close()
        client._closing = stranded

        async def close_here() -> None:
            await asyncio.wait_for(client.aclose(), 5)

        asyncio.run(close_here())  # returns: nothing of that loop can run any more
        stranded._coro.close()  # (the stranded coroutine, for a quiet exit)
