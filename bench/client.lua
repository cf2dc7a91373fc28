--- One client making sequential keys.get calls, timed; prints one line
--- "calls=N seconds=S rate=R" as bench/curl_loop.c does.
---
---   lua client.lua MODE BASE_URL [--count N] [--seconds S] [--warmup N] [--ca FILE] [--key K]
---
--- MODE:
---   module   this module: modelgates.new{...}.keys.get(hash)
---   luacurl  by hand over Debian's lua-curl (one reused easy handle) and lua-cjson
---   curlcli  the `curl` command per call through io.popen, and lua-cjson
---   null     the loop alone (for callgrind: the cost of the harness)
--- Every call must return the key record; anything else raises.

local mode, base = arg[1], arg[2]
local options = { count = 10000, seconds = 2, warmup = 1, key = "bench-key" }
for i = 3, #arg, 2 do
  local name = assert(arg[i]:match("^%-%-(%w+)$"), "bad option " .. arg[i])
  options[name] = assert(arg[i + 1], "missing value for " .. arg[i])
end
local count, seconds, warmup = tonumber(options.count), tonumber(options.seconds), tonumber(options.warmup)
assert(mode and base, "usage: client.lua MODE BASE_URL [--count N] [--seconds S] [--warmup N] [--ca FILE] [--key K]")

local HASH = ("5ad4233e72270dd6"):rep(4)
local USER_AGENT = "lua-modelgates/0.1.0 (" .. _VERSION .. "; libcurl/bench)"

local clock = require("benchclock").now

local call
if mode == "module" then
  local modelgates = require("modelgates")
  local client = modelgates.new({ api_key = options.key, server_url = base, ca_file = options.ca })
  local keys = client.keys
  call = function()
    local body = keys.get(HASH)
    if body.data.hash == nil then
      error("no hash")
    end
  end
elseif mode == "luacurl" then
  local curl = require("curl")
  local cjson = require("cjson")
  local easy = curl.easy_init()
  local parts, n, status = {}, 0, nil
  easy:setopt(curl.OPT_URL, base .. "/keys/" .. HASH)
  easy:setopt(curl.OPT_HTTPHEADER, {
    "Authorization: Bearer " .. options.key,
    "Accept: application/json",
    "User-Agent: " .. USER_AGENT,
  })
  if options.ca then
    easy:setopt(curl.OPT_CAINFO, options.ca)
  end
  easy:setopt(curl.OPT_WRITEFUNCTION, function(data)
    n = n + 1
    parts[n] = data
    return #data
  end)
  -- lua-curl has no getinfo: the status comes from the status line.
  easy:setopt(curl.OPT_HEADERFUNCTION, function(line)
    local code = line:match("^HTTP/%S+ (%d+)")
    if code then
      status = tonumber(code)
    end
    return #line
  end)
  call = function()
    n, status = 0, nil
    local ok, err = easy:perform()
    if not ok and err then
      error(err)
    end
    if status ~= 200 then
      error("HTTP " .. tostring(status))
    end
    local body = cjson.decode(table.concat(parts, "", 1, n))
    if body.data.hash == nil then
      error("no hash")
    end
  end
elseif mode == "curlcli" then
  local cjson = require("cjson")
  local command = table.concat({
    "curl -sS --fail",
    "-H 'Authorization: Bearer " .. options.key .. "'",
    "-H 'Accept: application/json'",
    "-A '" .. USER_AGENT .. "'",
    options.ca and ("--cacert '" .. options.ca .. "'") or "",
    "'" .. base .. "/keys/" .. HASH .. "'",
  }, " ")
  call = function()
    local pipe = assert(io.popen(command, "r"))
    local text = pipe:read("*a")
    pipe:close()
    local body = cjson.decode(text)
    if body.data.hash == nil then
      error("no hash")
    end
  end
elseif mode == "null" then
  call = function() end
else
  error("unknown mode " .. tostring(mode))
end

for _ = 1, warmup do
  call()
end
local start = clock()
local calls, elapsed = 0, 0
while calls < count and elapsed < seconds do
  call()
  calls = calls + 1
  elapsed = clock() - start
end
io.write(("calls=%d seconds=%.6f rate=%.1f\n"):format(calls, elapsed, calls / elapsed))
