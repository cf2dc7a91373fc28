-- A host that forks after a call (nginx's master to its workers): the
-- child opens a connection of its own instead of sharing the parent's.
local support = require("spec.support")

-- Built by `make test` from spec/fork_check.c, for the Lua under test.
local FORK_CHECK = assert(os.getenv("MODELGATES_TEST_FORK_CHECK"), "run the suite with make test")

for _, tls in ipairs({ false, true }) do
  describe("after a fork" .. (tls and " over https" or ""), function()
    local handle = support.server({ tls = tls })

    it("the child opens its own connection and the parent keeps its own", function()
      local server = handle.server
      local command = ("FORK_CHECK_KEY=%s FORK_CHECK_URL=%s FORK_CHECK_CA=%s %s"):format(
        server.management_key, server.url, server.ca_file or "", FORK_CHECK)
      local ok, _, code = os.execute(command)
      assert.are.equal(0, type(ok) == "number" and ok or code)
      assert.are.equal(3, #server:requests())
      -- One connection before the fork, reused by the parent after it; one
      -- more for the child.
      assert.are.equal(2, server:stats().connections)
    end)
  end)
end
