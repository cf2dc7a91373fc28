-- Every operation and every parameter, checked on the wire through the local
-- server's request log.
local modelgates = require("modelgates")
local support = require("spec.support")

local has_integers = math.type ~= nil

support.each_transport("modelgates.keys", function(it)
  local handle = support.server()
  local server, keys

  before_each(function()
    server = handle.server
    keys = server:client().keys
  end)

  local function create_key(fields)
    local body = keys.create(fields or { name = "a key" })
    server:clear_requests()
    return body.data
  end

  describe("get_current_key_metadata", function()
    it("returns the metadata of the key in use and sends GET /key", function()
      local body, res = keys.get_current_key_metadata()
      assert.is_true(body.data.is_management_key)
      assert.are.equal("string", type(body.data.label))
      assert.are.equal(200, res.status)
      assert.are.equal(1, res.attempts)
      assert.matches("application/json", res.headers["content-type"], 1, true)
      local request = support.only_request(server)
      assert.are.equal("GET", request.method)
      assert.are.equal("/api/v1/key", request.path)
      assert.are.equal("", request.body)
      assert.are.equal("Bearer " .. server.management_key, request.headers.authorization)
      assert.are.equal("application/json", request.headers.accept)
      assert.is_nil(request.headers["content-type"])
      assert.matches("^lua%-modelgates/" .. modelgates.version:gsub("%.", "%%.") .. " ", request.headers["user-agent"])
    end)

    it("answers for a normal key too", function()
      local body = server:client({ api_key = server.key }).keys.get_current_key_metadata()
      assert.is_false(body.data.is_management_key)
    end)
  end)

  describe("create", function()
    it("sends every field and returns the record and the plaintext key with 201", function()
      local fields = {
        name = "ci",
        limit = 50,
        limit_reset = "monthly",
        include_byok_in_limit = true,
        expires_at = "2027-12-31T23:59:59Z",
        workspace_id = "ws-1",
        creator_user_id = "user-1",
        external = { user = "ext-user", api_key = "ext-key" },
      }
      local body, res = keys.create(fields)
      assert.are.equal(201, res.status)
      assert.matches("^%x+$", body.data.hash)
      assert.are.equal(64, #body.data.hash)
      assert.are.equal("string", type(body.key))
      local record = body.data
      assert.are.equal("ci", record.name)
      assert.are.equal(50, record.limit)
      assert.are.equal("monthly", record.limit_reset)
      assert.is_true(record.include_byok_in_limit)
      assert.are.equal("2027-12-31T23:59:59Z", record.expires_at)
      assert.are.equal("ws-1", record.workspace_id)
      assert.are.equal("user-1", record.creator_user_id)
      assert.are.equal("ext-user", record.external_user)
      assert.is_false(record.disabled)
      local request = support.only_request(server)
      assert.are.equal("POST", request.method)
      assert.are.equal("/api/v1/keys", request.path)
      assert.are.equal("application/json", request.headers["content-type"])
      assert.are.same(fields, support.raw_json(request.body))
    end)

    it("returns whole numbers as integers and leaves JSON nulls out", function()
      local record = keys.create({ name = "n", limit = 5 }).data
      if has_integers then
        assert.are.equal("integer", math.type(record.limit))
        assert.are.equal("integer", math.type(record.usage))
      end
      assert.is_nil(record.updated_at)
      assert.is_nil(rawget(record, "updated_at"))
    end)

    it("sends modelgates.null as JSON null and leaves absent fields out", function()
      local record = keys.create({
        name = "no limit",
        limit = modelgates.null,
        limit_reset = modelgates.null,
        expires_at = modelgates.null,
        creator_user_id = modelgates.null,
      }).data
      assert.is_nil(record.limit)
      local sent = support.raw_json(support.only_request(server).body)
      assert.are.equal(support.json_null, sent.limit)
      assert.are.equal(support.json_null, sent.limit_reset)
      assert.are.equal(support.json_null, sent.expires_at)
      assert.are.equal(support.json_null, sent.creator_user_id)
      assert.is_nil(sent.include_byok_in_limit)
      assert.is_nil(sent.workspace_id)
    end)

    it("sends a numeric expires_at as RFC 3339 UTC", function()
      local record = keys.create({ name = "t", expires_at = 1830297599 }).data
      assert.are.equal("2027-12-31T23:59:59Z", record.expires_at)
      assert.are.equal("2027-12-31T23:59:59Z", support.raw_json(support.only_request(server).body).expires_at)
    end)
  end)

  describe("list", function()
    it("returns the keys of the default workspace, newest first", function()
      local older = create_key({ name = "older" })
      local newer = create_key({ name = "newer" })
      create_key({ name = "elsewhere", workspace_id = "ws-2" })
      local body, res = keys.list()
      assert.are.equal(200, res.status)
      assert.are.equal(2, #body.data)
      assert.are.equal(newer.hash, body.data[1].hash)
      assert.are.equal(older.hash, body.data[2].hash)
      local request = support.only_request(server)
      assert.are.equal("GET", request.method)
      assert.are.equal("/api/v1/keys", request.path)
      assert.are.equal("", request.query)
    end)

    it("sends include_disabled, offset and workspace_id in the query", function()
      local hidden = create_key({ name = "hidden", workspace_id = "ws 2" })
      keys.update(hidden.hash, { disabled = true })
      create_key({ name = "visible", workspace_id = "ws 2" })
      server:clear_requests()
      local body = keys.list({ include_disabled = true, offset = 1, workspace_id = "ws 2" })
      assert.are.equal(1, #body.data)
      assert.are.equal(hidden.hash, body.data[1].hash)
      assert.are.equal("include_disabled=true&offset=1&workspace_id=ws%202", support.only_request(server).query)
    end)

    it("leaves disabled keys out unless asked, and sends false as false", function()
      local hidden = create_key({ name = "hidden" })
      keys.update(hidden.hash, { disabled = true })
      server:clear_requests()
      assert.are.equal(0, #keys.list({ include_disabled = false }).data)
      assert.are.equal("include_disabled=false", support.only_request(server).query)
      assert.are.equal(1, #keys.list({ include_disabled = true }).data)
    end)

    it("sends no offset for modelgates.null", function()
      keys.list({ offset = modelgates.null })
      assert.are.equal("", support.only_request(server).query)
    end)

    it("works as keys.list() and as keys:list()", function()
      create_key()
      assert.are.equal(1, #keys.list().data)
      assert.are.equal(1, #keys:list().data)
      assert.are.equal(1, #keys:list({ offset = 0 }).data)
    end)
  end)

  describe("get", function()
    it("returns one key by hash", function()
      local created = create_key({ name = "one" })
      local body, res = keys.get(created.hash)
      assert.are.equal(200, res.status)
      assert.are.same(created, body.data)
      local request = support.only_request(server)
      assert.are.equal("GET", request.method)
      assert.are.equal("/api/v1/keys/" .. created.hash, request.path)
    end)

    it("works as keys:get(hash)", function()
      local created = create_key()
      assert.are.equal(created.hash, keys:get(created.hash).data.hash)
    end)

    for _, case in ipairs({
      { "../x", "/api/v1/keys/%2E%2E%2Fx" },
      { "..", "/api/v1/keys/%2E%2E" },
      { "a/b?c=d", "/api/v1/keys/a%2Fb%3Fc%3Dd" },
      { "with space#frag", "/api/v1/keys/with%20space%23frag" },
      { "ключ", "/api/v1/keys/%D0%BA%D0%BB%D1%8E%D1%87" },
      { "%41", "/api/v1/keys/%2541" },
    }) do
      it("percent-encodes the hash " .. case[1] .. " into one path segment", function()
        support.raises(modelgates.errors.NotFoundResponseError, keys.get, case[1])
        local request = support.only_request(server)
        assert.are.equal(case[2], request.path)
        assert.are.equal("", request.query)
      end)
    end
  end)

  describe("update", function()
    it("sends every field with PATCH and returns the updated record", function()
      local created = create_key({ name = "before", limit = 10 })
      local fields =
        { name = "after", disabled = true, limit = 75, limit_reset = "daily", include_byok_in_limit = true }
      local body, res = keys.update(created.hash, fields)
      assert.are.equal(200, res.status)
      assert.are.equal("after", body.data.name)
      assert.is_true(body.data.disabled)
      assert.are.equal(75, body.data.limit)
      assert.are.equal("daily", body.data.limit_reset)
      assert.is_true(body.data.include_byok_in_limit)
      local request = support.only_request(server)
      assert.are.equal("PATCH", request.method)
      assert.are.equal("/api/v1/keys/" .. created.hash, request.path)
      assert.are.same(fields, support.raw_json(request.body))
    end)

    it("removes the limit for modelgates.null and keeps it when absent", function()
      local created = create_key({ name = "limited", limit = 10, limit_reset = "weekly" })
      local renamed = keys.update(created.hash, { name = "renamed" }).data
      assert.are.equal(10, renamed.limit)
      assert.are.equal("weekly", renamed.limit_reset)
      assert.is_nil(support.raw_json(server:requests()[1].body).limit)
      local unlimited = keys.update(created.hash, { limit = modelgates.null, limit_reset = modelgates.null }).data
      assert.is_nil(unlimited.limit)
      assert.is_nil(unlimited.limit_reset)
      assert.are.equal(support.json_null, support.raw_json(server:requests()[2].body).limit)
      assert.is_nil(keys.get(created.hash).data.limit)
    end)
  end)

  describe("delete", function()
    it("deletes with DELETE and returns { deleted = true }", function()
      local created = create_key()
      local body, res = keys.delete(created.hash)
      assert.are.same({ deleted = true }, body)
      assert.are.equal(200, res.status)
      local request = support.only_request(server)
      assert.are.equal("DELETE", request.method)
      assert.are.equal("/api/v1/keys/" .. created.hash, request.path)
      support.raises(modelgates.errors.NotFoundResponseError, keys.get, created.hash)
      assert.are.equal(0, #server:keys())
    end)
  end)

  describe("responses", function()
    it("pass fields the module does not know through untouched", function()
      server:fault({ status = 200, body = '{"data":{"hash":"h","name":"n","future":{"x":[1,2]}},"extra":"yes"}' })
      local body = keys.get("h")
      assert.are.same({ x = { 1, 2 } }, body.data.future)
      assert.are.equal("yes", body.extra)
    end)

    it("keep both timestamp forms as the API sent them", function()
      server:fault({
        status = 200,
        body = '{"data":{"hash":"h","created_at":"2025-08-24T10:30:00.363244+00:00",'
          .. '"updated_at":"2025-08-24T10:30:00Z"}}',
      })
      local record = keys.get("h").data
      assert.are.equal("2025-08-24T10:30:00.363244+00:00", record.created_at)
      assert.are.equal("2025-08-24T10:30:00Z", record.updated_at)
    end)

    it("turn nulls into nil and whole numbers into integers, at any depth", function()
      server:fault({
        status = 200,
        body = '{"data":[{"hash":"h","limit":null,"usage":2.5,"nested":{"n":7.0,"z":null}}]}',
      })
      local record = keys.list().data[1]
      assert.is_nil(record.limit)
      assert.are.equal(2.5, record.usage)
      assert.are.same({ n = 7 }, record.nested)
      if has_integers then
        assert.are.equal("integer", math.type(record.nested.n))
      end
    end)
  end)

  describe("per-call options", function()
    it("send extra headers and a user agent that still names the module", function()
      local client =
        server:client({ headers = { ["X-Trace"] = "client", ["X-Client"] = "1" }, user_agent = "my-app/1.0" })
      client.keys.list(nil, { headers = { ["x-trace"] = "call" } })
      local request = support.only_request(server)
      assert.are.equal("call", request.headers["x-trace"])
      assert.are.equal("1", request.headers["x-client"])
      assert.matches("^my%-app/1%.0 lua%-modelgates/", request.headers["user-agent"])
    end)

    it("override the client's server and key", function()
      local lost = modelgates.new({ api_key = "wrong", server_url = "http://127.0.0.1:9/api/v1" })
      local body = lost.keys.get_current_key_metadata({ api_key = server.management_key, server_url = server.url })
      assert.is_true(body.data.is_management_key)
    end)
  end)
end)

describe("an operation added as data", function()
  local handle = support.server()

  it("takes its path parameters in path_params order, each checked and encoded", function()
    local api = require("modelgates.api")
    api.operations.two_params = {
      method = "GET",
      path = "/keys/{hash}/sub/{name}",
      path_params = { "name", "hash" },
      success = 200,
      errors = { 404 },
      returns = { data = "object" },
    }
    local ok, err = pcall(function()
      local server = handle.server
      local keys = server:client({ retries = false }).keys
      support.raises(modelgates.errors.NotFoundResponseError, keys.two_params, "a b", "h/1")
      assert.are.equal("/api/v1/keys/h%2F1/sub/a%20b", support.only_request(server).path)
      local invalid = support.raises(modelgates.errors.ValidationError, keys.two_params, "x", 5)
      assert.are.equal("hash", invalid.field)
    end)
    api.operations.two_params = nil
    assert(ok, err)
  end)
end)
