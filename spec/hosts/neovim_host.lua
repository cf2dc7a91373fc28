-- A real `nvim --headless` (Debian's neovim, LuaJIT inside) loads the module
-- as a Neovim config would and runs the six operations against the local
-- server: with lua-cjson, with vim.json when cjson cannot be loaded, and from
-- a LuaRocks tree as rocks.nvim installs it.
local cjson = require("cjson")
local support = require("spec.support")
local process = require("spec.hosts.process")

local INIT = process.root .. "/spec/hosts/neovim_init.lua"
local ROCK_TREE = assert(os.getenv("MODELGATES_TEST_ROCK_TREE"), "run the host specs with make check-hosts")

describe("inside Neovim", function()
  local handle = support.server()

  local function run_nvim(env)
    local server = handle.server
    env.MODELGATES_TEST_ROOT = process.root
    env.MODELGATES_TEST_ROCK_TREE = env.MODELGATES_TEST_ROCK_TREE or ""
    env.MODELGATES_API_KEY = server.management_key
    env.MODELGATES_BASE_URL = server.url
    local output, status = process.run({
      "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin", "-c", "luafile " .. INIT,
    }, env, 60)
    assert.are.equal(0, status, output)
    local report = cjson.decode((assert(output:match("result=(%b{})"), output)))
    local json, source = report.json, report.source
    report.json, report.source = nil, nil
    assert.are.same({
      is_management_key = true,
      created_limit = 5,
      listed = 1,
      fetched_name = "from-neovim",
      updated_disabled = true,
      updated_has_limit = false,
      deleted = true,
      missing = "NotFoundResponseError",
    }, report)
    local calls = {}
    for _, request in ipairs(server:requests()) do
      calls[#calls + 1] = request.method .. " " .. request.path:gsub("/keys/%x+$", "/keys/HASH")
    end
    assert.are.same({
      "GET /api/v1/key", "POST /api/v1/keys", "GET /api/v1/keys", "GET /api/v1/keys/HASH",
      "PATCH /api/v1/keys/HASH", "DELETE /api/v1/keys/HASH", "GET /api/v1/keys/HASH",
    }, calls)
    assert.are.same({}, server:keys())
    return json, source
  end

  it("runs the six operations with lua-cjson, from the repository on the runtimepath", function()
    local json, source = run_nvim({})
    assert.are.equal("cjson", json)
    assert.are.equal("@" .. process.root .. "/lua/modelgates/init.lua", source)
  end)

  it("falls back to vim.json when cjson cannot be loaded", function()
    assert.are.equal("vim.json", (run_nvim({ MODELGATES_TEST_HIDE_CJSON = "1" })))
  end)

  it("runs from a LuaRocks tree, as rocks.nvim installs it", function()
    local json, source = run_nvim({ MODELGATES_TEST_ROCK_TREE = ROCK_TREE })
    assert.are.equal("cjson", json)
    assert.are.equal("@" .. ROCK_TREE .. "/share/lua/5.1/modelgates/init.lua", source)
  end)
end)
