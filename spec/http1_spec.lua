-- core.http1_head, core.http1_framing and core.http1_chunk_size: the C
-- reading of raw HTTP/1.1 responses that the cosocket transport relies on.
-- Each table row is an input and what must come out; no server is needed.
local core = require("modelgates.core")

local unpack = table.unpack or unpack -- luacheck: ignore 143

local CRLF = "\r\n"

-- A test name for a line that may hold control characters.
local function show(text)
  return (("%q"):format(text):gsub("%c", function(c)
    return ("\\%d"):format(c:byte())
  end))
end

local function pack(...)
  return { n = select("#", ...), ... }
end

local function head(...)
  return table.concat({ ... }, CRLF) .. CRLF .. CRLF
end

describe("core.http1_head", function()
  -- { name, raw, expected response }
  local valid = {
    {
      "a status line with a reason",
      head("HTTP/1.1 200 OK", "Content-Type: application/json"),
      { status = 200, reason = "OK", headers = { ["content-type"] = "application/json" } },
    },
    { "HTTP/1.0", head("HTTP/1.0 404 Not Found"), { status = 404, reason = "Not Found", headers = {} } },
    {
      "a reason with spaces",
      head("HTTP/1.1 503 Service  Temporarily Unavailable"),
      { status = 503, reason = "Service  Temporarily Unavailable", headers = {} },
    },
    { "no reason", head("HTTP/1.1 204"), { status = 204, headers = {} } },
    { "an empty reason", head("HTTP/1.1 200 "), { status = 200, reason = "", headers = {} } },
    {
      "obs-text in the reason",
      head("HTTP/1.1 200 \195\169t\195\169"),
      { status = 200, reason = "\195\169t\195\169", headers = {} },
    },
    {
      "bare LF line ends",
      "HTTP/1.1 201 Created\nLocation: /keys/1\nX-A: 1\n\n",
      { status = 201, reason = "Created", headers = { location = "/keys/1", ["x-a"] = "1" } },
    },
    {
      "mixed line ends",
      "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\n",
      { status = 200, reason = "OK", headers = { ["x-a"] = "1", ["x-b"] = "2" } },
    },
    {
      "repeated headers, any case",
      head("HTTP/1.1 200 OK", "Set-Cookie: a=1", "X-Other: z", "set-cookie: b=2"),
      { status = 200, reason = "OK", headers = { ["set-cookie"] = "a=1, b=2", ["x-other"] = "z" } },
    },
    {
      "values trimmed, empty value, colon in value",
      head("HTTP/1.1 200 OK", "X-Pad: \t padded \t", "X-Empty:", "X-Url: http://a:1/b"),
      { status = 200, reason = "OK", headers = { ["x-pad"] = "padded", ["x-empty"] = "", ["x-url"] = "http://a:1/b" } },
    },
    {
      "token characters in a name",
      head("HTTP/1.1 200 OK", "X-!#$%&'*+.^_`|~1: v"),
      { status = 200, reason = "OK", headers = { ["x-!#$%&'*+.^_`|~1"] = "v" } },
    },
    {
      "statuses at the ends of the range",
      head("HTTP/1.1 100 Continue"),
      { status = 100, reason = "Continue", headers = {} },
    },
    { "599", head("HTTP/1.1 599 X"), { status = 599, reason = "X", headers = {} } },
  }

  for _, row in ipairs(valid) do
    it("reads " .. row[1], function()
      local res, err = core.http1_head(row[2])
      assert.is_nil(err)
      assert.are.same(row[3], res)
      assert.are.equal(math.type and "integer" or "number", (math.type or type)(res.status))
    end)
  end

  local limit = 256 * 1024
  local start = "HTTP/1.1 200 OK\r\nX-Pad: "
  local function padded(total)
    return start .. ("a"):rep(total - #start - 4) .. CRLF .. CRLF
  end

  -- { name, raw, message }
  local invalid = {
    { "an empty string", "", "response head does not end with an empty line" },
    {
      "a head without its empty line",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n",
      "response head does not end with an empty line",
    },
    { "a status line alone without LF", "HTTP/1.1 200 OK", "response head does not end with an empty line" },
    { "bytes after the empty line", head("HTTP/1.1 200 OK") .. "{}", "data after the empty line that ends the head" },
    { "HTTP/2", head("HTTP/2 200 OK"), "unsupported HTTP version in the status line" },
    { "HTTP/1.2", head("HTTP/1.2 200 OK"), "unsupported HTTP version in the status line" },
    { "HTTP/0.9", head("HTTP/0.9 200 OK"), "unsupported HTTP version in the status line" },
    { "HTTP/1.10", head("HTTP/1.10 200 OK"), "unsupported HTTP version in the status line" },
    { "a lower-case version", head("http/1.1 200 OK"), "malformed status line" },
    { "not a status line", head("ICY 200 OK"), "malformed status line" },
    { "a leading empty line", "\r\n" .. head("HTTP/1.1 200 OK"), "malformed status line" },
    { "two spaces after the version", head("HTTP/1.1  200 OK"), "status code in the status line is not three digits" },
    { "a 2-digit status", head("HTTP/1.1 20 OK"), "status code in the status line is not three digits" },
    { "a 4-digit status", head("HTTP/1.1 2000 OK"), "status code in the status line is not three digits" },
    { "no status", head("HTTP/1.1"), "status code in the status line is not three digits" },
    { "a signed status", head("HTTP/1.1 +20 OK"), "status code in the status line is not three digits" },
    { "a status glued to the reason", head("HTTP/1.1 200OK"), "status code in the status line is not three digits" },
    { "a tab after the status", head("HTTP/1.1 200\tOK"), "status code in the status line is not three digits" },
    { "status 099", head("HTTP/1.1 099 X"), "status code in the status line is not in [100, 599]" },
    { "status 600", head("HTTP/1.1 600 X"), "status code in the status line is not in [100, 599]" },
    { "a control character in the reason", head("HTTP/1.1 200 O\1K"), "invalid character in the reason phrase" },
    { "a bare CR in the reason", head("HTTP/1.1 200 O\rK"), "invalid character in the reason phrase" },
    {
      "a space before the colon",
      head("HTTP/1.1 200 OK", "Content-Length : 5"),
      "whitespace before the colon in a header line",
    },
    {
      "a tab before the colon",
      head("HTTP/1.1 200 OK", "Content-Length\t: 5"),
      "whitespace before the colon in a header line",
    },
    { "a space inside the name", head("HTTP/1.1 200 OK", "X Y: 5"), "whitespace before the colon in a header line" },
    {
      "obs-fold with a space",
      head("HTTP/1.1 200 OK", "X-A: 1", " continued"),
      "obsolete line folding in the headers",
    },
    { "obs-fold with a tab", head("HTTP/1.1 200 OK", "X-A: 1", "\tcontinued"), "obsolete line folding in the headers" },
    {
      "whitespace before the first header",
      head("HTTP/1.1 200 OK", " X-A: 1"),
      "obsolete line folding in the headers",
    },
    { "a line without a colon", head("HTTP/1.1 200 OK", "X-A"), "header line without a colon" },
    { "an empty name", head("HTTP/1.1 200 OK", ": v"), "empty header name" },
    { "a separator in the name", head("HTTP/1.1 200 OK", "X(A): v"), "invalid character in a header name" },
    { "a bare CR in the name", head("HTTP/1.1 200 OK", "X\rA: v"), "invalid character in a header name" },
    { "a bare CR in a value", head("HTTP/1.1 200 OK", "X-A: 1\rX-B: 2"), "invalid character in a header value" },
    { "CR CR LF", "HTTP/1.1 200 OK\r\nX-A: 1\r\r\n\r\n", "invalid character in a header value" },
    { "a control character in a value", head("HTTP/1.1 200 OK", "X-A: \27[1m"), "invalid character in a header value" },
    { "DEL in a value", head("HTTP/1.1 200 OK", "X-A: \127"), "invalid character in a header value" },
    { "NUL in a value", head("HTTP/1.1 200 OK", "X-A: a\0b"), "NUL byte in the response head" },
    { "NUL in a name", head("HTTP/1.1 200 OK", "X-\0: b"), "NUL byte in the response head" },
    { "NUL in the status line", head("HTTP/1.1 200 O\0K"), "NUL byte in the response head" },
    { "a head over the limit", padded(limit + 1), "response headers exceed 262144 bytes" },
  }

  for _, row in ipairs(invalid) do
    it("refuses " .. row[1], function()
      local res, err = core.http1_head(row[2])
      assert.is_nil(res)
      assert.are.equal(row[3], err)
    end)
  end

  it("takes a head of exactly the limit", function()
    local raw = padded(limit)
    assert.are.equal(limit, #raw)
    local res = assert(core.http1_head(raw))
    assert.are.equal(limit - #start - 4, #res.headers["x-pad"])
  end)

  it("never quotes the input in its messages", function()
    local secret = "sk-secret-0123456789"
    for _, raw in ipairs({
      head("HTTP/1.1 200 OK", "Authorization : " .. secret),
      head("HTTP/1.1 200 " .. secret .. "\1"),
      head(secret .. " 200 OK"),
      head("HTTP/1.1 200 OK", "X-Key: " .. secret .. "\0"),
    }) do
      local _, err = core.http1_head(raw)
      assert.is_string(err)
      assert.is_nil(err:find(secret, 1, true))
    end
  end)

  it("checks its argument", function()
    assert.has_error(function()
      core.http1_head()
    end)
    assert.has_error(function()
      core.http1_head({})
    end)
  end)
end)

describe("core.http1_framing", function()
  -- { method, status, headers, kind[, length] } or { method, status, headers, false, message }
  local cases = {
    { "HEAD", 200, { ["content-length"] = "10" }, "none" },
    { "HEAD", 200, { ["transfer-encoding"] = "chunked" }, "none" },
    { "GET", 100, {}, "none" },
    { "GET", 101, { ["content-length"] = "5" }, "none" },
    { "GET", 199, {}, "none" },
    { "GET", 204, { ["content-length"] = "5" }, "none" },
    { "DELETE", 304, { ["transfer-encoding"] = "chunked", ["content-length"] = "5" }, "none" },
    { "head", 200, { ["content-length"] = "3" }, "length", 3 },
    { "GET", 200, { ["transfer-encoding"] = "chunked" }, "chunked" },
    { "GET", 200, { ["transfer-encoding"] = " Chunked\t" }, "chunked" },
    { "GET", 500, { ["transfer-encoding"] = "CHUNKED" }, "chunked" },
    { "GET", 200, { ["transfer-encoding"] = "gzip" }, false, "unsupported Transfer-Encoding (only chunked is)" },
    {
      "GET",
      200,
      { ["transfer-encoding"] = "gzip, chunked" },
      false,
      "unsupported Transfer-Encoding (only chunked is)",
    },
    {
      "GET",
      200,
      { ["transfer-encoding"] = "chunked, chunked" },
      false,
      "unsupported Transfer-Encoding (only chunked is)",
    },
    { "GET", 200, { ["transfer-encoding"] = "chunkedx" }, false, "unsupported Transfer-Encoding (only chunked is)" },
    { "GET", 200, { ["transfer-encoding"] = "" }, false, "unsupported Transfer-Encoding (only chunked is)" },
    {
      "GET",
      200,
      { ["transfer-encoding"] = "chunked", ["content-length"] = "5" },
      nil,
      "both Transfer-Encoding and Content-Length in the response",
    },
    { "POST", 201, { ["content-length"] = "0" }, "length", 0 },
    { "GET", 200, { ["content-length"] = "42" }, "length", 42 },
    { "GET", 200, { ["content-length"] = " 42 " }, "length", 42 },
    { "GET", 200, { ["content-length"] = "0042" }, "length", 42 },
    { "GET", 404, { ["content-length"] = "7, 7" }, "length", 7 },
    { "GET", 200, { ["content-length"] = "7,7, 07" }, "length", 7 },
    { "GET", 200, { ["content-length"] = "9007199254740992" }, "length", 9007199254740992 },
    { "GET", 200, { ["content-length"] = "7, 8" }, false, "conflicting Content-Length values" },
    { "GET", 200, { ["content-length"] = "8, 7, 8" }, false, "conflicting Content-Length values" },
    { "GET", 200, { ["content-length"] = "9007199254740993" }, false, "Content-Length is too large" },
    { "GET", 200, { ["content-length"] = "99999999999999999999999" }, false, "Content-Length is too large" },
    { "GET", 200, { ["content-length"] = "-1" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "+1" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "0x10" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "1a" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "1.5" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "1 2" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = "5," }, false, "Content-Length is not a decimal number" },
    { "GET", 200, { ["content-length"] = ", 5" }, false, "Content-Length is not a decimal number" },
    { "GET", 200, {}, "close" },
    { "GET", 200, { ["content-type"] = "text/plain" }, "close" },
  }

  for _, row in ipairs(cases) do
    local method, status, headers = row[1], row[2], row[3]
    local expected = { n = row[5] == nil and 1 or 2, row[4] or nil, row[5] }
    local shown = {}
    for name, value in pairs(headers) do
      shown[#shown + 1] = ("%s=%q"):format(name, value)
    end
    it(("%s %d {%s}"):format(method, status, table.concat(shown, " ")), function()
      local results = pack(core.http1_framing(method, status, headers))
      assert.are.same(expected, results)
      if expected[1] == "length" and math.type then
        assert.are.equal("integer", math.type(results[2]))
      end
    end)
  end

  it("frames what core.http1_head reads", function()
    local res = assert(core.http1_head(head("HTTP/1.1 200 OK", "Content-Length: 3", "content-length: 3")))
    assert.are.same({ "length", 3 }, { core.http1_framing("GET", res.status, res.headers) })
    res = assert(core.http1_head(head("HTTP/1.1 200 OK", "Content-Length: 3", "Content-Length: 4")))
    assert.are.same(
      { nil, "conflicting Content-Length values" },
      { core.http1_framing("GET", res.status, res.headers) }
    )
  end)

  it("checks its arguments", function()
    local bad = {
      { nil, 200, {} },
      { "GET", nil, {} },
      { "GET", "x", {} },
      { "GET", 99, {} },
      { "GET", 600, {} },
      { "GET", 200, nil },
      { "GET", 200, "headers" },
      { "GET", 200, { ["content-length"] = 5 } },
      { "GET", 200, { ["transfer-encoding"] = true } },
    }
    for _, args in ipairs(bad) do
      assert.has_error(function()
        core.http1_framing(unpack(args, 1, 3))
      end)
    end
  end)
end)

describe("core.http1_chunk_size", function()
  -- { line, size } or { line, nil, message }
  local cases = {
    { "0", 0 },
    { "000", 0 },
    { "1a", 26 },
    { "1A;ext=1", 26 },
    { "1A ;ext=1", 26 },
    { '1a\t; name="quoted; value"', 26 },
    { "ff;", 255 },
    { "10  ", 16 },
    { "FFFFFFFF", 4294967295 },
    { "20000000000000", 9007199254740992 },
    { "0000000000000000000000000001", 1 },
    { "", nil, "empty chunk size line" },
    { "  ", nil, "chunk size is not hexadecimal" },
    { " 1a", nil, "chunk size is not hexadecimal" },
    { "g", nil, "chunk size is not hexadecimal" },
    { "1g", nil, "chunk size is not hexadecimal" },
    { "-1", nil, "chunk size is not hexadecimal" },
    { "0x1a", nil, "chunk size is not hexadecimal" },
    { ";ext", nil, "chunk size is not hexadecimal" },
    { "1 2", nil, "chunk size is not hexadecimal" },
    { "1a\r", nil, "chunk size is not hexadecimal" },
    { "1a;ext\r", nil, "invalid character in a chunk extension" },
    { "1a;e\0x", nil, "invalid character in a chunk extension" },
    { "1a;e\nx", nil, "invalid character in a chunk extension" },
    { "20000000000001", nil, "chunk size is too large" },
    { "ffffffffffffffffffff", nil, "chunk size is too large" },
  }

  for _, row in ipairs(cases) do
    it("reads " .. show(row[1]), function()
      local size, err = core.http1_chunk_size(row[1])
      assert.are.equal(row[2], size)
      assert.are.equal(row[3], err)
      if size and math.type then
        assert.are.equal("integer", math.type(size))
      end
    end)
  end

  it("checks its argument", function()
    assert.has_error(function()
      core.http1_chunk_size()
    end)
    assert.has_error(function()
      core.http1_chunk_size({})
    end)
  end)
end)
