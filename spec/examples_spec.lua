-- The examples run as printed, against the local server.
local support = require("spec.support")

local LUA = support.lua_command

describe("examples/disable_workspace.lua", function()
  local handle = support.server()

  it("disables every enabled key of the workspace, and no other", function()
    local server = handle.server
    server:seed({ count = 30, workspace_id = "ws-a" })
    server:seed({ count = 2, workspace_id = "ws-b" })
    local command = ("MODELGATES_API_KEY=%s MODELGATES_BASE_URL=%s %s examples/disable_workspace.lua ws-a 2>&1"):format(
      server.management_key,
      server.url,
      LUA
    )
    local pipe = assert(io.popen(command))
    local output = pipe:read("*a")
    pipe:close()
    assert.matches("30 disabled, 0 failed", output)
    local disabled = { ["ws-a"] = 0, ["ws-b"] = 0 }
    for _, key in ipairs(server:keys()) do
      if key.disabled then
        disabled[key.workspace_id] = disabled[key.workspace_id] + 1
      end
    end
    assert.are.same({ ["ws-a"] = 30, ["ws-b"] = 0 }, disabled)
    -- Each page was read once, then each key updated once.
    local updates = 0
    for _, request in ipairs(server:requests()) do
      if request.method == "PATCH" then
        updates = updates + 1
      end
    end
    assert.are.equal(30, updates)
  end)
end)

describe("modelgates.main", function()
  local handle = support.server()

  --- Runs `script` in a new process of the suite's interpreter; returns its stdout, stderr and
  --- exit status.
  local function run_script(script)
    local stderr_path = os.tmpname()
    local stdout, status = support.run_command(
      ("MODELGATES_API_KEY=%s MODELGATES_BASE_URL=%s %s -e %q 2>%s"):format(
        handle.server.management_key,
        handle.server.url,
        LUA,
        script,
        stderr_path
      )
    )
    local stderr = support.read_file(stderr_path)
    os.remove(stderr_path)
    return stdout, stderr, status
  end

  it("prints an uncaught error object's one line and a traceback, and exits with 1, on every Lua", function()
    local stdout, stderr, status = run_script([[
      local modelgates = require("modelgates")
      modelgates.main(function() modelgates.keys.get(("ab"):rep(32)) end)
      print("not reached")]])
    assert.are.equal("", stdout)
    assert.matches("^[^\n]*: NotFoundResponseError: [^\n]+ %(HTTP 404%)\nstack traceback:\n", stderr)
    assert.is_nil(stderr:find("error object is not a string", 1, true))
    assert.are.equal(1, status)
  end)

  it("returns what the function returns, arguments passed through", function()
    local stdout, _, status = run_script([[
      local modelgates = require("modelgates")
      print(modelgates.main(function(a, b, c) return #modelgates.keys.list().data, a, b, c end, 1, nil, 3))]])
    assert.are.equal("0\t1\tnil\t3\n", stdout)
    assert.are.equal(0, status)
  end)
end)

describe("examples/quickstart.lua", function()
  local handle = support.server()

  it("runs with the command in its header, from a checkout", function()
    local header = support.read_file("examples/quickstart.lua"):match("\n%-%-   (LUA_PATH=[^\n]+)\n")
    -- Placeholders: the key, this suite's interpreter and build; the server comes from the environment.
    local build = rawget(_G, "jit") and "luajit" or _VERSION:match("%d+%.%d+")
    local command = header
      :gsub("MODELGATES_API_KEY=%.%.%.", "MODELGATES_API_KEY=" .. handle.server.management_key)
      :gsub("build/5%.4/", "build/" .. build .. "/")
      :gsub(" lua5%.4 ", " " .. LUA .. " ")
    local output, status =
      support.run_command(("env -u LUA_PATH -u LUA_CPATH MODELGATES_BASE_URL=%s %s"):format(handle.server.url, command))
    assert.are.equal(0, status, output)
    assert.matches("deleted", output)
  end)
end)
