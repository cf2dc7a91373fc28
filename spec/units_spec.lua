-- Table-driven specs of the engine's pure parts, without a server: each row
-- an input and the result expected of it.
local api = require("modelgates.api")
local core = require("modelgates.core")
local retry = require("modelgates.retry")
local validate = require("modelgates.validate")
local errors = require("modelgates.errors")

local get, create = api.operations.get, api.operations.create

describe("retry.assess", function()
  -- { op, res or nil, err or nil, retryable, maybe_processed }
  local rows = {
    { "get 503", get, { status = 503 }, nil, true, true },
    { "get 500", get, { status = 500 }, nil, true, true },
    { "get 429", get, { status = 429 }, nil, true, false },
    { "get 404", get, { status = 404 }, nil, false, false },
    { "get 408", get, { status = 408 }, nil, true, true },
    { "create 503", create, { status = 503 }, nil, false, true },
    { "create 429 (refused, so tried again)", create, { status = 429 }, nil, true, false },
    { "create 201 with a bad body", create, { status = 201 }, nil, false, true },
    { "get, refused before sending", get, nil, { transient = true, request_sent = false }, true, false },
    { "create, refused before sending", create, nil, { transient = true, request_sent = false }, true, false },
    { "get, connection reset after sending", get, nil, { transient = true, request_sent = true }, true, true },
    { "create, connection reset after sending", create, nil, { transient = true, request_sent = true }, false, true },
    { "get, whole-call timeout", get, nil, { transient = true, request_sent = true, limit = "timeout" }, false, true },
    { "get, certificate refused", get, nil, { transient = false, request_sent = false }, false, false },
  }
  for _, row in ipairs(rows) do
    it(row[1], function()
      local retryable, maybe_processed = retry.assess(row[2], row[3], row[4])
      assert.are.same({ row[5], row[6] }, { retryable, maybe_processed })
    end)
  end
end)

describe("retry.server_hint", function()
  -- 1994-11-06T08:49:37Z, the RFC's own example date.
  local NOW = 784111777
  -- { case, headers, the wait in seconds (nil: no hint) }
  local rows = {
    { "no hint", {}, nil },
    { "Retry-After in seconds", { ["retry-after"] = "3" }, 3 },
    { "Retry-After with a fraction", { ["retry-after"] = "1.5" }, 1.5 },
    { "Retry-After as an HTTP date", { ["retry-after"] = "Sun, 06 Nov 1994 08:49:47 GMT" }, 10 },
    { "Retry-After as a date gone by", { ["retry-after"] = "Sun, 06 Nov 1994 08:49:27 GMT" }, 0 },
    { "Retry-After in hex is no number", { ["retry-after"] = "0x3" }, nil },
    { "Retry-After with an exponent is no number", { ["retry-after"] = "1e3" }, nil },
    { "Retry-After as a date in another zone", { ["retry-after"] = "Sun, 06 Nov 1994 08:49:47 CET" }, nil },
    { "retry-after-ms over Retry-After", { ["retry-after-ms"] = "250", ["retry-after"] = "9" }, 0.25 },
    { "X-RateLimit-Reset in Unix milliseconds", { ["x-ratelimit-reset"] = tostring((NOW + 4) * 1000) }, 4 },
    { "X-RateLimit-Reset in Unix seconds", { ["x-ratelimit-reset"] = tostring(NOW + 7) }, 7 },
    { "X-RateLimit-Reset gone by", { ["x-ratelimit-reset"] = tostring(NOW - 7) }, 0 },
    { "Retry-After over X-RateLimit-Reset", { ["retry-after"] = "2", ["x-ratelimit-reset"] = tostring(NOW + 7) }, 2 },
  }
  for _, row in ipairs(rows) do
    it(row[1], function()
      assert.are.equal(row[3], retry.server_hint(row[2], NOW))
    end)
  end
end)

