-- A host that forks after a call (nginx's master to its workers): the
-- child opens a connection of its own instead of sharing the parent's.
local support = require("spec.support")

-- Built by `make test` from spec/fork_check.c, for the Lua under test; a
-- plain busted or luarocks test has none, and says so.
local FORK_CHECK = os.getenv("MODELGATES_TEST_FORK_CHECK")
local built = FORK_CHECK and io.open(FORK_CHECK, "r")
if built then
  built:close()
end
if not built then
  describe("after a fork", function()
    pending("skipped because the fork check (spec/fork_check.c) is built only by make test")
  end)
  io.stderr:write(
    "spec/fork_spec.lua: skipped because the fork check (spec/fork_check.c) is built only by " .. "make test\n"
  )
  return
end

--- Runs the fork check against `server` in `mode` ("easy", "gather",
--- "multi" or "close"); true when it exited 0.
local function fork_check(server, mode)
  local command = ("FORK_CHECK_MODE=%s FORK_CHECK_KEY=%s FORK_CHECK_URL=%s FORK_CHECK_CA=%s %s"):format(
    mode,
    server.management_key,
    server.url,
    server.ca_file or "",
    FORK_CHECK
  )
  local ok, _, code = os.execute(command)
  return (type(ok) == "number" and ok or code) == 0
end

for _, tls in ipairs({ false, true }) do
  describe("after a fork" .. (tls and " over https" or ""), function()
    local handle = support.server({ tls = tls })

    it("the child opens its own connection and the parent keeps its own", function()
      local server = handle.server
      assert.is_true(fork_check(server, "easy"))
      assert.are.equal(3, #server:requests())
      -- One connection before the fork, reused by the parent after it; one
      -- more for the child.
      assert.are.equal(2, server:stats().connections)
    end)

    it("a gather works in the child and, after it, in the parent", function()
      local server = handle.server
      assert.is_true(fork_check(server, "gather"))
      -- Two lists before the fork, two in the child, two in the parent.
      assert.are.equal(6, #server:requests())
    end)

    it("a child that closes its Lua state leaves the parent's connection open", function()
      local server = handle.server
      assert.is_true(fork_check(server, "close"))
      -- One call before the fork, one in the parent after it, on one connection.
      assert.are.equal(2, #server:requests())
      assert.are.equal(1, server:stats().connections)
    end)

    it("a core.multi made before the fork starts over in the child, and the parent keeps its connection", function()
      local server = handle.server
      assert.is_true(fork_check(server, "multi"))
      assert.are.equal(3, #server:requests())
      assert.are.equal(2, server:stats().connections)
    end)
  end)
end
