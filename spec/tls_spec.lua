-- The same calls over https, with the local server's own CA.
local modelgates = require("modelgates")
local support = require("spec.support")

describe("over https", function()
  local handle = support.server({ tls = true })

  it("creates, gets and deletes a key when the CA is trusted", function()
    local server = handle.server
    assert.matches("^https://", server.url)
    assert.is_string(server.ca_file)
    local keys = server:client().keys
    local created = keys.create({ name = "over tls" }).data
    assert.are.equal("over tls", keys.get(created.hash).data.name)
    assert.are.same({ deleted = true }, (keys.delete(created.hash)))
  end)

  it("refuses a server whose certificate it cannot verify, before any request", function()
    local server = handle.server
    local untrusting = modelgates.new({ api_key = server.management_key, server_url = server.url,
      ca_file = "/nonexistent/ca.pem" })
    support.raises(modelgates.errors.ConnectionError, untrusting.keys.list)
    local system_roots = modelgates.new({ api_key = server.management_key, server_url = server.url })
    support.raises(modelgates.errors.ConnectionError, system_roots.keys.list)
    assert.are.same({}, server:requests())
  end)
end)
