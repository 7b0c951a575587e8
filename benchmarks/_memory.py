"""Figure 4: peak memory of streaming a listing ten times as long.

Each size runs in a fresh interpreter (``_memory_child``), against one emulator process
seeded with the larger size; the smaller run stops at ``max_items``. The figure is the growth
of peak RSS in MB, median of the rounds; a pager that held its items would grow by hundreds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ._config import Sizes
from ._results import Row, Target, median
from ._server import ROOT, EmulatorProcess, ServerInfo

__all__ = ["figure_4"]


def _peak_rss_mb(info: ServerInfo, count: int) -> float:
    env = {
        **os.environ,
        "VIDEOSDK_API_KEY": info.videosdk_api_key,
        "VIDEOSDK_SECRET_KEY": info.videosdk_secret,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._memory_child", info.url, str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory run of {count} failed: {done.stderr.strip()[-500:]}")
    answer = json.loads(done.stdout)
    return float(answer["peak_rss_mb"])


async def figure_4(sizes: Sizes) -> list[Row]:
    small, large = sizes.memory_small, sizes.memory_large
    small_mb: list[float] = []
    large_mb: list[float] = []
    with EmulatorProcess(sessions=large) as server:
        for index in range(sizes.memory_rounds):
            order = ((small, small_mb), (large, large_mb))
            for count, results in order if index % 2 == 0 else reversed(order):
                results.append(_peak_rss_mb(server.info, count))
    small_peak, large_peak = median(small_mb), median(large_mb)
    return [
        Row(
            key="4",
            workload=f"peak RSS streaming {large:,} vs {small:,} sessions",
            baseline_name=f"itself at {small:,}",
            unit="MB",
            sdk=large_peak,
            baseline=small_peak,
            figure=large_peak - small_peak,
            figure_name="MB growth",
            target=Target("<", 10.0),
        )
    ]
