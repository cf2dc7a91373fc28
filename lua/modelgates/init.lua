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

--- The default client's operations: the key and the server come from the
--- environment (MODELGATES_API_KEY, MODELGATES_BASE_URL).
modelgates.keys = modelgates.new().keys

return modelgates
