"""Figure 5: Pipecat session starts, against the official ``pipecatcloud`` package.

Both sides start the same session (a Daily room, the body ``{"user": "42"}``) with the public
key on the same emulator; ``PIPECAT_API_HOST`` points ``pipecatcloud`` there. Its loguru
debug line per start is switched off, so its figure is not slowed by writing to a terminal.
The emulator gives new sessions a zero-length life (``--instant-sessions``) so that the
thousands started do not pile up in its active set.
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


def _row(
    key: str, workload: str, sdk: list[Sample], official: list[Sample], count: int, limit: float
) -> Row:
    sdk_rate = count / median([s.wall for s in sdk])
    official_rate = count / median([s.wall for s in official])
    return Row(
        key=key,
        workload=workload,
        baseline_name="pipecatcloud 1.4 Session.start",
        unit="starts/s",
        sdk=sdk_rate,
        baseline=official_rate,
        figure=sdk_rate / official_rate,
        figure_name="throughput ratio",
        target=Target(">=", limit),
        notes=notes_for(sdk, official),
    )


def _wall(samples: list[Sample]) -> float:
    return median([s.wall for s in samples])


async def figure_5(sizes: Sizes) -> list[Row]:
    count = sizes.starts
    modes = (("5a", 1, 2.5), ("5b", sizes.start_concurrency, 2.0))
    rows: list[Row] = []
    with EmulatorProcess(instant_sessions=True) as server:
        info = server.info
        for key, at_once, limit in modes:
            sdk, official, floor = await interleaved(
                sizes.rounds,
                _sdk(server, info, count, at_once),
                _official(server, info, count, at_once),
                _hand_written(server, info, count, at_once),
            )
            how = "sequential" if at_once == 1 else f"{at_once} concurrent"
            row = _row(key, f"{count} Pipecat sessions.start, {how}", sdk, official, count, limit)
            # The same starts hand-written on one pooled aiohttp session, against the official.
            row.notes["hand_written_ratio"] = _wall(official) / _wall(floor)
            row.notes["emulator_us_per_sdk_start"] = (
                median([s.server_cpu for s in sdk]) / count * 1e6
            )
            rows.append(row)
    # The same two clients against a server that does nothing: the emulator's share.
    with EmulatorProcess(noop=True) as server:
        info = server.info
        for row, (_, at_once, _) in zip(rows, modes, strict=True):
            sdk, official = await paired(
                sizes.rounds,
                _sdk(server, info, count, at_once),
                _official(server, info, count, at_once),
            )
            row.notes["noop_server_ratio"] = _wall(official) / _wall(sdk)
    return rows
