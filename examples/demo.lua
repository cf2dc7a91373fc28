-- `make demo`: starts the bundled local ModelGates server, runs the
-- quickstart against it, and stops the server whatever happens.
local testing = require("modelgates.testing")

local server = testing.start_server()
print("local ModelGates server at " .. server.url)
local quickstart = assert(loadfile("examples/quickstart.lua"))
local ok, err = pcall(quickstart, server:client().keys)
server:stop()
if not ok then
  io.stderr:write("demo failed: " .. tostring(err) .. "\n")
  os.exit(1)
end
print("demo finished")
