-- Shared by the specs: one local server per describe block, back to its
-- start state before each test so that no test depends on another.
local busted = require("busted")
local testing = require("modelgates.testing")
local cjson = require("cjson")
local assert = require("luassert")

local support = {}

--- Declares setup/teardown for a server of `options`; the returned table's
--- `server` field is set once the block runs.
function support.server(options)
  local handle = {}
  busted.setup(function() handle.server = testing.start_server(options) end)
  busted.teardown(function()
    if handle.server then handle.server:stop() end
  end)
  busted.before_each(function() handle.server:reset() end)
  return handle
end

--- The one request the server received since the last reset.
function support.only_request(server)
  local requests = server:requests()
  assert.are.equal(1, #requests, "expected exactly one request")
  return requests[1]
end

--- A request body decoded with JSON nulls kept, to tell null from absent.
function support.raw_json(text)
  return cjson.decode(text)
end

support.json_null = cjson.null

--- Runs `fn`, which must raise a modelgates error of class `class`; returns it.
function support.raises(class, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.are.equal("table", type(err), "expected an error object, got " .. tostring(err))
  assert.is_true(err:is(class), "expected " .. class.name .. ", got " .. tostring(err))
  return err
end

return support
