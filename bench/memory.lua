--- The module's memory across many sequential keys.get calls: RSS and Lua
--- heap (after a full collection) after FIRST and after SECOND calls.
--- Bounded in time as well: stops at SECONDS and says how many calls it made.
---
---   lua memory.lua BASE_URL FIRST SECOND SECONDS
--- Prints "rss_first_kib=... rss_second_kib=... heap_first_kib=... heap_second_kib=... calls=..."

local now = require("benchclock").now
local modelgates = require("modelgates")
local base, first, second, seconds = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])

local function rss_kib()
  local file = assert(io.open("/proc/self/status", "r"))
  local text = file:read("*a")
  file:close()
  return tonumber(text:match("VmRSS:%s*(%d+) kB"))
end

local client = modelgates.new({ api_key = "bench-key", server_url = base })
local get, hash = client.keys.get, ("5ad4233e72270dd6"):rep(4)
local started = now()
local calls, marks = 0, {}
for _, target in ipairs({ first, second }) do
  while calls < target and now() - started < seconds do
    get(hash)
    calls = calls + 1
  end
  collectgarbage("collect")
  collectgarbage("collect")
  marks[#marks + 1] = { rss = rss_kib(), heap = collectgarbage("count") }
end
io.write(
  ("rss_first_kib=%d rss_second_kib=%d heap_first_kib=%.1f heap_second_kib=%.1f calls=%d\n"):format(
    marks[1].rss,
    marks[2].rss,
    marks[1].heap,
    marks[2].heap,
    calls
  )
)
