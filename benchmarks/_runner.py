"""Runs the selected figures one after the other and collects their rows."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from ._config import Sizes
from ._imports import figure_6
from ._memory import figure_4
from ._pipecat import figure_5, official_available
from ._report import print_progress
from ._results import Row
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
}


async def run(selected: Iterable[int], sizes: Sizes) -> list[Row]:
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
