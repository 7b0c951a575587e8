"""Figure 6: the cost of ``import agentcloud``, against ``import aiohttp``.

Fresh interpreters, alternating the two imports run after run (as hyperfine does), the
median wall time of each; both include the interpreter's own start-up.
"""

from __future__ import annotations

import subprocess
import sys
import time

from ._config import Sizes
from ._results import Row, Target, median
from ._server import ROOT

__all__ = ["figure_6", "import_seconds"]


def import_seconds(module: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, check=True)
    return time.perf_counter() - start


async def figure_6(sizes: Sizes) -> list[Row]:
    import_seconds("agentcloud")  # warm the file cache and the bytecode
    import_seconds("aiohttp")
    ours: list[float] = []
    theirs: list[float] = []
    for index in range(sizes.import_runs):
        pair = (("agentcloud", ours), ("aiohttp", theirs))
        for module, results in pair if index % 2 == 0 else reversed(pair):
            results.append(import_seconds(module))
    ours_ms, theirs_ms = median(ours) * 1000, median(theirs) * 1000
    return [
        Row(
            key="6",
            workload='python -c "import agentcloud"',
            baseline_name='python -c "import aiohttp"',
            unit="ms",
            sdk=ours_ms,
            baseline=theirs_ms,
            figure=ours_ms / theirs_ms,
            figure_name="time ratio",
            target=Target("<=", 1.3),
        )
    ]