describe("retry.next_wait", function()
  local settings = { max_attempts = 4, initial_interval = 0.5, max_interval = 30, exponent = 1.5, jitter = false }
  -- { name, attempt, started, deadline, hint, now, expected wait }
  local rows = {
    { "the first wait", 1, 0, 100, nil, 0, 0.5 },
    { "grows by the exponent", 3, 0, 100, nil, 0, 0.5 * 1.5 ^ 2 },
    { "no try past max_attempts", 4, 0, 100, nil, 0, nil },
    { "the server's hint", 1, 0, 100, 7, 0, 7 },
    { "the hint capped at max_interval", 1, 0, 100, 90, 0, 30 },
    { "none when the wait reaches the deadline", 1, 0, 10, nil, 9.6, nil },
    { "one that ends before the deadline", 1, 0, 10, nil, 9.4, 0.5 },
  }
  for _, row in ipairs(rows) do
    it(row[1], function()
      assert.are.equal(row[7], retry.next_wait(settings, row[2], row[3], row[4], row[5], row[6]))
    end)
  end

  it("stops at max_elapsed", function()
    local capped = { max_attempts = 10, initial_interval = 1, max_interval = 1, exponent = 1, max_elapsed = 5 }
    assert.are.equal(1, retry.next_wait(capped, 1, 0, nil, nil, 3.5))
    assert.is_nil(retry.next_wait(capped, 1, 0, nil, nil, 4.5))
  end)

  it("jitters between half and all of the wait", function()
    local jittered = { max_attempts = 4, initial_interval = 2, max_interval = 30, exponent = 1, jitter = true }
    for _ = 1, 50 do
      local wait = retry.next_wait(jittered, 1, 0, nil, nil, 0)
      assert.is_true(wait >= 1 and wait <= 2)
    end
  end)
end)

describe("validate.value", function()
  -- { spec, value, accepted (true) or refused (false), sent value when accepted }
  local rows = {
    { { type = "string" }, "a", true, "a" },
    { { type = "string" }, "", false },
    { { type = "string", max_length = 3 }, "abcd", false },
    { { type = "number", min = 0 }, 0, true, 0 },
    { { type = "number", min = 0, exclusive = true }, 0, false },
    { { type = "number" }, 0 / 0, false },
    { { type = "number" }, math.huge, false },
    { { type = "number" }, 2 ^ 53 + 2, false },
    { { type = "integer", min = 0 }, 1.5, false },
    { { type = "integer", min = 0, max = 10 }, 11, false },
    { { type = "integer", min = 0, max = 10 }, 10, true, 10 },
    { { type = "boolean" }, "true", false },
    { { type = "enum", values = { "daily" } }, "weekly", false },
    { { type = "timestamp" }, "2027-12-31T23:59:59Z", true, "2027-12-31T23:59:59Z" },
    { { type = "timestamp" }, "2027-12-31T23:59:59+02:00", false },
    { { type = "timestamp" }, 0, true, "1970-01-01T00:00:00Z" },
    { { type = "url" }, "ftp://x", false },
    { { type = "header_value" }, "a\tb", true, "a\tb" },
    { { type = "header_value" }, "a\27b", false },
    { { type = "number", nullable = true }, core.null, true, core.null },
    { { type = "number" }, core.null, false },
  }
  for i, row in ipairs(rows) do
    it(("row %d: %s %s"):format(i, row[1].type, row[3] and "accepts" or "refuses"), function()
      local ok, result = pcall(validate.value, row[1], row[2], "context", "field")
      assert.are.equal(row[3], ok)
      if ok then
        assert.are.equal(row[4], result)
      else
        assert.is_true(errors.is_error(result) and result:is(errors.ValidationError))
        assert.are.equal("field", result.field)
      end
    end)
  end
end)

describe("core.decode_response", function()
  -- { name, response, success status, the error class or nil for success }
  local rows = {
    { "the success status with an object", { status = 200, body = '{"data":{}}', headers = {} }, 200, nil },
    {
      "the success status with an array",
      { status = 200, body = "[]", headers = {} },
      200,
      errors.ResponseValidationError,
    },
    {
      "the success status with no JSON",
      { status = 200, body = "<html>", headers = {} },
      200,
      errors.ResponseValidationError,
    },
    { "another 2XX", { status = 200, body = "{}", headers = {} }, 201, errors.ResponseValidationError },
    {
      "a 404 with the API's error",
      { status = 404, body = '{"error":{"code":404,"message":"gone"}}', headers = {} },
      200,
      errors.NotFoundResponseError,
    },
    {
      "a 502 with a page",
      { status = 502, reason = "Bad Gateway", body = "<html>", headers = {} },
      200,
      errors.APIError,
    },
    { "a 301", { status = 301, body = "", headers = {} }, 200, errors.APIError },
  }
  for _, row in ipairs(rows) do
    it(row[1], function()
      local body, err = core.decode_response(row[2], row[3])
      if row[4] then
        assert.is_nil(body)
        assert.is_true(err:is(row[4]), tostring(err))
      else
        assert.is_nil(err)
        assert.are.equal("table", type(body))
      end
    end)
  end
end)

