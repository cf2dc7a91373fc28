--- One 10,000-key page from the bundled local server (which gzips what a
--- request accepts), with compression (the default) and without, taking
--- turns in the same run: the bytes of the body on the wire (the server's
--- count) and the time of keys.list (transfer, inflate, decode, checks).
--- The server keeps the gzip of the last body it compressed, so the time is
--- the client's side and the loopback's, not the server's deflate.
--- Prints "key=value" lines for bench/report.lua.
---
---   lua compression.lua REPS VERSION   (VERSION: the Makefile's, for the keys)

local testing = require("modelgates.testing")
local now = require("benchclock").now
local reps = tonumber(arg[1] or "5")
local lua_version = assert(arg[2], "usage: compression.lua REPS VERSION")
local KEYS = 10000

local server = testing.start_server({ page_size = KEYS })
local ok, err = pcall(function()
  server:seed({ count = KEYS })
  local contenders = {
    { name = "gzip", client = server:client({ compression = true }) },
    { name = "identity", client = server:client({ compression = false }) },
  }
  for _, contender in ipairs(contenders) do
    contender.times = {}
    assert(#contender.client.keys.list().data == KEYS) -- warm: connection, and the server's gzip
  end
  for rep = 1, reps do
    for _, contender in ipairs(contenders) do
      collectgarbage("collect")
      local before = server:stats().body_bytes_sent
      local started = now()
      local page, res = contender.client.keys.list()
      contender.times[rep] = now() - started
      contender.wire_bytes = server:stats().body_bytes_sent - before
      contender.decoded_bytes = #res.body
      assert(#page.data == KEYS)
    end
  end
  for _, contender in ipairs(contenders) do
    table.sort(contender.times)
    local prefix = ("gzip.%s%s"):format(contender.name, lua_version)
    io.write(("%s.wire_bytes=%d\n"):format(prefix, contender.wire_bytes))
    io.write(("%s.decoded_bytes=%d\n"):format(prefix, contender.decoded_bytes))
    io.write(("%s.ms=%.3f\n"):format(prefix, contender.times[math.ceil(reps / 2)] * 1000))
    contender.client:close()
  end
end)
server:stop()
if not ok then
  error(err, 0)
end
