-- A host that forks after a call (nginx's master to its workers): the
-- child opens a connection of its own instead of sharing the parent's.
local support = require("spec.support")

local CC_FLAGS = os.getenv("MODELGATES_TEST_EMBED_FLAGS")

local function build_fork_check()
  local binary = os.tmpname()
  local ok = os.execute(("cc -std=c99 -o %s spec/fork_check.c %s 2>&1"):format(binary, CC_FLAGS))
  assert(ok == true or ok == 0, "could not build spec/fork_check.c")
  return binary
end

for _, tls in ipairs({ false, true }) do
  describe("after a fork" .. (tls and " over https" or ""), function()
    local handle = support.server({ tls = tls })
    local binary

    setup(function() binary = build_fork_check() end)
    teardown(function() os.remove(binary) end)

    it("the child opens its own connection and the parent keeps its own", function()
      local server = handle.server
      local command = ("FORK_CHECK_KEY=%s FORK_CHECK_URL=%s FORK_CHECK_CA=%s %s"):format(
        server.management_key, server.url, server.ca_file or "", binary)
      local ok, _, code = os.execute(command)
      assert.are.equal(0, type(ok) == "number" and ok or code)
      assert.are.equal(3, #server:requests())
      -- One connection before the fork, reused by the parent after it; one
      -- more for the child.
      assert.are.equal(2, server:stats().connections)
    end)
  end)
end
