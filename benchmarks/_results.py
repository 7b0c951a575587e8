"""What a benchmark yields: samples, targets and result rows."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._server import EmulatorProcess

__all__ = [
    "Row",
    "Sample",
    "Target",
    "cpu_ratio",
    "interference",
    "interleaved",
    "measure",
    "median",
    "notes_for",
    "paired",
]


#: What the last run saw of the machine: ``other_processes_cpu_share``, the share of one CPU
#: that processes other than the benchmarks' own used meanwhile (0 on a quiet machine).
interference: dict[str, float] = {}


@dataclass(frozen=True)
class Sample:
    """One timed run: wall seconds, this process's CPU seconds, the emulator's CPU seconds."""

    wall: float
    cpu: float
    server_cpu: float


@dataclass(frozen=True)
class Target:
    op: Literal["<=", ">=", "<"]
    limit: float

    def met(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        return value < self.limit

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Row:
    """One line of the table: the SDK's number, its baseline's, and the figure judged."""

    key: str
    workload: str
    baseline_name: str
    unit: str
    sdk: float
    baseline: float
    figure: float
    figure_name: str
    target: Target
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def figure_number(self) -> int:
        return int(self.key.rstrip("abcdefgh"))

    @property
    def passed(self) -> bool:
        return self.target.met(self.figure)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


async def measure(server: EmulatorProcess | None, body: Callable[[], Awaitable[object]]) -> Sample:
    """Times ``body()``; the emulator's CPU time is read before and after, outside the timing.

    The emulator's request log is emptied first, so it does not grow across rounds.
    """
    if server is not None:
        server.reset()
    gc.collect()  # the garbage of the run before is not this run's to collect
    server_before = server.stats().cpu if server is not None else 0.0
    cpu_before = time.process_time()
    start = time.perf_counter()
    await body()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_before
    server_cpu = server.stats().cpu - server_before if server is not None else 0.0
    return Sample(wall=wall, cpu=cpu, server_cpu=server_cpu)


async def interleaved(
    rounds: int, *runs: Callable[[], Awaitable[Sample]]
) -> tuple[list[Sample], ...]:
    """``rounds`` runs of each, side by side, rotating which goes first."""
    samples: tuple[list[Sample], ...] = tuple([] for _ in runs)
    for index in range(rounds):
        for offset in range(len(runs)):
            which = (index + offset) % len(runs)
            samples[which].append(await runs[which]())
    return samples


async def paired(
    rounds: int,
    first: Callable[[], Awaitable[Sample]],
    second: Callable[[], Awaitable[Sample]],
) -> tuple[list[Sample], list[Sample]]:
    """``rounds`` runs of each, side by side, alternating which goes first."""
    a, b = await interleaved(rounds, first, second)
    return a, b


def notes_for(
    sdk: Sequence[Sample], baseline: Sequence[Sample], *, server: str = "emulator"
) -> dict[str, float]:
    """The client-CPU ratio and the server's busy share (``server``: "emulator" or
    "server", the fast one), for the report's notes and its client cpu column."""
    notes = {
        f"{server}_busy_baseline": median([s.server_cpu / s.wall for s in baseline]),
        f"{server}_busy_sdk": median([s.server_cpu / s.wall for s in sdk]),
    }
    ratio = cpu_ratio(sdk, baseline)
    if ratio is not None:
        notes["client_cpu_ratio"] = ratio
    return notes


def cpu_ratio(sdk: Sequence[Sample], baseline: Sequence[Sample]) -> float | None:
    """The median client CPU time of ``sdk`` over that of ``baseline`` (None if zero)."""
    base_cpu = median([s.cpu for s in baseline])
    return median([s.cpu for s in sdk]) / base_cpu if base_cpu > 0 else None
