--- Against the bundled local ModelGates server (lua-http on lua5.1):
---   its ceiling, measured with bench/curl_loop (sequential, and 8 connections at once);
---   connections the module opens for 1,000 sequential keys.get, counted by the server
---   (server:stats().connections), over http and https.
--- Prints "key=value" lines for bench/report.lua.
---
---   lua conn_and_ceiling.lua CURL_LOOP SECONDS CALLS

local testing = require("modelgates.testing")
local now = require("benchclock").now
local curl_loop, seconds, calls = arg[1], tonumber(arg[2]), tonumber(arg[3])
local lua_version = _VERSION:match("%d+%.%d+")

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function loop_rate(url, extra)
  local pipe = assert(io.popen(table.concat({ curl_loop, shell_quote(url), extra }, " ")))
  local line = pipe:read("*a")
  pipe:close()
  return assert(tonumber(line:match("rate=([%d.]+)")), "curl_loop failed: " .. line)
end

for _, tls in ipairs({ false, true }) do
  local scheme = tls and "https" or "http"
  local server = testing.start_server({ tls = tls })
  local ok, err = pcall(function()
    local hash = server:seed({ count = 1 })[1].hash
    local url = server.url .. "/keys/" .. hash
    local auth = "--key "
      .. shell_quote(server.management_key)
      .. (server.ca_file and (" --ca " .. shell_quote(server.ca_file)) or "")
    if not tls then
      io.write(
        ("mg.%s.seq_rate=%.1f\n"):format(
          scheme,
          loop_rate(url, ("--seconds %g --count 100000 %s"):format(seconds, auth))
        )
      )
      io.write(
        ("mg.%s.parallel_rate=%.1f\n"):format(
          scheme,
          loop_rate(url, ("--seconds %g --count 1000000 --parallel 8 %s"):format(seconds, auth))
        )
      )
    end
    server:reset()
    hash = server:seed({ count = 1 })[1].hash
    local before = server:stats()
    local client = server:client()
    local started = now()
    for _ = 1, calls do
      client.keys.get(hash)
    end
    local elapsed = now() - started
    local after = server:stats()
    client:close()
    io.write(("conn.mg.%s.module%s=%d\n"):format(scheme, lua_version, after.connections - before.connections))
    io.write(("conn.mg.%s.module%s.requests=%d\n"):format(scheme, lua_version, after.requests - before.requests))
    io.write(("mg.%s.module%s_rate=%.1f\n"):format(scheme, lua_version, calls / elapsed))
  end)
  server:stop()
  if not ok then
    error(err, 0)
  end
end
