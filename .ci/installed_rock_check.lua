-- Run from outside the repository with only a LuaRocks tree's paths: the
-- installed module loads and talks to the local server.
local modelgates = require("modelgates")
local testing = require("modelgates.testing")

local source = debug.getinfo(modelgates.new, "S").source
assert(not source:find("/lua/modelgates/", 1, true), "loaded from the repository: " .. source)

local server = testing.start_server()
local ok, err = pcall(function()
  local keys = server:client().keys
  local created = keys.create({ name = "installed" })
  assert(keys.get(created.data.hash).data.name == "installed")
  assert(keys.delete(created.data.hash).deleted == true)
end)
server:stop()
assert(ok, tostring(err))
print(("installed rock works: modelgates %s from %s"):format(modelgates.version, source:sub(2)))
