-- The examples run as printed, against the local server.
local support = require("spec.support")

local LUA = assert(os.getenv("MODELGATES_TEST_LUA"), "run the suite with make test")

describe("examples/disable_workspace.lua", function()
  local handle = support.server()

  it("disables every enabled key of the workspace, and no other", function()
    local server = handle.server
    server:seed({ count = 30, workspace_id = "ws-a" })
    server:seed({ count = 2, workspace_id = "ws-b" })
    local command = ("MODELGATES_API_KEY=%s MODELGATES_BASE_URL=%s %s examples/disable_workspace.lua ws-a 2>&1"):format(
      server.management_key, server.url, LUA)
    local pipe = assert(io.popen(command))
    local output = pipe:read("*a")
    pipe:close()
    assert.matches("30 disabled, 0 failed", output)
    local disabled = { ["ws-a"] = 0, ["ws-b"] = 0 }
    for _, key in ipairs(server:keys()) do
      if key.disabled then disabled[key.workspace_id] = disabled[key.workspace_id] + 1 end
    end
    assert.are.same({ ["ws-a"] = 30, ["ws-b"] = 0 }, disabled)
    -- Each page was read once, then each key updated once.
    local updates = 0
    for _, request in ipairs(server:requests()) do
      if request.method == "PATCH" then updates = updates + 1 end
    end
    assert.are.equal(30, updates)
  end)
end)
