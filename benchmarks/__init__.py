"""agentcloud's speed, measured against the limit and against its peers.

Run ``python -m benchmarks`` (full) or ``python -m benchmarks --quick`` (a smoke run of tiny
sizes); ``--only 1,3`` selects figures, ``--json`` prints machine-readable results.

Methodology
-----------
* Every figure is a ratio taken side by side in one run: the SDK and its baseline run
  against the same emulator, round after round, alternating which goes first; each side's
  number is the median of its rounds (5 in a full run).
* The emulator (``agentcloud.testing``) runs in a process of its own
  (``python -m benchmarks.emulator_server``) on 127.0.0.1, so this process's time is the
  client's. One emulator process serves each figure, with the sessions that figure needs
  seeded before any timing.
* Clients are warmed (one call opens the connection and mints the token) before the timing
  starts, except in figure 7, whose fresh client opens every connection it uses in the run.
* Baselines are what a careful user writes without an SDK: one pooled
  ``aiohttp.ClientSession``, the JWT minted once, ``json.loads`` into dicts, a status check.
* The emulator's share: it reports its own CPU seconds, read before and after each timed
  run (outside the timing). "emu busy" is its CPU time over the baseline's wall time: the
  part of each request the emulator spent, common to both sides. Each row also notes the
  ratio of this process's CPU time (the client's own cost, without the emulator's).
* Figure 4 runs each size in a fresh interpreter and reads its ``ru_maxrss``; figure 6
  alternates fresh interpreters importing ``agentcloud`` and ``aiohttp``; figure 11 streams
  each size in a fresh interpreter too, and reads its stream time and ``ru_maxrss``.

Figures: 1 sequential gets; 2 streaming a long listing; 3 concurrent pages under latency;
4 peak memory of a 10x longer stream; 5 Pipecat starts against the official
``pipecatcloud``; 6 import time; 7 concurrent gets on one client, and its connections;
8 a webhook on one replica to a waiter on another, through the fleet's Redis (p50, p99);
9 the reaper ending the sessions of a killed holder. Figures 8 and 9 need a Redis server
(``AGENTCLOUD_REDIS_URL``, default redis://127.0.0.1:6379/0);
10 the blocking client's cost per call over the async client (sequential gets);
11 streaming 1,000,000 sessions at concurrency 8 against 100,000: time and peak memory.

Fast server
-----------
Against the emulator (about 280 µs of CPU per get) the client's own cost hides. Figures
1, 2, 5, 7 and 10 also run against ``fast_server``, a bare aiohttp server in a process of
its own answering fixed, pre-encoded bodies, and figure 11 runs only there. Every row shows
the client's CPU time, SDK over baseline (``time.process_time`` of this process: the
servers run in other processes); rows 1c, 2c and 2d judge it. 2c runs the SDK without the
speedups extra (orjson switched off through ``agentcloud._json.ORJSON``), 2d with it.
"""
