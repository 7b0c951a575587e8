"""Figure 5: Pipecat session starts, against the official ``pipecatcloud`` package.

Both sides start the same session (a Daily room, the body ``{"user": "42"}``) with the public
key on the same emulator; ``PIPECAT_API_HOST`` points ``pipecatcloud`` there. Its loguru
debug line per start is switched off, so its figure is not slowed by writing to a terminal.
The emulator gives new sessions a zero-length life (``--instant-sessions``) so that the
thousands started do not pile up in its active set.

5a runs on the fast server (``fast_server``), against the same starts written by hand on
one pooled aiohttp session: the SDK's own cost per start. The official client's ratio is
in its notes, on both servers: its own overhead (a new session and a new connection for
every start), not the SDK's, decides that one. 5b runs 50 at once on the emulator, 5c the
same on the fast server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp

from agentcloud import PipecatCloud

from ._config import Sizes
from ._results import Row, Sample, Target, interleaved, measure, median, notes_for, paired
from ._server import EmulatorProcess, ServerInfo

__all__ = ["figure_5", "official_available"]

AGENT = "my-agent"
BODY = {"user": "42"}


def official_available() -> bool:
    try:
        import pipecatcloud.session  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _official_pointed_at(url: str) -> Iterator[Any]:
    """``pipecatcloud.session`` with its API host set to ``url`` and its logging off."""
    import pipecatcloud.session
    from loguru import logger

    previous = os.environ.get("PIPECAT_API_HOST")
    os.environ["PIPECAT_API_HOST"] = url
    logger.disable("pipecatcloud")
    try:
        yield pipecatcloud.session
    finally:
        logger.enable("pipecatcloud")
        if previous is None:
            del os.environ["PIPECAT_API_HOST"]
        else:
            os.environ["PIPECAT_API_HOST"] = previous


async def _run_all(count: int, at_once: int, start: Callable[[], Awaitable[object]]) -> None:
    if at_once <= 1:
        for _ in range(count):
            await start()
        return
    gate = asyncio.Semaphore(at_once)

    async def one() -> None:
        async with gate:
            await start()

    await asyncio.gather(*(one() for _ in range(count)))


def _sdk(
    server: EmulatorProcess, info: ServerInfo, count: int, at_once: int
) -> Callable[[], Awaitable[Sample]]:
    async def run() -> Sample:
        async with PipecatCloud(
            public_key=info.pipecat_public_key, agent=AGENT, base_url=info.url
        ) as client:

            async def start() -> object:
                return await client.sessions.start(create_daily_room=True, body=BODY)

            await start()  # warm: connection
            return await measure(server, lambda: _run_all(count, at_once, start))

    return run


def _official(
    server: EmulatorProcess, info: ServerInfo, count: int, at_once: int
) -> Callable[[], Awaitable[Sample]]:
    async def run() -> Sample:
        with _official_pointed_at(info.url) as session_module:
            params = session_module.SessionParams(data=BODY, use_daily=True)

            async def start() -> object:
                session = session_module.Session(
                    agent_name=AGENT, api_key=info.pipecat_public_key, params=params
                )
                return await session.start()

            await start()
            return await measure(server, lambda: _run_all(count, at_once, start))

    return run


def _hand_written(
    server: EmulatorProcess, info: ServerInfo, count: int, at_once: int
) -> Callable[[], Awaitable[Sample]]:
    """The same starts on one pooled aiohttp session: the least an aiohttp client can do."""

    async def run() -> Sample:
        url = f"{info.url}/v1/public/{AGENT}/start"
        headers = {
            "Authorization": f"Bearer {info.pipecat_public_key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        async with aiohttp.ClientSession() as http:

            async def start() -> object:
                data = json.dumps({"createDailyRoom": True, "body": BODY}).encode()
                async with http.post(url, data=data, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"start: {response.status}")
                return json.loads(body)

            await start()
            return await measure(server, lambda: _run_all(count, at_once, start))

    return run


def _wall(samples: list[Sample]) -> float:
    return median([s.wall for s in samples])


async def figure_5(sizes: Sizes) -> list[Row]:
    """5a: sequential starts on the fast server, the SDK against the same starts written
    by hand on one pooled aiohttp session (the least an aiohttp client can do), with the
    official client's ratio in the notes; 5b: 50 concurrent starts on the emulator, the SDK
    against the official client."""
    count, at_once = sizes.starts, sizes.start_concurrency
    with EmulatorProcess(instant_sessions=True) as server:
        info = server.info
        emu_seq_sdk, emu_seq_official = await paired(
            sizes.rounds,
            _sdk(server, info, count, 1),
            _official(server, info, count, 1),
        )
        sdk, official, floor = await interleaved(
            sizes.rounds,
            _sdk(server, info, count, at_once),
            _official(server, info, count, at_once),
            _hand_written(server, info, count, at_once),
        )
    with EmulatorProcess(fast=True) as server:
        info = server.info
        # The judged pair side by side, nothing else between their rounds: the official
        # client leaves a new session's garbage behind after every start, which would
        # land in whichever run comes after it.
        fast_sdk, fast_floor = await paired(
            sizes.rounds,
            _sdk(server, info, count, 1),
            _hand_written(server, info, count, 1),
        )
        fast_seq_sdk, fast_official = await paired(
            sizes.rounds,
            _sdk(server, info, count, 1),
            _official(server, info, count, 1),
        )
        fast_conc_sdk, fast_conc_official = await paired(
            sizes.rounds,
            _sdk(server, info, count, at_once),
            _official(server, info, count, at_once),
        )
    sdk_ms, floor_ms = _wall(fast_sdk) * 1000, _wall(fast_floor) * 1000
    sequential = Row(
        key="5a",
        workload=f"{count} Pipecat sessions.start, sequential, fast server",
        baseline_name="hand-written pooled aiohttp POST",
        unit="ms",
        sdk=sdk_ms,
        baseline=floor_ms,
        figure=sdk_ms / floor_ms,
        figure_name="time ratio",
        target=Target("<=", 1.10),
        notes=notes_for(fast_sdk, fast_floor, server="server"),
    )
    # The official client (pipecatcloud), reported: its own overhead decides its ratio.
    sequential.notes["official_time_ratio_fast_server"] = _wall(fast_official) / _wall(
        fast_seq_sdk
    )
    sequential.notes["official_time_ratio_emulator"] = _wall(emu_seq_official) / _wall(
        emu_seq_sdk
    )
    sdk_rate, official_rate = count / _wall(sdk), count / _wall(official)
    concurrent = Row(
        key="5b",
        workload=f"{count} Pipecat sessions.start, {at_once} concurrent",
        baseline_name="pipecatcloud 1.4 Session.start",
        unit="starts/s",
        sdk=sdk_rate,
        baseline=official_rate,
        figure=sdk_rate / official_rate,
        figure_name="throughput ratio",
        target=Target(">=", 2.0),
        notes=notes_for(sdk, official),
    )
    # The same starts hand-written on one pooled aiohttp session, against the official.
    concurrent.notes["hand_written_ratio"] = _wall(official) / _wall(floor)
    server_cpu = median([s.server_cpu for s in sdk])
    concurrent.notes["emulator_us_per_sdk_start"] = server_cpu / count * 1e6
    fast_sdk_rate = count / _wall(fast_conc_sdk)
    fast_official_rate = count / _wall(fast_conc_official)
    # The same on the fast server, where neither side waits on a busy emulator.
    concurrent_fast = Row(
        key="5c",
        workload=f"{count} Pipecat sessions.start, {at_once} concurrent, fast server",
        baseline_name="pipecatcloud 1.4 Session.start",
        unit="starts/s",
        sdk=fast_sdk_rate,
        baseline=fast_official_rate,
        figure=fast_sdk_rate / fast_official_rate,
        figure_name="throughput ratio",
        target=Target(">=", 2.0),
        notes=notes_for(fast_conc_sdk, fast_conc_official, server="server"),
    )
    return [sequential, concurrent, concurrent_fast]