describe("an error object", function()
  it("joins text with .. on either side, in its one-line form", function()
    local err = errors.new("NotFoundResponseError", { message = "gone", status_code = 404 })
    assert.are.equal("failed: NotFoundResponseError: gone (HTTP 404)", "failed: " .. err)
    assert.are.equal("NotFoundResponseError: gone (HTTP 404)!", err .. "!")
  end)
end)

describe("proxy.choose", function()
  local proxy = require("modelgates.proxy")
  local P, Q = "http://proxy.test:3128", "http://other.test:8080"
  -- { case, server URL, options, environment, proxy expected (nil: none), where it came from }
  local rows = {
    { "https: https_proxy", "https://api.test/v1", {}, { https_proxy = P }, P, "https_proxy" },
    { "https: HTTPS_PROXY", "https://api.test/v1", {}, { HTTPS_PROXY = P }, P, "HTTPS_PROXY" },
    { "https: lower case first", "https://api.test/v1", {}, { https_proxy = P, HTTPS_PROXY = Q }, P, "https_proxy" },
    { "https: all_proxy", "https://api.test/v1", {}, { all_proxy = P }, P, "all_proxy" },
    { "https: ALL_PROXY", "https://api.test/v1", {}, { ALL_PROXY = P }, P, "ALL_PROXY" },
    { "https: ignores http_proxy", "https://api.test/v1", {}, { http_proxy = P }, nil },
    { "http: http_proxy", "http://127.0.0.1:8/v1", {}, { http_proxy = P }, P, "http_proxy" },
    { "http: never HTTP_PROXY", "http://127.0.0.1:8/v1", {}, { HTTP_PROXY = P }, nil },
    { "http: all_proxy", "http://127.0.0.1:8/v1", {}, { all_proxy = P }, P, "all_proxy" },
    { "the option over the environment", "https://api.test/v1", { proxy = Q }, { https_proxy = P }, Q, "proxy" },
    { "false: none, environment ignored", "https://api.test/v1", { proxy = false }, { https_proxy = P }, nil },
    { "no_proxy: the host", "https://api.test/v1", {}, { https_proxy = P, no_proxy = "api.test" }, nil },
    { "no_proxy: a parent domain", "https://eu.api.test/v1", {}, { https_proxy = P, no_proxy = "api.test" }, nil },
    { "no_proxy: a leading dot", "https://eu.api.test/v1", {}, { https_proxy = P, no_proxy = ".api.test" }, nil },
    {
      "no_proxy: not a suffix of a label",
      "https://myapi.test/v1",
      {},
      { https_proxy = P, no_proxy = "api.test" },
      P,
      "https_proxy",
    },
    {
      "no_proxy: case and spaces",
      "https://API.test/v1",
      {},
      { https_proxy = P, no_proxy = "x.test,  Api.Test" },
      nil,
    },
    { "NO_PROXY", "https://api.test/v1", {}, { https_proxy = P, NO_PROXY = "*" }, nil },
    {
      "no_proxy: * among other entries is no wildcard, as in curl",
      "https://api.test/v1",
      {},
      { https_proxy = P, no_proxy = "localhost,*" },
      P,
      "https_proxy",
    },
    { "no_proxy applies to the option too", "https://api.test/v1", { proxy = Q }, { no_proxy = "api.test" }, nil },
    {
      "the no_proxy option over the environment",
      "https://api.test/v1",
      { no_proxy = "" },
      { https_proxy = P, no_proxy = "*" },
      P,
      "https_proxy",
    },
    { "no_proxy: an address", "http://127.0.0.1:8/v1", {}, { http_proxy = P, no_proxy = "127.0.0.1" }, nil },
    {
      "no_proxy: an address is not a domain",
      "http://127.0.0.1:8/v1",
      {},
      { http_proxy = P, no_proxy = "0.0.1" },
      P,
      "http_proxy",
    },
    { "no_proxy: CIDR in", "http://127.0.0.1:8/v1", {}, { http_proxy = P, no_proxy = "127.0.0.0/8" }, nil },
    {
      "no_proxy: CIDR out",
      "http://127.0.0.1:8/v1",
      {},
      { http_proxy = P, no_proxy = "10.0.0.0/8" },
      P,
      "http_proxy",
    },
    { "no_proxy: IPv6 in brackets", "http://[::1]:8/v1", {}, { http_proxy = P, no_proxy = "[::1]" }, nil },
    { "an empty variable is unset", "https://api.test/v1", {}, { https_proxy = "", all_proxy = P }, P, "all_proxy" },
  }
  for _, row in ipairs(rows) do
    it(row[1], function()
      local options, environment = row[3], row[4]
      local chosen, source = proxy.choose(row[2], function(name, from_env)
        if not from_env then
          return options[name]
        end
        local value = environment[name]
        if value ~= "" then
          return value
        end
      end)
      assert.are.equal(row[5], chosen)
      assert.are.equal(row[6], source)
    end)
  end

  it("finds every form of a proxy URL's credentials that could be echoed, and shows the URL without them", function()
    local url = "http://me:p%40ss@proxy.test:3128"
    local secrets = proxy.secrets(url)
    for _, form in ipairs({ "me:p%40ss", "p%40ss", "p@ss", "bWU6cEBzcw==" }) do
      local found = false
      for _, secret in ipairs(secrets) do
        found = found or secret == form
      end
      assert.is_true(found, form)
    end
    assert.are.same({}, proxy.secrets("http://proxy.test:3128"))
    -- A user without a password: libcurl sends "token:".
    local found = false
    for _, secret in ipairs(proxy.secrets("http://token@proxy.test:3128")) do
      found = found or secret == "dG9rZW46"
    end
    assert.is_true(found, "base64 of token:")
    -- A raw "@" in the password: the user info ends at the last one, as libcurl reads it.
    assert.are.equal("http://[REDACTED]@proxy.test:3128", proxy.shown("http://u:p@ss@proxy.test:3128"))
    assert.are.equal("http://[REDACTED]@proxy.test:3128", proxy.shown(url))
    assert.are.equal("http://proxy.test:3128", proxy.shown("http://proxy.test:3128"))
  end)
end)

