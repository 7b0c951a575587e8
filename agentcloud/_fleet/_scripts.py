"""The fleet's Lua scripts: each runs atomically in Redis, so no two replicas ever see a
half-done lease, claim or bucket.

Every key a script touches is passed in KEYS (all share the namespace's hash tag). Times
come from Redis (``TIME``) or from its key expiry, never from a replica's clock, so
replicas whose clocks disagree still agree on what expired.
"""

from __future__ import annotations

__all__ = ["ABANDON", "BUDGET", "CLAIM", "DEFER", "SETTLE", "SYNC_LEASES"]

#: A holder's heartbeat. KEYS[1] the lease records, KEYS[2..] liveness keys: first the new
#: leases, then the released ones, then those to renew. ARGV: owner, ttl_ms, how many are
#: new, how many released, then one field per liveness key, then one record per new lease.
#: Returns the fields it could not renew: another process (a reaper) has them now.
SYNC_LEASES = """
local owner, ttl = ARGV[1], tonumber(ARGV[2])
local new, released = tonumber(ARGV[3]), tonumber(ARGV[4])
local count = #KEYS - 1
local lost = {}
for i = 1, count do
  local key, field = KEYS[i + 1], ARGV[4 + i]
  if i <= new then
    redis.call('HSET', KEYS[1], field, ARGV[4 + count + i])
    redis.call('SET', key, owner, 'PX', ttl)
  elseif i <= new + released then
    redis.call('HDEL', KEYS[1], field)
    redis.call('DEL', key)
  else
    local current = redis.call('GET', key)
    if current == owner then
      redis.call('PEXPIRE', key, ttl)
    elseif not current and redis.call('HEXISTS', KEYS[1], field) == 1 then
      -- Expired while this holder could not reach Redis, and no reaper took it: still ours.
      redis.call('SET', key, owner, 'PX', ttl)
    else
      lost[#lost + 1] = field
    end
  end
end
return lost
"""

#: A holder closing with sessions it could not end: their leases expire now, so the next
#: reaper ends them. KEYS: liveness keys; ARGV[1]: owner.
ABANDON = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return #KEYS
"""

#: A reaper claims one expired lease. KEYS[1] records, KEYS[2] the liveness key. ARGV:
#: owner, claim_ms, field. Returns the record, or false when the lease is alive, claimed
#: by another reaper, or gone.
CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local record = redis.call('HGET', KEYS[1], ARGV[3])
if not record then return false end
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
return record
"""

#: A reaper ended the session (or the vendor no longer knows it): the lease goes.
#: KEYS[1] records, KEYS[2] the liveness key; ARGV[1] the field.
SETTLE = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""

#: A reaper's end failed: the record notes it and the lease stays claimed for retry_ms,
#: after which any reaper tries again. KEYS[1] records, KEYS[2] the liveness key. ARGV:
#: owner, retry_ms, field, the updated record. Returns 0 when the lease went meanwhile.
DEFER = """
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
"""

#: One retry asks the shared bucket for a token. KEYS[1] the bucket; ARGV: rate (tokens a
#: second), burst (the most it holds). Returns 1 when a token was taken. The bucket expires
#: once it would be full again, so an idle one costs no memory.
BUDGET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = redis.call('TIME')
local us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil or at == nil then
  tokens, at = burst, us
end
if us > at then
  tokens = math.min(burst, tokens + (us - at) * rate / 1000000)
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%d', us))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return taken
"""
