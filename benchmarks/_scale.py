"""Figure 11: streaming ten times as many sessions at concurrency 8 takes ten times as
long, in the same memory.

Each size is streamed in a fresh interpreter (``_scale_child``) from one fast server
(``fast_server``, answering each page from a pre-encoded template) holding the larger
listing, alternating the sizes round by round. 11a is the time of the large stream over
the small one (10 would be exactly linear); 11b the growth of peak RSS in MB.
"""

from __future__ import annotations

import json
import subprocess
import sys

from ._config import Sizes
from ._results import Row, Target, median
from ._server import ROOT, EmulatorProcess

__all__ = ["figure_11"]

CONCURRENCY = 8


def _run(url: str, count: int) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._scale_child", url, str(count), str(CONCURRENCY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scale run of {count} failed: {done.stderr.strip()[-500:]}")
    answer = json.loads(done.stdout)
    return float(answer["seconds"]), float(answer["peak_rss_mb"])


async def figure_11(sizes: Sizes) -> list[Row]:
    small, large = sizes.scale_small, sizes.scale_large
    runs: dict[int, list[tuple[float, float]]] = {small: [], large: []}
    with EmulatorProcess(sessions=large, fast=True) as server:
        for index in range(sizes.memory_rounds):
            order = (small, large) if index % 2 == 0 else (large, small)
            for count in order:
                runs[count].append(_run(server.info.url, count))
    small_s = median([seconds for seconds, _ in runs[small]])
    large_s = median([seconds for seconds, _ in runs[large]])
    small_mb = median([mb for _, mb in runs[small]])
    large_mb = median([mb for _, mb in runs[large]])
    workload = f"stream {large:,} vs {small:,} sessions, concurrency={CONCURRENCY}, fast server"
    return [
        Row(
            key="11a",
            workload=workload,
            baseline_name=f"itself at {small:,}",
            unit="ms",
            sdk=large_s * 1000,
            baseline=small_s * 1000,
            figure=large_s / small_s,
            figure_name="time ratio",
            target=Target("<=", 10.5 * large / small / 10),
            notes={"items_ratio": large / small},
        ),
        Row(
            key="11b",
            workload=workload,
            baseline_name=f"itself at {small:,}",
            unit="MB",
            sdk=large_mb,
            baseline=small_mb,
            figure=large_mb - small_mb,
            figure_name="MB growth",
            target=Target("<", 10.0),
        ),
    ]
