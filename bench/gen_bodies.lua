--- Writes the fixed bodies the benchmark's server answers with:
---   key.json   { "data": key record }            (GET /api/v1/keys/{hash})
---   list.json  { "data": [ 10,000 key records ] } (GET /api/v1/keys)
--- Records are shaped as wire.md describes: numbers whole and fractional, nulls,
--- both timestamp forms, expires_at sometimes absent. Deterministic.
---
---   lua gen_bodies.lua DIR [COUNT]

local dir = assert(arg[1], "usage: gen_bodies.lua DIR [COUNT]")
local count = tonumber(arg[2] or "10000")

local seed = 20250824
local function random(n) -- Park-Miller, exact in doubles, so every Lua version writes the same bytes
  seed = (seed * 16807) % 2147483647
  return math.floor(seed / 256) % n
end

local function hex(chars)
  local out = {}
  for i = 1, chars do
    local d = random(16)
    out[i] = ("0123456789abcdef"):sub(d + 1, d + 1)
  end
  return table.concat(out)
end

local function money(scale)
  if random(4) == 0 then
    return "0"
  end
  return ("%d.%06d"):format(random(scale), random(1000000))
end

local function timestamp(i)
  local day, second = 1 + i % 28, i % 86400
  local clock = ("%02d:%02d:%02d"):format(math.floor(second / 3600) % 24, math.floor(second / 60) % 60, second % 60)
  if i % 2 == 0 then
    return ('"2025-08-%02dT%sZ"'):format(day, clock)
  end
  return ('"2025-08-%02dT%s.%06d+00:00"'):format(day, clock, random(1000000))
end

local function record(i)
  local limited = random(3) ~= 0
  local limit = limited and tostring(10 * (1 + random(100))) or "null"
  local fields = {
    ('"hash":"%s"'):format(hex(64)),
    ('"name":"bench-key-%05d"'):format(i),
    ('"label":"sk-mg-v1-%s...%s"'):format(hex(3), hex(3)),
    ('"disabled":%s'):format(random(10) == 0 and "true" or "false"),
    ('"limit":%s'):format(limit),
    ('"limit_remaining":%s'):format(limited and money(500) or "null"),
    ('"limit_reset":%s'):format(limited and ({ '"daily"', '"weekly"', '"monthly"', "null" })[1 + random(4)] or "null"),
    ('"include_byok_in_limit":%s'):format(random(2) == 0 and "true" or "false"),
    ('"usage":%s'):format(money(1000)),
    ('"usage_daily":%s'):format(money(10)),
    ('"usage_weekly":%s'):format(money(70)),
    ('"usage_monthly":%s'):format(money(300)),
    ('"byok_usage":%s'):format(money(100)),
    ('"byok_usage_daily":%s'):format(money(1)),
    ('"byok_usage_weekly":%s'):format(money(7)),
    ('"byok_usage_monthly":%s'):format(money(30)),
    ('"created_at":%s'):format(timestamp(i)),
    ('"updated_at":%s'):format(random(2) == 0 and timestamp(i + 7) or "null"),
    ('"creator_user_id":%s'):format(random(2) == 0 and ('"user_%s"'):format(hex(24)) or "null"),
    ('"external_user":%s'):format(random(4) == 0 and ('"ext-%d"'):format(random(100000)) or "null"),
    ('"workspace_id":"%s"'):format("default"),
  }
  if random(3) == 0 then
    fields[#fields + 1] = ('"expires_at":%s'):format(random(2) == 0 and '"2027-12-31T23:59:59Z"' or "null")
  end
  return "{" .. table.concat(fields, ",") .. "}"
end

local function write(name, text)
  local file = assert(io.open(dir .. "/" .. name, "wb"))
  assert(file:write(text))
  file:close()
end

write("key.json", '{"data":' .. record(0) .. "}")
local records = {}
for i = 1, count do
  records[i] = record(i)
end
write("list.json", '{"data":[' .. table.concat(records, ",") .. "]}")
