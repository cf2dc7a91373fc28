--- Many keys.get calls at once, against a server that answers each after a
--- fixed latency (bench/run.sh's section 5). Prints one line of key=value.
---
---   lua gather.lua MODE BASE_URL [--calls N] [--concurrency N] [--max_host_connections N]
---                  [--seconds S] [--ca FILE] [--key K]
---
--- MODE:
---   gather      modelgates.gather of N tasks, one keys.get each, `concurrency`
---               at once (and `max_host_connections` if given); bounded by
---               the gather's own timeout of S seconds
---   sequential  client.keys.get N times, one after the other; stops early
---               when S seconds have passed (the line says how many ran)
---   curlconfig  writes a config file for `curl --parallel` fetching the same
---               N URLs with the same headers (the limit), to stdout
---
--- The N URLs are BASE_URL/keys/<hash i>, i = 1..N: N distinct 64-hex-digit
--- hashes, the same for every mode. Every call must return the key record;
--- anything else raises.

local mode, base = arg[1], arg[2]
local options = { calls = 1000, concurrency = 50, seconds = 120, key = "bench-key" }
for i = 3, #arg, 2 do
  local name = assert(arg[i]:match("^%-%-([%w_]+)$"), "bad option " .. arg[i])
  options[name] = assert(arg[i + 1], "missing value for " .. arg[i])
end
assert(
  mode and base,
  "usage: gather.lua MODE BASE_URL [--calls N] [--concurrency N] "
    .. "[--max_host_connections N] [--seconds S] [--ca FILE] [--key K]"
)
local calls, seconds = tonumber(options.calls), tonumber(options.seconds)

local USER_AGENT = "lua-modelgates/0.1.0 (" .. _VERSION .. "; libcurl/bench)"

local function hash_of(i)
  return ("%08x"):format(i):rep(8)
end

if mode == "curlconfig" then
  -- One transfer per url/output pair; the options before them apply to all.
  -- no-progress-meter, not silent: curl 7.88.1 shows its --parallel meter
  -- even with --silent (curl/curl#10573), and silent would hide errors.
  local function quoted(text)
    return '"' .. text:gsub('[\\"]', "\\%0") .. '"'
  end
  local out = {
    "no-progress-meter",
    "header = " .. quoted("Authorization: Bearer " .. options.key),
    "header = " .. quoted("Accept: application/json"),
    "user-agent = " .. quoted(USER_AGENT),
    'write-out = "%{http_code}\\n"',
  }
  if options.ca then
    out[#out + 1] = "cacert = " .. quoted(options.ca)
  end
  for i = 1, calls do
    out[#out + 1] = "url = " .. quoted(base .. "/keys/" .. hash_of(i))
    out[#out + 1] = 'output = "/dev/null"'
  end
  io.write(table.concat(out, "\n"), "\n")
  return
end

local clock = require("benchclock").now
local modelgates = require("modelgates")
local client = modelgates.new({ api_key = options.key, server_url = base, ca_file = options.ca })
local keys = client.keys

local function check(body)
  if type(body) ~= "table" or type(body.data) ~= "table" or body.data.hash == nil then
    error("no hash")
  end
end

if mode == "gather" then
  local tasks = {}
  for i = 1, calls do
    local hash = hash_of(i)
    tasks[i] = function()
      return keys.get(hash)
    end
  end
  local start = clock()
  local results = modelgates.gather(tasks, {
    concurrency = tonumber(options.concurrency),
    max_host_connections = tonumber(options.max_host_connections),
    timeout = seconds,
  })
  local elapsed = clock() - start
  for i = 1, calls do
    local result = results[i]
    if not result.ok then
      error(("task %d: %s"):format(i, tostring(result.error)), 0)
    end
    check(result[1])
  end
  io.write(("calls=%d seconds=%.6f\n"):format(calls, elapsed))
elseif mode == "sequential" then
  local start = clock()
  local done, elapsed = 0, 0
  while done < calls and elapsed < seconds do
    done = done + 1
    check(keys.get(hash_of(done)))
    elapsed = clock() - start
  end
  io.write(("calls=%d seconds=%.6f\n"):format(done, elapsed))
else
  error("unknown mode " .. tostring(mode))
end
client:close()
