-- The API as data: an endpoint is one entry in modelgates.api, run by the generic engine with no
-- code of its own. The local server's control listing (GET /__control/keys, which the module does
-- not wrap) stands in for a 7th endpoint of the API.
local api = require("modelgates.api")
local modelgates = require("modelgates")
local support = require("spec.support")

describe("a 7th endpoint", function()
  local handle = support.server()

  before_each(function()
    api.operations.list_every_workspace = {
      doc = "Every key of every workspace.",
      doc_returns = { class = "ModelGatesKeyListBody", text = "`{ data = { key, ... } }`" },
      method = "GET",
      path = "/__control/keys",
      success = 200,
      errors = { 401, 500 },
      query_class = "ModelGatesEveryWorkspaceParams",
      query = { include_disabled = { type = "boolean", doc = "include disabled keys" } },
      returns = { data = "key_records" },
    }
  end)

  after_each(function()
    api.operations.list_every_workspace = nil
  end)

  it("is one entry in modelgates.api: called, checked and answered like the six", function()
    local server = handle.server
    server:seed({ count = 2, workspace_id = "ws-a" })
    server:seed({ count = 1, workspace_id = "ws-b" })
    -- The control API is at the server's root, not under /api/v1.
    local keys = server:client({ server_url = server.root_url }).keys
    local page, res = keys.list_every_workspace({ include_disabled = true })
    assert.are.equal(3, #page.data)
    assert.are.equal(200, res.status)
    assert.are.equal(1, res.attempts)
    local err =
      support.raises(modelgates.errors.ValidationError, keys.list_every_workspace, { include_disabeld = true })
    assert.are.equal("params.include_disabeld", err.field)
    assert.matches("^modelgates%.keys%.list_every_workspace: ", err.message)
  end)
end)