describe("an error's one-line form", function()
  -- { error type, fields, the line }
  local rows = {
    {
      "NotFoundResponseError",
      { message = "gone", status_code = 404, attempts = 1, elapsed = 0.01 },
      "NotFoundResponseError: gone (HTTP 404)",
    },
    {
      "InternalServerResponseError",
      { message = "boom", status_code = 500, attempts = 4, elapsed = 3.14 },
      "InternalServerResponseError: boom (HTTP 500; 4 attempts in 3.1 s)",
    },
    {
      "ConnectionError",
      { message = "Connection refused", attempts = 1, elapsed = 0.002 },
      "ConnectionError: Connection refused (1 attempt in 0.0 s)",
    },
    {
      "TimeoutError",
      {
        message = "Operation timed out after 28856 milliseconds",
        limit = "timeout",
        attempts = 3,
        elapsed = 60.02,
      },
      "TimeoutError: Operation timed out after 28856 milliseconds (timeout hit; 3 attempts in 60.0 s)",
    },
    {
      "ResponseValidationError",
      { message = "response body exceeds 10 bytes", limit = "max_response_bytes" },
      "ResponseValidationError: response body exceeds 10 bytes (max_response_bytes hit)",
    },
    {
      "ValidationError",
      { message = "modelgates.new: options.x: expected a known field" },
      "ValidationError: modelgates.new: options.x: expected a known field",
    },
  }
  for _, row in ipairs(rows) do
    it(row[3], function()
      assert.are.equal(row[3], tostring(errors.new(row[1], row[2])))
    end)
  end
end)
