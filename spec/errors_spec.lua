-- Every error status maps to its type on every operation; errors carry the
-- response; transport failures and bad 2XX bodies have types of their own.
local modelgates = require("modelgates")
local support = require("spec.support")

local errors = modelgates.errors

local HASH = ("ab"):rep(32)

-- Each operation called with valid arguments.
local calls = {
  get_current_key_metadata = function(keys)
    return keys.get_current_key_metadata()
  end,
  list = function(keys)
    return keys.list({ offset = 0 })
  end,
  create = function(keys)
    return keys.create({ name = "x" })
  end,
  get = function(keys)
    return keys.get(HASH)
  end,
  update = function(keys)
    return keys.update(HASH, { name = "y" })
  end,
  delete = function(keys)
    return keys.delete(HASH)
  end,
}

local typed = {
  [400] = errors.BadRequestResponseError,
  [401] = errors.UnauthorizedResponseError,
  [403] = errors.ForbiddenResponseError,
  [404] = errors.NotFoundResponseError,
  [429] = errors.TooManyRequestsResponseError,
  [500] = errors.InternalServerResponseError,
  [418] = errors.APIError,
  [503] = errors.APIError,
}

local function error_body(status, message, metadata)
  return ('{"error":{"code":%d,"message":"%s","metadata":%s},"user_id":null}'):format(
    status,
    message,
    metadata or "null"
  )
end

