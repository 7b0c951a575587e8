"""The sizes of each workload, full and quick."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    rounds: int
    #: 1: sequential sessions.get
    gets: int
    #: 2: sessions streamed, per_page 100
    stream: int
    #: 3: pages walked under latency, and the pager's concurrency
    pages: int
    latency_ms: float
    concurrency: int
    #: 4: the two listing sizes, each streamed in a fresh process, and rounds per size
    memory_small: int
    memory_large: int
    memory_rounds: int
    #: 5: Pipecat starts, and how many at once in the concurrent run
    starts: int
    start_concurrency: int
    #: 6: interpreter runs per import
    import_runs: int
    #: 7: concurrent sessions.get on one client
    concurrent_gets: int
    #: 8: webhooks sent from one replica to a waiter on another
    fleet_events: int
    #: 9: sessions a killed holder leaves to the reaper, and their lease TTL (seconds)
    reaped_sessions: int
    reap_lease_ttl: float
    #: 11: the two stream sizes at concurrency 8 (rounds: memory_rounds)
    scale_small: int
    scale_large: int


FULL = Sizes(
    rounds=5,
    gets=2000,
    stream=100_000,
    pages=40,
    latency_ms=50.0,
    concurrency=8,
    memory_small=20_000,
    memory_large=200_000,
    memory_rounds=3,
    starts=300,
    start_concurrency=50,
    import_runs=30,
    concurrent_gets=1000,
    fleet_events=1000,
    reaped_sessions=200,
    reap_lease_ttl=3.0,
    scale_small=100_000,
    scale_large=1_000_000,
)

QUICK = Sizes(
    rounds=1,
    gets=50,
    stream=1000,
    pages=17,
    latency_ms=10.0,
    concurrency=8,
    memory_small=200,
    memory_large=2000,
    memory_rounds=1,
    starts=20,
    start_concurrency=10,
    import_runs=3,
    concurrent_gets=100,
    fleet_events=50,
    reaped_sessions=20,
    reap_lease_ttl=1.0,
    scale_small=2000,
    scale_large=20_000,
)
