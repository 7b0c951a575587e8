"""The fleet's parts (see :mod:`agentcloud.fleet`, the public face): per-loop connections
to Redis, the Lua scripts, events, leases and their reaper, and the shared retry budget."""
