-- The fault suite: each failure the local server can inject, with the error
-- raised, the number of attempts, and the server's state afterwards.
local modelgates = require("modelgates")
local support = require("spec.support")
local core = require("modelgates.core")

local errors = modelgates.errors

-- Short waits keep the suite fast; the policy is the same as the default's.
local FAST = { max_attempts = 4, initial_interval = 0.01, max_interval = 0.05, exponent = 1.5, jitter = false }

local function requests_of(server, method)
  local found = {}
  for _, request in ipairs(server:requests()) do
    if request.method == method then
      found[#found + 1] = request
    end
  end
  return found
end

local function timed(fn, ...)
  local started = core.now()
  local results = { pcall(fn, ...) }
  return core.now() - started, results
end

support.each_transport("faults", function(it)
  local handle = support.server()
  local server, keys

  before_each(function()
    server = handle.server
    keys = server:client({ retries = FAST }).keys
  end)

  local function create_key()
    local record = keys.create({ name = "victim" }).data
    server:clear_requests()
    return record
  end

  describe("connection refused", function()
    local closed = { api_key = "k", server_url = "http://127.0.0.1:1/api/v1", retries = FAST }

    it("is retried, then a ConnectionError saying nothing was sent", function()
      local err = support.raises(errors.ConnectionError, modelgates.new(closed).keys.list)
      assert.are.equal(4, err.attempts)
      assert.is_false(err.request_sent)
      assert.is_nil(err.maybe_created)
    end)

    it("is retried for create too: the request provably never left", function()
      local err = support.raises(errors.ConnectionError, modelgates.new(closed).keys.create, { name = "x" })
      assert.are.equal(4, err.attempts)
      assert.is_nil(err.maybe_created)
    end)
  end)

  for _, drop in ipairs({ "before_response", "after_headers", "mid_body" }) do
    describe("a connection dropped " .. drop:gsub("_", " "), function()
      it("is retried for get, which then succeeds", function()
        local record = create_key()
        server:fault({ drop = drop, method = "GET" })
        local body, res = keys.get(record.hash)
        assert.are.equal(record.hash, body.data.hash)
        assert.are.equal(2, res.attempts)
        assert.are.equal(2, #requests_of(server, "GET"))
      end)

      it("is not retried for create, which says maybe_created; exactly one key exists", function()
        server:fault({ drop = drop, method = "POST", apply = true })
        local err = support.raises(errors.ConnectionError, keys.create, { name = "once" })
        assert.is_true(err.maybe_created)
        assert.is_true(err.request_sent)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #requests_of(server, "POST"))
        assert.are.equal(1, #server:keys())
      end)
    end)
  end

  it("a create after a dropped keep-alive connection is sent once, on a connection of its own", function()
    keys.list()
    server:fault({ drop = "before_response", method = "POST", apply = true })
    local err = support.raises(errors.ConnectionError, keys.create, { name = "once" })
    assert.is_true(err.maybe_created)
    assert.are.equal(1, #requests_of(server, "POST"))
    assert.are.equal(1, #server:keys())
  end)

  it("a delete whose first try's outcome is unknown succeeds when the retry finds the key gone", function()
    local record = create_key()
    server:fault({ drop = "before_response", method = "DELETE", apply = true })
    local body, res = keys.delete(record.hash)
    assert.are.same({ deleted = true }, body)
    assert.are.equal(2, res.attempts)
    assert.are.equal(404, res.status)
    assert.are.equal(0, #server:keys())
  end)

  it("a delete of a key that never existed is still a NotFoundResponseError", function()
    local err = support.raises(errors.NotFoundResponseError, keys.delete, ("0"):rep(64))
    assert.are.equal(1, err.attempts)
  end)

  it("an update is retried with the same body", function()
    local record = create_key()
    server:fault({ status = 503, method = "PATCH" })
    local body, res = keys.update(record.hash, { name = "renamed", limit = 3 })
    assert.are.equal("renamed", body.data.name)
    assert.are.equal(2, res.attempts)
    local patches = requests_of(server, "PATCH")
    assert.are.equal(2, #patches)
    assert.are.equal(patches[1].body, patches[2].body)
  end)

  describe("timeouts", function()
    it("slow headers raise a TimeoutError naming the whole-call timeout, without another try", function()
      server:fault({ delay = 3 })
      local elapsed, results = timed(keys.list, nil, { timeout = 0.4 })
      local err = results[2]
      assert.is_false(results[1])
      assert.is_true(err:is(errors.TimeoutError))
      assert.are.equal("timeout", err.limit)
      assert.are.equal(1, err.attempts)
      assert.is_true(elapsed < 2, "took " .. elapsed)
    end)

    it("a stalled body raises a TimeoutError naming the stall limit", function()
      local record = create_key()
      server:fault({ body_delay = 4, method = "GET" })
      local elapsed, results = timed(keys.get, record.hash, { stall_timeout = 1, retries = false })
      local err = results[2]
      assert.is_true(err:is(errors.TimeoutError))
      assert.are.equal("stall_timeout", err.limit)
      assert.is_true(elapsed < 3.5, "took " .. elapsed)
    end)

    it("the whole-call timeout covers the retries too", function()
      server:fault({ status = 503, count = 100 })
      local slow = { max_attempts = 100, initial_interval = 0.2, max_interval = 0.2, exponent = 1, jitter = false }
      local elapsed, results = timed(keys.list, nil, { timeout = 1, retries = slow })
      assert.is_true(results[2]:is(errors.APIError))
      assert.is_true(results[2].attempts < 10)
      assert.is_true(elapsed < 1.5, "took " .. elapsed)
    end)
  end)

  describe("429", function()
    local patient = { max_attempts = 3, initial_interval = 0.01, max_interval = 3, exponent = 1, jitter = false }

    it("honours Retry-After in seconds", function()
      server:fault({ status = 429, headers = { ["Retry-After"] = "1" } })
      local elapsed, results = timed(keys.list, nil, { retries = patient })
      assert.is_true(results[1])
      assert.are.equal(2, results[3].attempts)
      assert.is_true(elapsed >= 0.95, "took " .. elapsed)
    end)

    it("honours Retry-After as an HTTP date", function()
      local at = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
      server:fault({ status = 429, headers = { ["Retry-After"] = at } })
      local elapsed, results = timed(keys.list, nil, { retries = patient })
      assert.is_true(results[1])
      assert.is_true(elapsed >= 0.9 and elapsed < 3.5, "took " .. elapsed)
    end)

    it("honours X-RateLimit-Reset in Unix milliseconds", function()
      server:fault({ status = 429, headers = { ["X-RateLimit-Reset"] = tostring((os.time() + 2) * 1000) } })
      local elapsed, results = timed(keys.list, nil, { retries = patient })
      assert.is_true(results[1])
      assert.is_true(elapsed >= 0.9, "took " .. elapsed)
    end)

    it("caps the server's wait at max_interval", function()
      server:fault({ status = 429, headers = { ["Retry-After"] = "100" } })
      local elapsed, results = timed(keys.list)
      assert.is_true(results[1])
      assert.is_true(elapsed < 1, "took " .. elapsed)
    end)

    it("is retried for create: the request was refused unprocessed", function()
      server:fault({ status = 429, method = "POST" })
      local body, res = keys.create({ name = "after 429" })
      assert.are.equal(2, res.attempts)
      assert.are.equal("after 429", body.data.name)
      assert.are.equal(1, #server:keys())
    end)

    it("raises after the last try with the last response, attempts and retry_after", function()
      server:fault({ status = 429, count = 10, headers = { ["retry-after-ms"] = "20" } })
      local err = support.raises(errors.TooManyRequestsResponseError, keys.list)
      assert.are.equal(4, err.attempts)
      assert.are.equal(0.02, err.retry_after)
      assert.are.equal("20", err.headers["retry-after-ms"])
    end)
  end)

  describe("5XX", function()
    it("503 twice, then 200", function()
      server:fault({ status = 503, count = 2 })
      local _, res = keys.list()
      assert.are.equal(3, res.attempts)
    end)

    it("an HTML 502 on every try is an APIError after the last", function()
      server:fault({ status = 502, count = 10, headers = { ["Content-Type"] = "text/html" }, body = "<h1>502</h1>" })
      local err = support.raises(errors.APIError, keys.list)
      assert.are.equal(502, err.status_code)
      assert.are.equal(4, err.attempts)
      assert.are.equal("<h1>502</h1>", err.body)
    end)

    it("500 on create: one POST, no retry, maybe_created", function()
      server:fault({ status = 500, method = "POST" })
      local err = support.raises(errors.InternalServerResponseError, keys.create, { name = "x" })
      assert.is_true(err.maybe_created)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #requests_of(server, "POST"))
    end)

    it("a 400 on create is certain: no maybe_created, no retry", function()
      server:fault({ status = 400, method = "POST" })
      local err = support.raises(errors.BadRequestResponseError, keys.create, { name = "x" })
      assert.is_nil(err.maybe_created)
      assert.are.equal(1, err.attempts)
    end)
  end)

  describe("bad bodies with a success status", function()
    for _, case in ipairs({
      { "invalid JSON", "{oops" },
      { "truncated JSON", '{"data":[{"hash":"h"' },
      { "an empty body", "" },
      { "an array where an object belongs", '[{"hash":"h"}]' },
      { "JSON nested 10,000 deep", '{"data":' .. ("["):rep(10000) .. ("]"):rep(10000) .. "}" },
    }) do
      it(case[1] .. " is a ResponseValidationError, not retried", function()
        server:fault({ status = 200, body = case[2] })
        local err = support.raises(errors.ResponseValidationError, keys.list)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #server:requests())
      end)
    end

    it("a create answered with a bad body says maybe_created", function()
      server:fault({ status = 201, body = "{}", method = "POST", apply = true })
      local err = support.raises(errors.ResponseValidationError, keys.create, { name = "x" })
      assert.is_true(err.maybe_created)
      assert.are.equal(1, #server:keys())
    end)

    it("numbers beyond 2^53 and beyond a double arrive as numbers", function()
      server:fault({ status = 200, body = '{"data":{"hash":"h","limit":9007199254740993,"usage":1e400}}' })
      local record = keys.get("h").data
      assert.are.equal(9007199254740992, record.limit)
      assert.are.equal(math.huge, record.usage)
    end)

    it("invalid UTF-8 in a string passes through byte for byte", function()
      server:fault({ status = 200, body = '{"data":{"hash":"h","name":"\255\254 bytes"}}' })
      assert.are.equal("\255\254 bytes", keys.get("h").data.name)
    end)
  end)

  describe("limits", function()
    for _, chunked in ipairs({ false, true }) do
      it(
        "a body over max_response_bytes stops the transfer (" .. (chunked and "chunked" or "with length") .. ")",
        function()
          server:fault({ status = 200, body = '{"data":"' .. ("x"):rep(4 * 1024 * 1024) .. '"}', chunked = chunked })
          local err = support.raises(errors.ResponseValidationError, keys.list, nil, { max_response_bytes = 65536 })
          assert.are.equal("max_response_bytes", err.limit)
          assert.are.equal(1, err.attempts)
        end
      )
    end
  end)

  describe("redirects", function()
    local elsewhere_handle = support.server()

    it("are not followed: the error carries Location and the key goes nowhere else", function()
      local elsewhere = elsewhere_handle.server
      server:fault({ status = 301, headers = { Location = elsewhere.url .. "/keys" } })
      local err = support.raises(errors.APIError, keys.list)
      assert.are.equal(301, err.status_code)
      assert.are.equal(elsewhere.url .. "/keys", err.location)
      assert.are.equal(1, err.attempts)
      assert.are.same({}, elsewhere:requests())
    end)
  end)

  describe("server_url", function()
    local function rejected(url, options)
      local client = modelgates.new({ api_key = "k", server_url = url, allow_insecure_http = options })
      local err = support.raises(errors.ValidationError, client.keys.list)
      assert.are.equal("server_url", err.field)
    end

    it("refuses http:// to a host that is not loopback, sending nothing", function()
      rejected("http://example.com/api/v1")
      rejected("http://127.0.0.1.example.com/api/v1")
      rejected("http://127.0.0.1@example.com/api/v1")
      rejected("http://user@127.0.0.1/api/v1", true)
    end)

    it("allows http:// to loopback, and elsewhere with allow_insecure_http", function()
      for _, url in ipairs({ "http://localhost:1/api/v1", "http://[::1]:1/api/v1", "http://127.0.0.2:1/api/v1" }) do
        local client = modelgates.new({ api_key = "k", server_url = url, retries = false, connect_timeout = 1 })
        support.raises(errors.ConnectionError, client.keys.list)
      end
      local client = modelgates.new({
        api_key = "k",
        server_url = "http://0.0.0.0:1/api/v1",
        allow_insecure_http = true,
        retries = false,
      })
      support.raises(errors.ConnectionError, client.keys.list)
    end)
  end)

  describe("the debug hook", function()
    it("shows each attempt and wait, with the key redacted and no body", function()
      local lines = {}
      local traced = server:client({
        retries = FAST,
        debug = function(line)
          lines[#lines + 1] = line
        end,
      }).keys
      server:fault({ status = 429, method = "POST" })
      local created = traced.create({ name = "traced", external = { user = "u", api_key = "external-secret" } })
      local text = table.concat(lines, "\n")
      assert.matches("attempt 1: POST " .. server.url:gsub("%p", "%%%0") .. "/keys", text)
      assert.matches("Authorization: [REDACTED]", text, 1, true)
      assert.matches("waiting", text, 1, true)
      assert.is_nil(text:find(server.management_key, 1, true))
      assert.is_nil(text:find(created.key, 1, true))
      assert.is_nil(text:find("external-secret", 1, true))
    end)
  end)
end)
