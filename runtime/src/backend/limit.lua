-- One rate-limit decision, atomically: the four algorithms of `limit/algorithm.rs` on
-- microseconds. KEYS[1] the key's hash; ARGV: algorithm (0 fixed, 1 sliding, 2 token,
-- 3 leaky), now, period (both µs), count, burst, cost, block (µs).
-- Returns {allowed, limit, remaining, reset_after, retry_after, delay} (durations in µs).
-- Every value is a whole number kept below 2^53, so Lua's doubles are exact; numbers are
-- written back with %.0f because Redis would print them with 14 significant digits.
local key = KEYS[1]
local algo = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local per = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local burst = math.max(tonumber(ARGV[5]), 1)
local cost = tonumber(ARGV[6])
local block = tonumber(ARGV[7])

local function s(n) return string.format('%.0f', n) end
local function ceil_div(a, b)
  if b == 0 then return 0 end
  return math.ceil(a / b)
end

local st = redis.call('HMGET', key, 'a', 'b', 'x', 'y', 'z')
local blocked = tonumber(st[2]) or 0
local x, y, z = tonumber(st[3]), tonumber(st[4]), tonumber(st[5])
if tonumber(st[1]) ~= algo then x, y, z = nil, nil, nil end

local limit = burst
if algo <= 1 then limit = count end
if blocked > now then
  local wait = blocked - now
  return {0, limit, 0, wait, wait, 0}
end

local allowed, remaining, reset, retry, delay, keep = 0, 0, 0, 0, 0, 0
if algo == 0 then
  local idx = math.floor(now / per)
  local c = 0
  -- A clock that went back stays in the later window rather than granting a new one.
  if x ~= nil and x >= idx then idx = x; c = y end
  local window_end = math.max((idx + 1) * per - now, 0)
  if c + cost <= count then allowed = 1; c = c + cost end
  remaining = math.max(count - c, 0)
  if c > 0 then reset = window_end end
  if allowed == 0 then retry = window_end end
  x, y, z = idx, c, nil
  keep = window_end
elseif algo == 1 then
  local idx = math.floor(now / per)
  local prev, curr = 0, 0
  if x ~= nil then
    if x >= idx then idx = x; prev = y; curr = z
    elseif x + 1 == idx then prev = z end
  end
  local elapsed = math.min(math.max(now - idx * per, 0), per)
  local left = per - elapsed
  if prev * left + (curr + cost) * per <= count * per then allowed = 1 end
  if allowed == 1 then
    retry = 0
  elseif curr + cost <= count then
    local slack = count - curr - cost
    local needed = math.max(per - math.floor(slack * per / math.max(prev, 1)), 0)
    retry = math.max(needed - elapsed, 0)
  elseif cost <= count then
    local slack = count - cost
    retry = left + math.max(per - math.floor(slack * per / math.max(curr, 1)), 0)
  else
    retry = left + per
  end
  if allowed == 1 then curr = curr + cost end
  local used = prev * left + curr * per
  remaining = math.floor(math.max(count * per - used, 0) / per)
  if curr > 0 then reset = left + per elseif prev > 0 then reset = left end
  x, y, z = idx, prev, curr
  keep = left + per
else
  local cap = burst * per
  local need = cost * per
  local level, last
  if x ~= nil then level = math.min(x, cap); last = y
  elseif algo == 2 then level = cap; last = now
  else level = 0; last = now end
  if algo == 2 then
    if now > last then level = math.min(level + (now - last) * count, cap) end
    if level >= need then allowed = 1; level = level - need end
    reset = ceil_div(cap - level, count)
    if allowed == 0 then
      if need <= cap then retry = ceil_div(need - level, count) else retry = reset end
    end
    remaining = math.floor(level / per)
  else
    if now > last then level = math.max(level - (now - last) * count, 0) end
    if level + need <= cap then
      allowed = 1
      delay = ceil_div(level, count)
      level = level + need
    elseif need <= cap then
      retry = ceil_div(level + need - cap, count)
    else
      retry = ceil_div(level, count)
    end
    remaining = math.floor((cap - level) / per)
    reset = ceil_div(level, count)
  end
  x, y, z = level, math.max(now, last), nil
  keep = reset
end

if allowed == 0 and block > 0 then
  blocked = now + block
  remaining = 0
  retry = math.max(retry, block)
  reset = math.max(reset, block)
  keep = math.max(keep, block)
end

redis.call('HSET', key, 'a', s(algo), 'b', s(blocked), 'x', s(x), 'y', s(y))
if z ~= nil then redis.call('HSET', key, 'z', s(z)) else redis.call('HDEL', key, 'z') end
-- Forget the key once it is as good as fresh (plus a second of slack for clock skew).
redis.call('PEXPIRE', key, s(math.ceil(keep / 1000) + 1000))
return {allowed, limit, remaining, reset, retry, delay}
