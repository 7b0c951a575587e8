"""Many threads, one blocking client: every call answered, connections within the pool."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentcloud import RetryPolicy
from agentcloud.sync import wrap
from agentcloud.testing import Emulator
from tests.sync.helpers import Connections

THREADS = 8
CALLS = 1000
POOL = 4


def test_eight_threads_share_one_client_for_a_thousand_calls(
    connections: Connections, emu: Emulator, policy: RetryPolicy
) -> None:
    ids = emu.seed_sessions("videosdk", 50, seed=1, running=10)
    client = wrap(emu.videosdk(retry=policy, max_connections=POOL))
    start = threading.Barrier(THREADS)

    def work(worker: int) -> list[tuple[str, str]]:
        start.wait(timeout=30)
        answers = []
        for n in range(CALLS // THREADS):
            wanted = ids[(worker * 7 + n) % len(ids)]
            if n % 25 == 0:
                got: Any = client.sessions.list(per_page=10, max_items=20).collect()[0]
                wanted = ids[0]
            else:
                got = client.sessions.get(wanted)
            answers.append((wanted, got.id))
        return answers

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = [answer for done in pool.map(work, range(THREADS)) for answer in done]
    finally:
        client.close()
    assert len(results) == CALLS
    assert all(wanted == got for wanted, got in results)
    assert 1 <= connections.peak <= POOL
    assert connections.accepted <= POOL
    # Closing the client closed every connection it had opened.
    assert connections.wait_closed(timeout=10)
