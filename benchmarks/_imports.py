"""Figure 6: the cost of ``import agentcloud``, against ``import aiohttp``.

Fresh interpreters, alternating the two imports run after run (as hyperfine does), the
median wall time of each; both include the interpreter's own start-up, and both run once
first, untimed, to warm the file cache and write their bytecode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ._config import Sizes
from ._results import Row, Target, median
from ._server import ROOT

__all__ = ["figure_6", "import_seconds"]


#: Bytecode caching on, as users have it (some sandboxes set PYTHONDONTWRITEBYTECODE), so
#: the warm-up run leaves both packages compiled.
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def import_seconds(module: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, env=_ENV, check=True)
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
