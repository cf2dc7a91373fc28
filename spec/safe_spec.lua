-- modelgates.safe: the same API, returning nil, err instead of raising.
local safe = require("modelgates.safe")
local support = require("spec.support")

describe("modelgates.safe", function()
  local handle = support.server({ page_size = 2 })
  local server, keys

  before_each(function()
    server = handle.server
    keys = assert(safe.new({ api_key = server.management_key, server_url = server.url, retries = false })).keys
  end)

  it("returns the body and the response on success", function()
    local body, res = keys.create({ name = "safe" })
    assert.are.equal("safe", body.data.name)
    assert.are.equal(201, res.status)
    assert.are.equal("safe", keys:get(body.data.hash).data.name)
  end)

  it("returns nil and the typed error on an API error", function()
    local body, err = keys.get("missing")
    assert.is_nil(body)
    assert.are.equal(404, err.status_code)
    assert.is_true(err:is(safe.errors.NotFoundResponseError))
  end)

  it("returns nil and a ValidationError for bad arguments, sending nothing", function()
    local body, err = keys.create({ name = "x", limt = 1 })
    assert.is_nil(body)
    assert.are.equal("body.limt", err.field)
    assert.are.same({}, server:requests())
  end)

  it("returns nil and the error for bad client options", function()
    local client, err = safe.new({ timeout = "soon" })
    assert.is_nil(client)
    assert.is_true(err:is(safe.errors.ValidationError))
  end)

  it("each yields keys, and false, err once when a page fails", function()
    server:seed({ count = 3 })
    server:fault({ status = 500, body = "", path = "/api/v1/keys", count = 1 })
    local yielded = {}
    for key, err in keys.each() do
      yielded[#yielded + 1] = key == false and err.status_code or key.hash
    end
    assert.are.same({ 500 }, yielded)
    server:clear_faults()
    yielded = {}
    for key in keys.each() do
      yielded[#yielded + 1] = key
    end
    assert.are.equal(3, #yielded)
  end)

  it("each reports bad arguments through the loop", function()
    local results = {}
    for key, err in keys.each({ offset = "x" }) do
      results[#results + 1] = { key, err.field }
    end
    assert.are.same({ { false, "params.offset" } }, results)
  end)
end)
