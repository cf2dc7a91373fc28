--- The generic engine: runs any operation declared in modelgates.api in three
--- steps kept apart: how a call is planned (modelgates.plan), how it is run
--- and retried (here: the request goes to the host, modelgates.host, the
--- blocking libcurl transport by default, a coroutine host inside
--- modelgates.gather), and how an answer is judged (modelgates.judge). Here
--- too: the functions of a client's `keys`, bound to the operations.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local api = require("modelgates.api")
local validate = require("modelgates.validate")
local retry = require("modelgates.retry")
local host = require("modelgates.host")
local proxy = require("modelgates.proxy")
local planning = require("modelgates.plan")
local judge = require("modelgates.judge")

local null = core.null
local unpack = table.unpack or unpack -- luacheck: ignore 143

local client = {}

--- A hash is 64 hex characters; far longer is no hash, and refused before
--- a URL is built of it.
local path_param_spec = { type = "string", max_length = 1024 }

local percent_encode = core.percent_encode

--- The debug hook sees what is sent and received, never a secret: the
--- Authorization header is redacted and bodies are not shown (a create's
--- answer holds the plaintext key).
local function trace(options, format, ...)
  if not options.debug then
    return
  end
  -- A hook's failure never changes the call's outcome: it is reported, once
  -- per line, on stderr.
  local ok, problem = pcall(options.debug, ("modelgates: " .. format):format(...))
  if not ok then
    io.stderr:write("modelgates: the debug hook raised: ", tostring(problem), "\n")
  end
end

