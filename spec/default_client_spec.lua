-- modelgates.keys, the default client, takes its key and server from the
-- environment at the first call. Run in a child process to set them.
local support = require("spec.support")

local LUA = support.lua_command

local function run_lua(env, code)
  local file = os.tmpname()
  local script = assert(io.open(file, "w"))
  script:write(code)
  script:close()
  local command = ("env -u MODELGATES_API_KEY -u MODELGATES_BASE_URL %s %s %s 2>&1"):format(env, LUA, file)
  local output = assert(io.popen(command)):read("*a")
  os.remove(file)
  return output
end

describe("the default client modelgates.keys", function()
  local handle = support.server()

  it("uses MODELGATES_API_KEY and MODELGATES_BASE_URL", function()
    local server = handle.server
    local output = run_lua(
      ("MODELGATES_API_KEY=%s MODELGATES_BASE_URL=%s"):format(server.management_key, server.url),
      [[
      local keys = require("modelgates").keys
      print(keys.get_current_key_metadata().data.is_management_key)
      print(#keys.list().data)
    ]]
    )
    assert.are.equal("true\n0\n", output)
    assert.are.equal(2, #server:requests())
  end)

  it("loads without a key and says how to give one at the first call", function()
    local output = run_lua(
      "",
      [[
      local modelgates = require("modelgates")
      print("loaded")
      local ok, err = pcall(modelgates.keys.list)
      print(ok, err.name, err.field)
      print(err.message)
    ]]
    )
    local lines = {}
    for line in output:gmatch("[^\n]+") do
      lines[#lines + 1] = line
    end
    assert.are.equal("loaded", lines[1])
    assert.are.equal("false\tValidationError\tapi_key", lines[2])
    assert.matches("api_key", lines[3], 1, true)
    assert.matches("MODELGATES_API_KEY", lines[3], 1, true)
  end)
end)
