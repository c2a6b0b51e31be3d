/**
 * One Lua call decides every limit of a request — and every request that reached this node in the
 * same event-loop turn (./redis-backend.ts batches them): one round trip per decision at most, and
 * atomic, since Redis runs a script alone, so no other node's request lands between a check and
 * its commit (the race of Kong/kong#5311, where a read and a separate increment let a cluster
 * overshoot). Requests in a batch are decided in order, each seeing the commits of those before.
 * The algorithms are the Lua twins of ./algorithms/*.ts; redis-backend.test.ts runs both on one
 * scripted clock and compares their answers.
 *
 * The clock is Redis's own `TIME`, read once per call, so every node decides on one clock and the
 * nodes' clock skew does not matter. Writes after a non-deterministic command are allowed since
 * Redis 5 replicates a script's effects rather than its source (the only mode in Redis 7, "Scripting
 * with Lua"); `redis.replicate_commands()` asks for that on Redis 3.2–4.
 *
 * KEYS: one per limit, request after request. ARGV: now (ms, or '' for Redis TIME), an id unique to
 * this call, then per request: its number of limits, then per limit: algorithm (l = sliding log,
 * w = sliding window, g = GCRA), limit, windowMs, burst. Returns, per request: all allowed (1/0),
 * then per limit: allowed, remaining, resetMs, retryAfterMs (whole ms, rounded up). Times are
 * written with %.3f: Lua's number-to-string keeps 14 digits, a tenth of an epoch millisecond.
 */
import { createHash } from 'node:crypto';

export const DECIDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local eps, teps = 1e-9, 1e-3
local fmt = function(x) return string.format('%.3f', x) end
local ceil = function(x) return math.max(0, math.ceil(x - 1e-6)) end
local out = {}
local k, a = 0, 4
for r = 1, tonumber(ARGV[3]) do
  local n = tonumber(ARGV[a]); a = a + 1
  local head = #out + 1
  out[head] = 1
  local commit = {}
  for i = 1, n do
    local key, algo = KEYS[k + i], ARGV[a]
    local limit, w, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    a = a + 4
    local ok, remaining, reset, retry = 0, 0, 0, 0
    if algo == 'l' then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - w + teps))
      local c = redis.call('ZCARD', key)
      if c < limit then
        ok, remaining, reset = 1, limit - c - 1, w
      else
        local oldest = redis.call('ZRANGE', key, c - limit, c - limit, 'WITHSCORES')
        local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
        retry = tonumber(oldest[2]) + w - now
        reset = tonumber(newest[2]) + w - now
      end
      commit[i] = { 'l', key, w }
    elseif algo == 'w' then
      local h = redis.call('HMGET', key, 'i', 'p', 'c')
      local idx = math.floor(now / w)
      local si, p, c = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
      if si ~= idx then
        if si == idx - 1 then p = c else p = 0 end
        c = 0
      end
      local f = (now - idx * w) / w
      local est = p * (1 - f) + c
      local e = (1 - f) * w
      if est + 1 <= limit + eps then
        ok, remaining, reset = 1, math.max(0, math.floor(limit - est - 1 + eps)), e + w
      else
        if c > 0 then reset = e + w else reset = e end
        local room = limit - 1
        retry = -1
        if p > 0 and c < room then
          local f2 = 1 - (room - c) / p
          if f2 < 1 then retry = math.max(0, (f2 - f) * w) end
        end
        if retry < 0 then
          local g = 0
          if c > 0 then g = math.max(0, 1 - room / c) end
          retry = e + g * w
        end
      end
      commit[i] = { 'w', key, w, idx, p, c + 1 }
    else
      local t = w / limit
      local tau = (burst - 1) * t
      local tat = tonumber(redis.call('GET', key)) or now
      if tat < now then tat = now end
      local allowAt = tat - tau
      if now + teps >= allowAt then
        local nxt = tat + t
        ok, remaining, reset = 1, math.max(0, math.floor((now + tau - nxt + teps) / t) + 1), nxt - now
        commit[i] = { 'g', key, nxt }
      else
        reset, retry = tat - now, allowAt - now
      end
    end
    if ok == 0 then out[head] = 0 end
    out[#out + 1] = ok
    out[#out + 1] = remaining
    out[#out + 1] = ceil(reset)
    out[#out + 1] = ceil(retry)
  end
  if out[head] == 1 then
    for i = 1, n do
      local c = commit[i]
      if c[1] == 'l' then
        redis.call('ZADD', c[2], fmt(now), fmt(now) .. '/' .. ARGV[2] .. '.' .. r)
        redis.call('PEXPIRE', c[2], math.ceil(c[3]))
      elseif c[1] == 'w' then
        redis.call('HSET', c[2], 'i', c[4], 'p', c[5], 'c', c[6])
        redis.call('PEXPIRE', c[2], math.ceil(2 * c[3]))
      else
        redis.call('SET', c[2], fmt(c[3]), 'PX', math.max(1, math.ceil(c[3] - now)))
      end
    end
  end
  k = k + n
end
return out
`;

/** SHA-1 of the script, the name `EVALSHA` knows it by (Redis `SCRIPT LOAD`). */
export const DECIDE_SHA = createHash('sha1').update(DECIDE).digest('hex');
