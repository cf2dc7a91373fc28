--- One 10,000-key page, in a fresh process: wall time and peak memory of
---   module  keys.list() from the server (transfer, decode, checks included)
---   cjson   bare cjson.decode of the same bytes, read from a file first (the
---           limit: its time is the decode alone, its memory the bytes plus
---           what the decode adds)
--- Peak memory: VmHWM after the operation minus VmRSS before it, the peak
--- having been reset first (/proc/self/clear_refs); and the Lua heap it
--- leaves (collectgarbage "count" delta, the page still referenced).
--- Time: cold (this first operation of a fresh process, which pays for
--- mapping its memory) and warm (the median of 5 more in the same process).
--- Prints "cold_ms=... warm_ms=... peak_kib=... heap_kib=... records=...".
---
---   lua list.lua module BASE_URL [CA_FILE|-] [WARM_REPS]
---   lua list.lua cjson FILE [-] [WARM_REPS]
--- (WARM_REPS defaults to 5; bench/run.sh also runs it under callgrind with
--- 0 and 1 to count the instructions of one warm operation.)

local now = require("benchclock").now
local mode, target = arg[1], arg[2]
local ca_file = arg[3] ~= "-" and arg[3] or nil
local warm_reps = tonumber(arg[4] or "5")

local function status_kib(field)
  local file = assert(io.open("/proc/self/status", "r"))
  local text = file:read("*a")
  file:close()
  return tonumber(text:match(field .. ":%s*(%d+) kB"))
end

local function reset_peak()
  local file = io.open("/proc/self/clear_refs", "w")
  if file then
    file:write("5")
    file:close()
  end
end

local operation
local bytes_kib = 0 -- what the limit holds before its peak is measured
if mode == "module" then
  local modelgates = require("modelgates")
  local client = modelgates.new({ api_key = "bench-key", server_url = target, ca_file = ca_file })
  client.keys.get(("5ad4233e72270dd6"):rep(4)) -- the connection (and TLS session) exist before
  operation = function()
    return client.keys.list()
  end
elseif mode == "cjson" then
  local cjson = require("cjson")
  local file = assert(io.open(target, "rb"))
  local text = file:read("*a")
  file:close()
  -- The limit holds the bytes and the decoded page, nothing else: the
  -- bytes are read before the peak is reset, and their size added to it.
  bytes_kib = #text / 1024
  operation = function()
    return cjson.decode(text)
  end
else
  error("usage: list.lua module BASE_URL [CA_FILE] | cjson FILE")
end

--- The first operation of this process: its time, peak memory and heap;
--- the page is dropped when it returns.
local function cold_run()
  collectgarbage("collect")
  collectgarbage("collect")
  reset_peak()
  local rss_before, heap_before = status_kib("VmRSS"), collectgarbage("count")
  local started = now()
  local page = operation()
  local elapsed = now() - started
  local peak = status_kib("VmHWM")
  collectgarbage("collect")
  local heap_after = collectgarbage("count")
  assert(type(page.data) == "table" and page.data[10000] and page.data[10000].hash, "not a 10,000-key page")
  return elapsed, peak - rss_before, heap_after - heap_before, #page.data
end

--- The same operation again, memory already mapped.
local function warm_run()
  collectgarbage("collect")
  local started = now()
  local page = operation()
  local elapsed = now() - started
  assert(page.data[10000])
  return elapsed
end

local cold, peak_kib, heap_kib, records = cold_run()
local warm = {}
for i = 1, warm_reps do
  warm[i] = warm_run()
end
table.sort(warm)
io.write(
  ("cold_ms=%.3f warm_ms=%.3f peak_kib=%d heap_kib=%.0f records=%d\n"):format(
    cold * 1000,
    (warm[math.ceil(#warm / 2)] or 0) * 1000,
    math.floor(peak_kib + bytes_kib),
    heap_kib + bytes_kib,
    records
  )
)
