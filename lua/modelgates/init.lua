--- lua-modelgates: a client for the ModelGates API-key management API.
---
---     local modelgates = require("modelgates")
---     local page = modelgates.keys.list{ include_disabled = true }
---
--- types.lua beside this file annotates the whole API (class ModelGates).

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local api = require("modelgates.api")
local validate = require("modelgates.validate")
local client = require("modelgates.client")
local gather = require("modelgates.gather")

---@class ModelGates
local modelgates = {
  --- The module's version.
  version = core.version,
  --- Sent as JSON null: `limit = modelgates.null` removes a limit, where an
  --- absent `limit` leaves it as it is.
  null = core.null,
  --- Every error type; `err:is(modelgates.errors.APIError)`.
  errors = errors,
}

--- Makes a client. Options left out come from the environment at each call:
--- `api_key` from MODELGATES_API_KEY, `server_url` from MODELGATES_BASE_URL.
function modelgates.new(options)
  return client.new(validate.fields(api.options, options, "modelgates.new", "options."))
end

--- Runs functions as tasks whose module calls run at the same time; see
--- modelgates.gather.
modelgates.gather = gather

local unpack = table.unpack or unpack -- luacheck: ignore 143

--- Runs `fn(...)` as a script's main function and returns what it returns.
--- If it raises, the error's one-line form and a traceback go to stderr and
--- the process exits with status 1: Lua 5.1's interpreter, given an error
--- object, prints only "(error object is not a string)".
function modelgates.main(fn, ...)
  if type(fn) ~= "function" then
    validate.fail("modelgates.main", "fn", "a function", fn)
  end
  local count, args = select("#", ...), { ... }
  local function packed(...)
    return { n = select("#", ...), ... }
  end
  local outcome = packed(xpcall(function()
    return fn(unpack(args, 1, count))
  end, function(err)
    return debug.traceback(tostring(err), 2)
  end))
  if outcome[1] then
    return unpack(outcome, 2, outcome.n)
  end
  io.stderr:write(arg and arg[0] or "lua", ": ", outcome[2], "\n")
  os.exit(1)
end

--- The default client's operations: the key and the server come from the
--- environment (MODELGATES_API_KEY, MODELGATES_BASE_URL).
modelgates.keys = modelgates.new().keys

return modelgates
