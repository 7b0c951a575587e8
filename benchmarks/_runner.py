"""Runs the selected figures one after the other and collects their rows."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable

from ._config import Sizes
from ._fleet import figure_8, figure_9
from ._imports import figure_6
from ._memory import figure_4
from ._pipecat import figure_5, official_available
from ._report import print_progress
from ._results import Row, interference
from ._scale import figure_11
from ._sync import figure_10
from ._videosdk import figure_1, figure_2, figure_3, figure_7

__all__ = ["FIGURES", "run"]

Figure = Callable[[Sizes], Awaitable[list[Row]]]

FIGURES: dict[int, Figure] = {
    1: figure_1,
    2: figure_2,
    3: figure_3,
    4: figure_4,
    5: figure_5,
    6: figure_6,
    7: figure_7,
    8: figure_8,
    9: figure_9,
    10: figure_10,
    11: figure_11,
}


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (Linux), or 0 where unknown."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process and of the children it has waited for (the emulators)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


async def run(selected: Iterable[int], sizes: Sizes) -> list[Row]:
    busy, own, started = _busy_seconds(), _own_seconds(), time.perf_counter()
    try:
        return await _run(selected, sizes)
    finally:
        elapsed = time.perf_counter() - started
        others = max(0.0, (_busy_seconds() - busy) - (_own_seconds() - own))
        interference["other_processes_cpu_share"] = others / elapsed if elapsed > 0 else 0.0


async def _run(selected: Iterable[int], sizes: Sizes) -> list[Row]:
    rows: list[Row] = []
    for number in selected:
        if number == 5 and not official_available():
            print_progress(
                "figure 5 skipped: pipecatcloud is not installed (pip install -e .[bench])"
            )
            continue
        started = time.perf_counter()
        print_progress(f"figure {number} ...")
        figure_rows = await FIGURES[number](sizes)
        print_progress(f"figure {number} done in {time.perf_counter() - started:.1f}s")
        rows.extend(figure_rows)
    return rows