local function trace_request(options, request, attempt)
  local shown = {}
  for i, line in ipairs(request.headers) do
    shown[i] = line:sub(1, 14):lower() == "authorization:" and "Authorization: [REDACTED]" or line
  end
  trace(
    options,
    "attempt %d: %s %s%s [%s]%s",
    attempt,
    request.method,
    request.url,
    request.proxy and " via proxy " .. proxy.shown(request.proxy) or "",
    table.concat(shown, "; "),
    request.body and (" with a %d-byte body"):format(#request.body) or ""
  )
end

local function trace_outcome(options, res, err, attempt)
  if res then
    trace(options, "attempt %d: HTTP %d, %d-byte body", attempt, res.status, #res.body)
  else
    trace(options, "attempt %d: %s", attempt, tostring(err))
  end
end

--- The transport's answer becomes the caller's response record.
local function response_of(res, attempts)
  res.requests_sent = nil
  res.attempts = attempts
  return res
end

--- The error to raise after the last try, with what the caller can act on.
local function final_error(err, res, attempt, elapsed, hint, op, outcome_unknown)
  err.attempts = attempt
  err.elapsed = elapsed
  err.retry_after = hint
  if op.once and outcome_unknown then
    err.maybe_created = true
  end
  if res and res.status >= 300 and res.status < 400 then
    err.location = res.headers.location
    err.message = ("redirect (HTTP %d) not followed: the key is only ever sent to server_url"):format(res.status)
  end
  return err
end

--- Runs one operation on the current host (modelgates.host): tries it until
--- it succeeds, or until the retry policy, the attempts or the time say stop.
local function run(self, context, op, path, input, call_options)
  local request, plan = planning.request(self, context, op, path, input, call_options)
  local options, settings = plan.options, plan.retry_settings
  local on = host.current(options.transport)
  local started = on:now()
  local deadline = started + options.timeout
  local outcome_unknown = false
  local attempt = 0
  request.timeout = options.timeout
  while true do
    if options.debug then
      trace_request(options, request, attempt + 1)
    end
    local res, err = on:perform(self, request)
    if err then
      errors.redact(err, plan.secrets)
    end
    -- libcurl re-sends on its own when a reused connection died unanswered:
    -- each request sent is an attempt, and the first one's outcome unknown.
    local sent = (res or err).requests_sent
    attempt = attempt + math.max(sent, 1)
    outcome_unknown = outcome_unknown or sent > 1
    if options.debug then
      trace_outcome(options, res, err, attempt)
    end
    if res then
      local body
      body, err = judge.answer(context, op, res, plan.secrets)
      if body then
        return body, response_of(res, attempt)
      end
      if op.absent_means_done and outcome_unknown and res.status == 404 then
        local done = {}
        for field, value in pairs(op.absent_means_done) do
          done[field] = value
        end
        return done, response_of(res, attempt)
      end
    end
    local retryable, maybe_processed = retry.assess(op, res, err)
    outcome_unknown = outcome_unknown or maybe_processed
    local hint = res and retry.server_hint(res.headers, os.time())
    local wait = retryable and settings and retry.next_wait(settings, attempt, started, deadline, hint, on:now())
    if not wait then
      error(final_error(err, res, attempt, on:now() - started, hint, op, outcome_unknown), 0)
    end
    trace(options, "waiting %.3f s before attempt %d", wait, attempt + 1)
    on:sleep(wait)
    request.timeout = math.max(deadline - on:now(), 0.001)
  end
end

--- A function of the keys table that calls `fn(n, ...)` with the call's
--- arguments, without the keys table itself when it was called as
--- keys:name(...); `n` counts them up to the last one that is not nil.
local function method_of(keys, fn)
  local function counted(n, ...)
    while n > 0 and select(n, ...) == nil do
      n = n - 1
    end
    return fn(n, ...)
  end
  return function(...)
    if rawequal(..., keys) then
      return counted(select("#", ...) - 1, select(2, ...))
    end
    return counted(select("#", ...), ...)
  end
end

--- The names of an operation's arguments, in order (docs/generate.lua
--- documents them from here).
local function argument_names(op)
  local names = { unpack(op.path_params or {}) }
  if op.query then
    names[#names + 1] = "params"
  end
  if op.body then
    names[#names + 1] = "body"
  end
  names[#names + 1] = "options"
  return names
end

--- A function of the call's arguments that returns the operation's path
--- with its parameters checked and encoded: "/keys/{hash}" is split once,
--- here, into literal pieces and the argument each parameter comes from
--- (its place in `path_params`).
local function path_builder(op, context)
  local argument_of = {}
  for i, name in ipairs(op.path_params or {}) do
    argument_of[name] = i
  end
  local pieces, names, from = {}, {}, 1
  for start, name, stop in op.path:gmatch("(){(%w+)}()") do
    pieces[#pieces + 1] = op.path:sub(from, start - 1)
    names[#names + 1] = name
    from = stop
  end
  local tail = op.path:sub(from)
  return function(...)
    local path = ""
    for i, name in ipairs(names) do
      local value = select(argument_of[name], ...)
      if type(value) ~= "string" or value == "" or #value > path_param_spec.max_length then
        validate.value(path_param_spec, value, context, name)
      end
      path = path .. pieces[i] .. percent_encode(value)
    end
    return path .. tail
  end
end

local function bind(self, keys, name, op)
  local names = argument_names(op)
  local context = "modelgates.keys." .. name
  local build_path = path_builder(op, context)
  local input_at = op.path_params and #op.path_params + 1 or 1
  local options_at = (op.query or op.body) and input_at + 1 or input_at
  return method_of(keys, function(n, ...)
    if n > #names then
      validate.fail(
        context,
        "arguments",
        ("at most %d (%s)"):format(#names, table.concat(names, ", ")),
        (select(#names + 1, ...))
      )
    end
    local input = options_at > input_at and (select(input_at, ...)) or nil
    return run(self, context, op, build_path(...), input, (select(options_at, ...)))
  end)
end

--- An iterator over every key of every page of `list`. It stops at an
--- empty page, or at one with nothing it has not yielded (a server that
--- ignored the offset), never at a short page: the server's page size is
--- the server's, and a short page may come before a full one.
local function bind_each(keys)
  local list_query = api.operations.list.query
  local context = "modelgates.keys.each"
  return method_of(keys, function(_, params, call_options)
    local query = validate.fields(list_query, params, context, "params.")
    validate.fields(api.options, call_options, context, "options.")
    local offset = (query.offset == nil or query.offset == null) and 0 or query.offset
    local page, index, fresh, done = {}, 0, true, false
    local seen = {}
    -- Lua 5.4's generic for closes this on `break`: the walk lets go of its
    -- page and of what it has seen (older Lua takes three values and no more).
    local walk = setmetatable({}, {
      __close = function()
        page, seen, done = {}, {}, true
      end,
    })
    return function()
      while true do
        index = index + 1
        local key = page[index]
        if key then
          if not seen[key.hash] then
            seen[key.hash], fresh = true, true
            return key
          end
        elseif done or not fresh then
          done = true
          return nil
        else
          query.offset = offset
          page, index, fresh = keys.list(query, call_options).data, 0, false
          offset = offset + #page
          done = #page == 0
        end
      end
    end,
      nil,
      nil,
      walk
  end)
end

local client_mt

--- Closes the connection now rather than when the client is collected; one
--- close for `client:close()` and Lua 5.4's `local c <close> = ...`.
local function close_client(self)
  if getmetatable(self) ~= client_mt then
    validate.fail("client.close", "self", "the client (client:close())", self)
  end
  if self.transport then
    self.transport:close()
  end
  self.transport = nil
end

client.argument_names = argument_names

client_mt = {
  __index = { close = close_client },
  __close = close_client,
  __tostring = function(self)
    return ("modelgates.client (%s)"):format(self.options.server_url or "default server")
  end,
}

--- A client for the checked options `options`.
---@param options table
---@return table
function client.new(options)
  local self = setmetatable({ options = options }, client_mt)
  local keys = {}
  for name, op in pairs(api.operations) do
    keys[name] = bind(self, keys, name, op)
  end
  keys.each = bind_each(keys)
  self.keys = keys
  return self
end

return client
