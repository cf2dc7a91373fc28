-- What hostile servers and careless callers must not break (issue 13's
-- broken promises), on every transport.
local modelgates = require("modelgates")
local core = require("modelgates.core")
local support = require("spec.support")

local errors = modelgates.errors

support.each_transport("hostile servers and careless callers", function(it)
  local handle = support.server()
  local server

  before_each(function()
    server = handle.server
  end)

  describe("a tiny time limit", function()
    it("still bounds the call: below a millisecond is never 'no limit'", function()
      server:fault({ delay = 3 })
      local client = server:client({
        timeout = 0.0004,
        stall_timeout = 0.0004,
        connect_timeout = 0.0004,
        retries = false,
      })
      local started = core.now()
      local err = support.raises(errors.TimeoutError, client.keys.list)
      assert.is_true(core.now() - started < 2, "the call took " .. (core.now() - started) .. " s")
      assert.is_string(err.limit)
    end)
  end)

  describe("a caller's headers", function()
    local reserved = {
      "AUTHORIZATION",
      "authorization",
      "Content-Length",
      "Transfer-Encoding",
      "Connection",
      "Host",
      "Expect",
      "TE",
      "Upgrade",
      "Keep-Alive",
    }
    for _, name in ipairs(reserved) do
      it("refuse " .. name .. " before anything is sent", function()
        local err = support.raises(errors.ValidationError, modelgates.new, { headers = { [name] = "0" } })
        assert.are.equal("options.headers." .. name, err.field)
        support.raises(errors.ValidationError, server:client().keys.list, nil, { headers = { [name] = "0" } })
        assert.are.equal(0, #server:requests())
      end)
    end

    it("refuse every control character but tab in a value, and send tab", function()
      for _, value in ipairs({ "a\1b", "a\27[31m", "a\127", "a\rb", "a\nb", "a\0b" }) do
        support.raises(errors.ValidationError, modelgates.new, { headers = { ["X-Note"] = value } })
        support.raises(errors.ValidationError, modelgates.new, { user_agent = value })
      end
      server:client({ headers = { ["X-Note"] = "a\tb" } }).keys.list()
      assert.are.equal("a\tb", support.only_request(server).headers["x-note"])
    end)
  end)

  describe("an error's one-line form", function()
    it("escapes a server's control characters and keeps the raw text in the field", function()
      local message = "line one\r\nInjected: yes \27[31mred"
      server:fault({ status = 500, body = core.json_encode({ error = { code = 500, message = message } }) })
      local err = support.raises(errors.InternalServerResponseError, server:client({ retries = false }).keys.list)
      local line = tostring(err)
      assert.is_nil(line:find("[%z\1-\31\127]"), line)
      assert.matches("line one\\x0D\\x0AInjected: yes \\x1B[31mred", line, 1, true)
      assert.are.equal(message, err.message)
    end)

    it("cuts a huge message, which the field keeps whole", function()
      local message = ("m"):rep(1024 * 1024)
      server:fault({ status = 400, body = core.json_encode({ error = { code = 400, message = message } }) })
      local err = support.raises(errors.BadRequestResponseError, server:client().keys.list)
      assert.is_true(#tostring(err) < 400)
      assert.matches("%.%.%. %(cut%)", tostring(err))
      assert.are.equal(#message, #err.message)
    end)
  end)

  describe("an error status with a body over max_response_bytes", function()
    for _, chunked in ipairs({ false, true }) do
      it("raises the error of its status, the body cut at the limit" .. (chunked and ", chunked" or ""), function()
        local body = core.json_encode({ error = { code = 404, message = ("x"):rep(2 * 1024 * 1024) } })
        server:fault({ status = 404, body = body, chunked = chunked })
        local client = server:client({ max_response_bytes = 4096, retries = false })
        local err = support.raises(errors.NotFoundResponseError, client.keys.get, ("ab"):rep(32))
        assert.is_true(err.body_truncated)
        assert.are.equal(body:sub(1, 4096), err.body)
        assert.matches("cut at max_response_bytes", err.message, 1, true)
      end)
    end

    it("a success status over it is still refused", function()
      server:fault({
        method = "GET",
        path = "/api/v1/keys",
        status = 200,
        body = core.json_encode({ data = {}, pad = ("x"):rep(8192) }),
      })
      local err = support.raises(
        errors.ResponseValidationError,
        server:client({ max_response_bytes = 4096, retries = false }).keys.list
      )
      assert.are.equal("max_response_bytes", err.limit)
    end)
  end)

  describe("a list page with null in it", function()
    for _, page in ipairs({
      '{"data":[{"hash":"a"},null,{"hash":"c"}]}',
      '{"data":[{"hash":"a"},null]}',
      '{"data":[null]}',
    }) do
      it("is refused, never shortened: " .. page, function()
        server:fault({ method = "GET", path = "/api/v1/keys", status = 200, body = page })
        local err = support.raises(errors.ResponseValidationError, server:client({ retries = false }).keys.list)
        assert.matches('response field "data": expected an array of key records', err.message, 1, true)
      end)
    end
  end)

  describe("a debug hook that raises", function()
    it("never changes the outcome: the created key comes back, and stderr says what the hook raised", function()
      local lines, reported = 0, {}
      local client = server:client({
        debug = function()
          lines = lines + 1
          error("the hook broke")
        end,
      })
      local stderr = io.stderr
      -- luacheck: ignore 122
      io.stderr = {
        write = function(self, ...)
          for _, text in ipairs({ ... }) do
            reported[#reported + 1] = text
          end
          return self
        end,
      }
      local ok, created = pcall(client.keys.create, { name = "kept" })
      io.stderr = stderr -- luacheck: ignore 122
      assert(ok, tostring(created))
      assert.matches("modelgates: the debug hook raised: .*the hook broke", table.concat(reported))
      assert.are.equal("kept", created.data.name)
      assert.is_string(created.key)
      assert.is_true(lines >= 2)
      assert.are.equal(1, #server:keys())
    end)
  end)

  describe("a client's close", function()
    it("refuses a wrong self with a ValidationError", function()
      local client = server:client()
      support.raises(errors.ValidationError, client.close, nil)
      support.raises(errors.ValidationError, client.close, "client")
      support.raises(errors.ValidationError, client.close, {})
      client:close()
    end)
  end)
end)

describe("retry.server_hint reads only decimal seconds or an HTTP date", function()
  local retry = require("modelgates.retry")
  local rows = {
    { { ["retry-after"] = "3" }, 3 },
    { { ["retry-after"] = "2.5" }, 2.5 },
    { { ["retry-after"] = "0x3" }, nil },
    { { ["retry-after"] = "3e1" }, nil },
    { { ["retry-after"] = " 3" }, nil },
    { { ["retry-after"] = "-1" }, nil },
    { { ["retry-after"] = "Thu, 01 Jan 1970 00:00:10 GMT" }, 10 },
    { { ["retry-after-ms"] = "0x10" }, nil },
    { { ["retry-after-ms"] = "1500" }, 1.5 },
    { { ["x-ratelimit-reset"] = "0x10" }, nil },
    { { ["x-ratelimit-reset"] = "20" }, 20 },
  }
  for _, row in ipairs(rows) do
    local name, value = next(row[1])
    it(("%s: %q -> %s"):format(name, value, tostring(row[2])), function()
      assert.are.equal(row[2], retry.server_hint(row[1], 0))
    end)
  end
end)

support.each_transport("what a careless caller or a hostile server sends, refused early", function(it)
  local handle = support.server()

  it("a body with a NUL after its JSON is not taken for the JSON before it", function()
    local server = handle.server
    local client = server:client({ retries = false })
    local hash = client.keys.create({ name = "nul" }).data.hash
    server:fault({
      path = "/api/v1/keys/" .. hash,
      status = 200,
      body = '{"data":{"hash":"' .. hash .. '","name":"nul"}}\0<html>',
    })
    local err = support.raises(errors.ResponseValidationError, client.keys.get, hash)
    assert.matches("NUL", err.message)
  end)

  it("a hash of a megabyte, before anything is sent", function()
    local server = handle.server
    local err = support.raises(errors.ValidationError, server:client().keys.get, ("a"):rep(1024 * 1024))
    assert.are.equal("hash", err.field)
    assert.are.equal(0, #server:requests())
  end)

  it("integers past what the API or the core can carry, before anything is sent", function()
    local server = handle.server
    local keys = server:client().keys
    support.raises(errors.ValidationError, keys.list, { offset = 2 ^ 63 })
    support.raises(errors.ValidationError, keys.create, { name = "big", limit = 2 ^ 53 + 2 })
    support.raises(errors.ValidationError, modelgates.new, { max_response_bytes = 2 ^ 33 })
    support.raises(errors.ValidationError, modelgates.new, { retries = { max_attempts = 1e9 } })
    assert.are.equal(0, #server:requests())
  end)
end)

support.each_transport("numbers on the wire", function(it)
  local handle = support.server()

  for _, row in ipairs({
    { 123456789012345, "123456789012345" },
    { 2 ^ 53, "9007199254740992" },
    { 0.1, "0.1" },
    { 50.25, "50.25" },
    { 1 / 3, "0.3333333333333333" },
  }) do
    it(("are sent exactly: limit = %s"):format(row[2]), function()
      local server = handle.server
      server:client().keys.create({ name = "exact", limit = row[1] })
      local body = support.only_request(server).body
      assert.matches('"limit":' .. row[2]:gsub("%.", "%%.") .. "[,}]", body)
    end)
  end
end)

describe("core.json_encode", function()
  local rows = {
    { { a = 1 }, '{"a":1}' },
    { { 1, "two", false }, '[1,"two",false]' },
    { {}, "{}" },
    { { s = 'q"\\\n\1/é' }, '{"s":"q\\"\\\\\\u000a\\u0001/é"}' },
    { { n = core.null }, '{"n":null}' },
    { -0.5, "-0.5" },
  }
  for _, row in ipairs(rows) do
    it("writes " .. row[2], function()
      assert.are.equal(row[2], core.json_encode(row[1]))
    end)
  end

  local refused = {
    ["a sparse array"] = { 1, nil, 3 },
    ["an array with a string key"] = { 1, 2, x = 3 },
    ["a number key"] = { [1.5] = true },
    ["a function"] = { f = print },
    ["NaN"] = { n = 0 / 0 },
    ["an infinity"] = { n = math.huge },
  }
  for name, value in pairs(refused) do
    it("refuses " .. name, function()
      assert.has_error(function()
        core.json_encode(value)
      end)
    end)
  end
end)

support.each_transport("secrets a server echoes back", function(it)
  local handle = support.server()

  local function assert_nowhere(secret, err)
    local found = {}
    local function walk(value, path, depth)
      if type(value) == "string" and value:find(secret, 1, true) then
        found[#found + 1] = path
      end
      if type(value) == "table" and depth < 10 then
        for key, field in pairs(value) do
          walk(field, path .. "." .. tostring(key), depth + 1)
        end
      end
    end
    walk(err, "err", 0)
    if tostring(err):find(secret, 1, true) then
      found[#found + 1] = "tostring"
    end
    assert.are.same({}, found)
  end

  it("never reach an error's message, body, headers, error object or one-line form", function()
    local server = handle.server
    local key = server.management_key
    for _, status in ipairs({ 401, 403, 500, 302 }) do
      server:fault({
        status = status,
        headers = { ["x-echo"] = "Bearer " .. key, location = "http://x/?k=" .. key },
        body = core.json_encode({
          error = {
            code = status,
            message = "you sent Bearer " .. key,
            metadata = { echo = { key } },
          },
        }),
      })
      local err = support.raises(errors.APIError, server:client({ retries = false }).keys.list)
      assert_nowhere(key, err)
      assert.matches("[REDACTED]", status == 302 and err.headers["x-echo"] or err.message, 1, true)
    end
  end)

  it("never leave a create's plaintext key in a ResponseValidationError's body", function()
    local server = handle.server
    local plaintext = "sk-mg-v1-" .. ("f"):rep(48)
    server:fault({
      method = "POST",
      path = "/api/v1/keys",
      status = 201,
      body = core.json_encode({ data = { name = "no hash" }, key = plaintext }),
    })
    local err = support.raises(errors.ResponseValidationError, server:client().keys.create, { name = "x" })
    assert_nowhere(plaintext, err)
    assert.is_true(err.maybe_created)
  end)
end)
