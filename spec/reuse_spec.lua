-- One client keeps one libcurl handle, one header list and one plan of its
-- options across calls, and sets again only what changed: these check that
-- what changes between two calls reaches the wire and nothing else carries
-- over.
local modelgates = require("modelgates")
local core = require("modelgates.core")
local support = require("spec.support")

local function last_request(server)
  local requests = server:requests()
  return requests[#requests]
end

describe("one client across calls", function()
  local handle = support.server()

  it("sends each method with its own body and headers, whatever came before", function()
    local server = handle.server
    local keys = server:client().keys
    local created = keys.create({ name = "first" }).data
    local steps = {
      {
        "GET",
        function()
          keys.get(created.hash)
        end,
        false,
      },
      {
        "PATCH",
        function()
          keys.update(created.hash, { name = "second" })
        end,
        true,
      },
      {
        "GET",
        function()
          keys.list()
        end,
        false,
      },
      {
        "POST",
        function()
          keys.create({ name = "third" })
        end,
        true,
      },
      {
        "DELETE",
        function()
          keys.delete(created.hash)
        end,
        false,
      },
      {
        "GET",
        function()
          keys.get_current_key_metadata()
        end,
        false,
      },
    }
    for _, step in ipairs(steps) do
      step[2]()
      local request = last_request(server)
      assert.are.equal(step[1], request.method)
      if step[3] then
        assert.are.equal("application/json", request.headers["content-type"])
        assert.are.equal("{", request.body:sub(1, 1))
      else
        assert.is_nil(request.headers["content-type"], step[1] .. " after a request with a body")
        assert.are.equal("", request.body)
        assert.is_nil(request.headers["content-length"])
      end
    end
  end)

  it("sends a call's extra headers and key to that call only", function()
    local server = handle.server
    local keys = server:client().keys
    keys.get_current_key_metadata({ headers = { ["X-Once"] = "1" }, api_key = server.key })
    local first = last_request(server)
    assert.are.equal("1", first.headers["x-once"])
    assert.are.equal("Bearer " .. server.key, first.headers.authorization)
    keys.list()
    local second = last_request(server)
    assert.is_nil(second.headers["x-once"])
    assert.are.equal("Bearer " .. server.management_key, second.headers.authorization)
    keys.list(nil, { headers = { ["X-Once"] = "2" } })
    assert.are.equal("2", last_request(server).headers["x-once"])
  end)

  it("reads MODELGATES_API_KEY again when it changes between calls", function()
    local server = handle.server
    local keys = modelgates.new({ server_url = server.url }).keys
    local environment = { MODELGATES_API_KEY = server.management_key }
    local real_getenv = os.getenv
    -- luacheck: ignore 122
    os.getenv = function(name)
      return environment[name]
    end
    local ok, err = pcall(function()
      keys.list()
      assert.are.equal("Bearer " .. server.management_key, last_request(server).headers.authorization)
      environment.MODELGATES_API_KEY = server.key
      keys.get_current_key_metadata()
      assert.are.equal("Bearer " .. server.key, last_request(server).headers.authorization)
      environment.MODELGATES_API_KEY = nil
      local missing = support.raises(modelgates.errors.ValidationError, keys.list)
      assert.are.equal("api_key", missing.field)
    end)
    os.getenv = real_getenv -- luacheck: ignore 122
    assert(ok, err)
  end)

  it("returns the transport's answer as the response record, with the reason phrase", function()
    local server = handle.server
    local _, res = server:client().keys.list()
    assert.are.equal(200, res.status)
    assert.are.equal("OK", res.reason)
    assert.are.equal(1, res.attempts)
    assert.is_nil(res.requests_sent)
  end)
end)

describe("one client over https across calls", function()
  local handle = support.server({ tls = true })

  it("takes a call's CA settings for that call only", function()
    local server = handle.server
    local client = server:client()
    assert.is_table(client.keys.list())
    local refused =
      support.raises(modelgates.errors.ConnectionError, client.keys.list, nil, { ca_file = "/nonexistent/ca.pem" })
    assert.is_false(refused.request_sent)
    assert.is_table(client.keys.list())
    local requests = #server:requests()
    assert.are.equal(2, requests)
  end)
end)

describe("core.transport", function()
  local handle = support.server()

  it("performs with the SIGPIPE guard forced on, over http", function()
    local server = handle.server
    local transport = core.transport({ guard_sigpipe = true })
    for _ = 1, 3 do
      local res = assert(transport:perform({
        method = "GET",
        url = server.url .. "/key",
        headers = { "Authorization: Bearer " .. server.management_key },
      }))
      assert.are.equal(200, res.status)
    end
    transport:close()
  end)

  it("refuses options that are not a table", function()
    assert.has_error(function()
      core.transport("fast")
    end)
  end)
end)

describe("core.percent_encode", function()
  local function reference(text)
    return (text:gsub("[^A-Za-z0-9%-_~]", function(char)
      return ("%%%02X"):format(char:byte())
    end))
  end

  it("keeps unreserved characters and encodes every other byte", function()
    local all = {}
    for byte = 0, 255 do
      all[#all + 1] = string.char(byte)
    end
    local text = table.concat(all)
    assert.are.equal(reference(text), core.percent_encode(text))
    assert.are.equal("%2E%2E", core.percent_encode(".."))
    assert.are.equal("", core.percent_encode(""))
  end)

  it("agrees with the pattern on random strings", function()
    math.randomseed(5)
    for _ = 1, 200 do
      local chars = {}
      for i = 1, math.random(0, 40) do
        chars[i] = string.char(math.random(0, 255))
      end
      local text = table.concat(chars)
      assert.are.equal(reference(text), core.percent_encode(text))
    end
  end)
end)

describe("lifetimes on Lua 5.4", function()
  local handle = support.server()

  if not _VERSION:find("5%.4") then
    it("need Lua 5.4's to-be-closed variables (skipped because this is " .. _VERSION .. ")", function() end)
    return
  end

  -- Compiled at run time: `<close>` does not parse before 5.4.
  local function run(source, ...)
    return assert(load(source, "=lifetimes", "t", _ENV))(...)
  end

  it("closes a client declared <close> at the end of its block", function()
    local client = run(
      [[
      local server = ...
      local kept
      do
        local client <close> = server:client()
        client.keys.list()
        kept = client
        assert(kept.transport ~= nil)
      end
      return kept
    ]],
      handle.server
    )
    assert.is_nil(client.transport)
  end)

  it("closes a keys.each walk on break: the walk lets go of its page and ends", function()
    local server = handle.server
    server:seed({ count = 5 })
    local first, after_break = run(
      [[
      local keys = ...
      local iterator, first
      local function walk()
        local step, state, control, closing = keys.each()
        iterator = step
        return step, state, control, closing
      end
      for key in walk() do
        first = key
        break
      end
      return first, iterator()
    ]],
      server:client().keys
    )
    assert.is_string(first.hash)
    assert.is_nil(after_break)
  end)
end)
