"""Synthetic but stable resource metrics for a Pipecat session's details.

Samples are taken every five seconds of running time (as in the vendor's example), with
values drawn from the session's own seed, so the same session always reports the same
numbers and a longer-running session only gains samples.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

from .._timestamps import iso_millis
from ._records import PipecatSessionRecord

__all__ = ["resource_metrics"]

SAMPLE_INTERVAL = 5.0
MAX_SAMPLES = 120
_MEBIBYTE = 1024 * 1024


def _percentile(values: list[int], share: float) -> int:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def resource_metrics(session: PipecatSessionRecord, now: float) -> dict[str, Any] | None:
    """The `resourceMetrics` object, or None before the bot ran at all."""
    timeline = session.timeline
    if timeline.running_at is None:
        return None
    until = min(now, timeline.ended_at) if timeline.ended_at is not None else now
    count = min(
        MAX_SAMPLES, 1 + max(0, math.floor((until - timeline.running_at) / SAMPLE_INTERVAL))
    )
    draw = random.Random(session.metrics_seed)
    # Drawn first, so the id stays the same as samples accumulate.
    metrics_id = str(uuid.UUID(int=draw.getrandbits(128), version=4))
    samples = [
        {
            "t": math.floor(timeline.running_at + index * SAMPLE_INTERVAL),
            "c": draw.randint(100, 500),
            "m": draw.randint(128, 256) * _MEBIBYTE,
        }
        for index in range(count)
    ]
    cpu = [sample["c"] for sample in samples]
    memory = [sample["m"] for sample in samples]
    last = samples[-1]["t"]
    return {
        "id": metrics_id,
        "sessionId": session.id,
        "sampleCount": count,
        "cpuMillicoresP50": _percentile(cpu, 0.50),
        "cpuMillicoresP90": _percentile(cpu, 0.90),
        "cpuMillicoresP95": _percentile(cpu, 0.95),
        "cpuMillicoresP99": _percentile(cpu, 0.99),
        "memoryBytesP50": _percentile(memory, 0.50),
        "memoryBytesP90": _percentile(memory, 0.90),
        "memoryBytesP95": _percentile(memory, 0.95),
        "memoryBytesP99": _percentile(memory, 0.99),
        "timeseries": samples,
        "eventTs": iso_millis(last),
        "createdAt": iso_millis(timeline.running_at),
    }
