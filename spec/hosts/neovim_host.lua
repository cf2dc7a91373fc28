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
      "nvim",
      "--headless",
      "-u",
      "NONE",
      "-i",
      "NONE",
      "-n",
      "--noplugin",
      "-c",
      "luafile " .. INIT,
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
      "GET /api/v1/key",
      "POST /api/v1/keys",
      "GET /api/v1/keys",
      "GET /api/v1/keys/HASH",
      "PATCH /api/v1/keys/HASH",
      "DELETE /api/v1/keys/HASH",
      "GET /api/v1/keys/HASH",
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

describe("modelgates.nvim inside Neovim", function()
  local handle = support.server()

  local function run_script(server, script, argv_tail, env)
    env.MODELGATES_TEST_ROOT = process.root
    env.MODELGATES_BASE_URL = server.url
    local argv = { "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin" }
    for _, word in ipairs(argv_tail or { "-c", "luafile " .. script }) do
      argv[#argv + 1] = word
    end
    return process.run(argv, env, 90)
  end

  it("never freezes the editor, calls back from vim.schedule, cancels, reuses connections", function()
    local server = handle.server
    local keys = server:client().keys
    local hashes = {}
    for _, name in ipairs({ "slow", "trio", "gathered", "cancel", "retry", "late", "stall" }) do
      hashes[name] = keys.create({ name = name }).data.hash
    end
    local function path(name)
      return "/api/v1/keys/" .. hashes[name]
    end
    server:fault({ path = path("slow"), delay = 2, count = 1 })
    server:fault({ path = path("trio"), delay = 0.5, count = 3 })
    server:fault({ path = path("gathered"), delay = 0.5, count = 3 })
    server:fault({ path = path("cancel"), delay = 2, count = 1 })
    server:fault({ path = path("retry"), status = 503, count = 1 })
    server:fault({ path = path("late"), delay = 2, count = 1 })
    server:fault({ path = path("stall"), body_delay = 2, count = 1 })
    local output, status = run_script(server, process.root .. "/spec/hosts/neovim_async.lua", nil, {
      MODELGATES_API_KEY = server.management_key,
      MODELGATES_TEST_SERVER_ROOT = server.root_url,
      MODELGATES_TEST_HASHES = cjson.encode(hashes),
    })
    assert.are.equal(0, status, output)
    local report = cjson.decode((assert(output:match("result=(%b{})"), output)))

    -- run returns at once; the editor's timer ticks while the call waits 2 s.
    assert.is_true(report.run_returned_ms < 100, "run took " .. report.run_returned_ms .. " ms")
    assert.are.equal(hashes.slow, report.slow.hash)
    assert.is_true(report.slow.ticks >= 15, "the timer ticked " .. report.slow.ticks .. " times")
    assert.is_true(report.slow.getcwd, "vim.fn failed in the callback")

    -- Three runs at once take about one latency (0.5 s), not three.
    for _, finished in ipairs(report.three) do
      assert.is_nil(finished.error)
      assert.is_true(finished.ms < 1200, "a run of three took " .. finished.ms .. " ms")
    end
    -- A gather inside a run: its three calls at once, the editor ticking.
    assert.are.same({ "gathered", "gathered", "gathered" }, report.gathered.values[1])
    assert.is_true(report.gathered.ms < 1200, "the gather took " .. report.gathered.ms .. " ms")
    assert.is_true(report.gathered.ticks >= 3, "the timer ticked " .. report.gathered.ticks .. " times")
    assert.are.same({ 7 }, report.second_run.values)
    assert.are.equal(0, report.connections_opened_by_second_run)

    assert.is_true(report.cancel_returned)
    assert.are.same({
      calls = 1,
      error = "CancelledError",
      request_sent = true,
      after_the_call = false,
      running = false,
      cancel_again = false,
    }, report.cancel)

    assert.are.same({ error = "NotFoundResponseError", status = 404, values = {} }, report.not_found)
    assert.are.same({ error = "ValidationError", values = {} }, report.invalid)
    assert.are.same({ error = "plain", values = {} }, report.plain)
    assert.are.same({ values = { 1, cjson.null, "three" } }, report.values)

    assert.are.same({ values = { 2 } }, report.retried)
    assert.are.same({ error = "TimeoutError", limit = "timeout", values = {} }, report.timeout)
    assert.are.same({ error = "TimeoutError", limit = "stall_timeout", values = {} }, report.stall)
    assert.are.same({ values = { 7 } }, report.each)

    assert.are.equal("nofile", report.user_command.buftype)
    assert.are.equal(7, #report.user_command.lines)
    assert.matches("^slow +%x+  usage %$0%.00$", report.user_command.lines[7])

    assert.is_true(report.notified.error_level)
    assert.matches("NotFoundResponseError", report.notified.message)
    assert.is_nil(report.notified.message:find(server.management_key, 1, true))
  end)

  it(
    "runs the suite's shared cases (support.shared_spec_files: operations to proxies) through modelgates.nvim",
    function()
      local output, status = run_script(handle.server, process.root .. "/spec/hosts/neovim_cases.lua", nil, {})
      local failed = {}
      for line in output:gmatch("not ok [^\n]+") do
        failed[#failed + 1] = line
      end
      assert.are.same({}, failed, output)
      assert.are.equal(0, status, output)
      local passed = select(2, output:gsub("\nok %d+", ""))
      assert.is_true(passed > 100, "only " .. passed .. " cases passed:\n" .. output)
    end
  )

  local function checkhealth(server, api_key)
    local out = os.tmpname()
    local output, status = run_script(server, nil, {
      "--cmd",
      "set rtp^=" .. process.root,
      "--cmd",
      ("lua package.cpath = %q .. package.cpath"):format(process.root .. "/build/luajit/?.so;"),
      "-c",
      "checkhealth modelgates",
      "-c",
      "write! " .. out,
      "-c",
      "qall!",
    }, { MODELGATES_API_KEY = api_key })
    assert.are.equal(0, status, output)
    local file = assert(io.open(out))
    local text = file:read("*a")
    file:close()
    os.remove(out)
    return text
  end

  it(":checkhealth modelgates reports the core, libcurl, the JSON library and one call", function()
    local server = handle.server
    local text = checkhealth(server, server.management_key)
    assert.matches("OK: C core [%d.]+ loaded in LuaJIT", text)
    assert.matches("OK: libcurl [%d.]+ with OpenSSL", text)
    assert.matches("OK: JSON: lua%-cjson", text)
    assert.matches("OK: MODELGATES_API_KEY is set", text)
    assert.matches("OK: get_current_key_metadata answered in %d+ ms %(a management key%)", text)
    assert.is_nil(text:find(server.management_key, 1, true))
    assert.is_nil(text:find("ERROR", 1, true))
  end)

  it(":checkhealth modelgates warns when no API key is set", function()
    local text = checkhealth(handle.server, "")
    assert.matches("WARNING: MODELGATES_API_KEY is not set", text)
    assert.is_nil(text:find("get_current_key_metadata", 1, true))
  end)
end)
