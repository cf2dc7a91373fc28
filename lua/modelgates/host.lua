--- The seam between the engine (modelgates.client) and the place a call
--- runs. A host gives the engine three things; everything else (building a
--- request, retries, deadlines, judging the answer) stays the engine's, so
--- every host keeps the same promises:
---
--- * `host:perform(client, request)` sends one request and returns the
---   transport's answer `{ status, reason, headers, body, requests_sent }`,
---   or `nil, err` with `err` a ModelGatesTransportError (types.lua): its
---   `request_sent`, `requests_sent`, `transient` and `limit` are what the
---   retry policy reads.
--- * `host:sleep(seconds)` waits between two tries.
--- * `host:now()` is a clock in seconds for the call's deadline, the same
---   one across the call.
---
--- The blocking host below is the default. A host that runs calls as
--- coroutines (modelgates.gather, modelgates.nvim) sets `host.ambient`
--- while it resumes one of them, so that the calls made there find it.

local core = require("modelgates.core")
local errors = require("modelgates.errors")

local host = {}

--- Today's libcurl easy transport, one per client so that its connection
--- is kept alive, and a plain sleep.
---@type ModelGatesHost
host.blocking = {
  perform = function(_, client, request)
    local transport = client.transport
    if not transport then
      transport = core.transport()
      client.transport = transport
    end
    return transport:perform(request)
  end,
  sleep = function(_, seconds)
    core.sleep(seconds)
  end,
  now = function()
    return core.now()
  end,
}

--- The host of calls made outside any coroutine host.
host.default = host.blocking

--- Set by a coroutine host while it runs one of its calls.
host.ambient = nil

-- Inside nginx the host depends on the phase: modelgates.cosocket decides.
local openresty = rawget(_G, "ngx") and ngx.get_phase and ngx.socket and require("modelgates.cosocket") -- luacheck: ignore 113

--- The host a call made now runs on; `transport` is the call's option
--- ("curl" or "cosocket"), which only OpenResty has a choice of.
---@param transport? "curl"|"cosocket"
---@return ModelGatesHost
function host.current(transport)
  if host.ambient then
    return host.ambient
  end
  if openresty then
    return openresty.host_for(transport, host.default)
  end
  if transport == "cosocket" then
    error(
      errors.new("ValidationError", {
        field = "transport",
        message = 'modelgates: transport = "cosocket" needs OpenResty (nginx with its Lua module)',
      }),
      0
    )
  end
  return host.default
end

return host
