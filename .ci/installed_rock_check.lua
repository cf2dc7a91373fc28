-- Run from outside the repository with only a LuaRocks tree's paths: the
-- installed module loads and talks to the local server.
local modelgates = require("modelgates")
local testing = require("modelgates.testing")

local source = debug.getinfo(modelgates.new, "S").source
assert(not source:find("/lua/modelgates/", 1, true), "loaded from the repository: " .. source)
local testing_source = debug.getinfo(testing.start_server, "S").source
assert(not testing_source:find("/lua/modelgates/", 1, true), "loaded from the repository: " .. testing_source)
-- The server is the one the testing rock installed (the Makefile's launcher
-- of a tree's bin/modelgates-server), never the checkout's.
local checkout = debug.getinfo(1, "S").source:match("^@(.*)/%.ci/installed_rock_check%.lua$")
local server_command = assert(os.getenv("MODELGATES_SERVER"), "MODELGATES_SERVER: the installed server")
local launcher = assert(io.open(server_command, "r"))
local installed_server = launcher:read("*a"):match("exec (%S+/bin/modelgates%-server) ")
launcher:close()
assert(
  installed_server and not installed_server:find(checkout .. "/bin/", 1, true),
  "not an installed server: " .. server_command
)

local server = testing.start_server()
local ok, err = pcall(function()
  local keys = server:client().keys
  local created = keys.create({ name = "installed" })
  assert(keys.get(created.data.hash).data.name == "installed")
  assert(keys.delete(created.data.hash).deleted == true)
end)
server:stop()
assert(ok, tostring(err))
print(
  ("installed rocks work: modelgates %s from %s, the server from %s"):format(
    modelgates.version,
    source:sub(2),
    installed_server
  )
)