support.each_transport("errors", function(it, transport)
  local handle = support.server()
  local server, keys

  -- Retries are the fault suite's subject: here one answer makes one error.
  before_each(function()
    server = handle.server
    keys = server:client({ retries = false }).keys
  end)

  for name, call in pairs(calls) do
    for status, class in pairs(typed) do
      it(
        ("%s: HTTP %d is a %s with status, message, code, headers and body"):format(name, status, class.name),
        function()
          local body = error_body(status, "went wrong " .. status, '{"reason":"test"}')
          server:fault({ status = status, headers = { ["X-Request-Id"] = "req-" .. status }, body = body })
          local err = support.raises(class, call, keys)
          assert.are.equal(class.name, err.name)
          assert.is_true(err:is(errors.APIError))
          assert.is_true(err:is(errors.ModelGatesError))
          assert.are.equal(status, err.status_code)
          assert.are.equal("went wrong " .. status, err.message)
          assert.are.equal(status, err.code)
          assert.are.same({ reason = "test" }, err.metadata)
          assert.are.equal("req-" .. status, err.headers["x-request-id"])
          assert.are.equal(body, err.body)
          assert.are.equal(1, err.attempts)
          assert.are.equal(class.name .. ": went wrong " .. status .. " (HTTP " .. status .. ")", tostring(err))
        end
      )
    end
  end

  it("are not of unrelated types", function()
    server:fault({ status = 404, body = error_body(404, "API key not found") })
    local err = support.raises(errors.NotFoundResponseError, keys.get, HASH)
    assert.is_false(err:is(errors.BadRequestResponseError))
    assert.is_false(err:is(errors.ConnectionError))
    assert.is_false(err:is(errors.ValidationError))
  end)

  describe("from the server itself", function()
    it("401 for an unknown key", function()
      local err = support.raises(
        errors.UnauthorizedResponseError,
        server:client({ api_key = "not-a-key" }).keys.get_current_key_metadata
      )
      assert.are.equal(401, err.status_code)
    end)

    it("403 for a normal key on a management endpoint", function()
      local normal = server:client({ api_key = server.key }).keys
      support.raises(errors.ForbiddenResponseError, normal.list)
      support.raises(errors.ForbiddenResponseError, normal.create, { name = "x" })
      assert.are.equal(0, #server:keys())
    end)

    it("404 with the API's message for an unknown hash", function()
      local err = support.raises(errors.NotFoundResponseError, keys.delete, HASH)
      assert.are.equal("string", type(err.message))
      assert.is_nil(err.metadata)
    end)
  end)

  describe("without a JSON error body", function()
    it("an HTML 502 from a proxy is an APIError with the reason and the raw page", function()
      local page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
      server:fault({ status = 502, headers = { ["Content-Type"] = "text/html" }, body = page })
      local err = support.raises(errors.APIError, keys.list)
      assert.are.equal(502, err.status_code)
      assert.are.equal("Bad Gateway", err.message)
      assert.are.equal(page, err.body)
      assert.is_nil(err.code)
    end)

    it("a 404 that is not the API's says server_url is likely wrong; the API's own 404 does not", function()
      server:fault({ status = 404, headers = { ["Content-Type"] = "text/html" }, body = "<h1>Not Found</h1>" })
      local err = support.raises(errors.NotFoundResponseError, keys.list)
      assert.matches(
        "^Not Found; the answer is not the API's, so server_url is likely wrong %(it ends in /api/v1",
        err.message
      )
      local missing = support.raises(errors.NotFoundResponseError, keys.get, HASH)
      assert.is_nil(missing.message:find("server_url", 1, true))
    end)

    it("an empty 401 is still an UnauthorizedResponseError", function()
      server:fault({ status = 401, body = "" })
      local err = support.raises(errors.UnauthorizedResponseError, keys.get, HASH)
      assert.are.equal("", err.body)
      assert.are.equal("Unauthorized", err.message)
    end)

    it("carries every header, names lower-cased whatever their length", function()
      local long = "X-" .. ("Long"):rep(30)
      server:fault({ status = 503, headers = { [long] = "first", ["X-Short"] = "second" }, body = "" })
      local err = support.raises(errors.APIError, keys.list)
      assert.are.equal("first", err.headers[long:lower()])
      assert.are.equal("second", err.headers["x-short"])
    end)

    it("a JSON body of another shape keeps the raw body", function()
      server:fault({ status = 500, body = '["oops"]' })
      local err = support.raises(errors.InternalServerResponseError, keys.create, { name = "x" })
      assert.are.equal('["oops"]', err.body)
      assert.are.equal("Internal Server Error", err.message)
    end)
  end)

  describe("ResponseValidationError for a success status with the wrong body", function()
    for _, case in ipairs({
      { "invalid JSON", "{not json" },
      { "truncated JSON", '{"data":{"hash":"h"' },
      { "an empty body", "" },
      { "an array", "[]" },
      { "a missing data field", '{"items":[]}' },
      { "data of the wrong type", '{"data":"x"}' },
      { "records without hashes", '{"data":[{"name":"x"}]}' },
    }) do
      it(case[1], function()
        server:fault({ status = 200, body = case[2] })
        local err = support.raises(errors.ResponseValidationError, keys.list)
        assert.are.equal(200, err.status_code)
        assert.are.equal(case[2], err.body)
        assert.are.equal("string", type(err.message))
      end)
    end

    it("a create answered 200 instead of 201", function()
      server:fault({ status = 200, body = '{"data":{"hash":"h"},"key":"k"}' })
      local err = support.raises(errors.ResponseValidationError, keys.create, { name = "x" })
      assert.matches("expected HTTP 201, got HTTP 200", err.message, 1, true)
    end)

    it("a create without the plaintext key", function()
      server:fault({ status = 201, body = '{"data":{"hash":"h"}}' })
      local err = support.raises(errors.ResponseValidationError, keys.create, { name = "x" })
      assert.matches('"key"', err.message, 1, true)
    end)
  end)

  describe("transport failures", function()
    it("a closed port is a ConnectionError with the transport's reason", function()
      local client = modelgates.new({ api_key = "k", server_url = "http://127.0.0.1:1/api/v1" })
      local err = support.raises(errors.ConnectionError, client.keys.list)
      assert.are.equal("ConnectionError", err.name)
      assert.is_true(err.transient)
      assert.is_false(err.request_sent)
      if transport.libcurl then
        assert.are.equal(7, err.curl_code)
      end
      assert.matches("127.0.0.1", err.message, 1, true)
      assert.is_false(err:is(errors.APIError))
    end)

    it("a slow answer past the timeout is a TimeoutError", function()
      server:fault({ delay = 3 })
      local err = support.raises(errors.TimeoutError, keys.list, nil, { timeout = 0.3 })
      assert.is_true(err:is(errors.ConnectionError))
      assert.are.equal("timeout", err.limit)
      assert.is_true(err.request_sent)
      if transport.libcurl then
        assert.are.equal(28, err.curl_code)
      end
    end)
  end)
end)
