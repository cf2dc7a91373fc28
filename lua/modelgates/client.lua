--- The generic engine: runs any operation declared in modelgates.api in three
--- steps kept apart (build the request, perform it, interpret the response).
--- The middle step is the host's (modelgates.host): the blocking libcurl
--- transport by default, a coroutine host inside modelgates.gather.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local api = require("modelgates.api")
local validate = require("modelgates.validate")
local retry = require("modelgates.retry")
local host = require("modelgates.host")
local proxy = require("modelgates.proxy")

local null = core.null
local unpack = table.unpack or unpack -- luacheck: ignore 143

local client = {}

local HOST_NAME = rawget(_G, "jit") and _G.jit.version or _VERSION
local MODULE_USER_AGENT = ("lua-modelgates/%s (%s; libcurl/%s)"):format(core.version, HOST_NAME, core.curl_version)

--- A hash is 64 hex characters; far longer is no hash, and refused before
--- a URL is built of it.
local path_param_spec = { type = "string", max_length = 1024 }

local percent_encode = core.percent_encode

--- The call's options over the client's over the defaults.
local function merge_options(client_options, call_options)
  local merged = {}
  for _, options in ipairs({ api.defaults, client_options, call_options }) do
    for name, value in pairs(options) do
      merged[name] = value
    end
  end
  return merged
end

local function is_loopback(host_name)
  return host_name == "localhost" or host_name == "::1" or host_name:find("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- A key is never sent in clear over a network by accident: not to a host
--- that is not loopback, not through a proxy that is not, and not to a host
--- hidden behind user info ("http://127.0.0.1@elsewhere/").
local function check_server_url(url, options, proxy_url, context)
  local scheme, host_name, userinfo = proxy.split_url(url)
  if userinfo then
    validate.fail(context, "server_url", "a URL without user info", url)
  end
  if scheme == "http" and not options.allow_insecure_http then
    if not is_loopback(host_name) then
      validate.fail(
        context,
        "server_url",
        "https:// (http:// only to a loopback host, unless allow_insecure_http = true)",
        url
      )
    end
    if proxy_url and not is_loopback((select(2, proxy.split_url(proxy_url)))) then
      validate.fail(
        context,
        "server_url",
        "https:// when the proxy is not on loopback (through it, http:// "
          .. "would show the key to the network), unless allow_insecure_http = true",
        url
      )
    end
  end
end

--- An option given neither to the client nor to the call comes from the
--- environment; it is checked like the option itself. `env_seen` records
--- what was read, so that a plan made with it is remade when it changes.
local function read_env(name, env_seen)
  local value = os.getenv(name)
  env_seen[name] = value or false
  if value ~= "" then
    return value
  end
end

local function option_or_env(options, name, env_name, context, env_seen)
  if options[name] ~= nil then
    return options[name]
  end
  local value = read_env(env_name, env_seen)
  if value == nil then
    return nil
  end
  return validate.value(api.options[name], value, context, env_name)
end

--- The plan's proxy, if any (modelgates.proxy), checked like the option.
local function resolve_proxy(options, server_url, context, env_seen)
  local chosen, source = proxy.choose(server_url, function(name, from_env)
    if not from_env then
      return options[name]
    end
    return read_env(name, env_seen)
  end)
  if chosen == nil then
    return nil
  end
  return validate.value(api.options.proxy, proxy.with_scheme(chosen), context, source)
end

local function resolve_api_key(options, context, env_seen)
  local key = option_or_env(options, "api_key", "MODELGATES_API_KEY", context, env_seen)
  if key == nil then
    error(
      errors.new("ValidationError", {
        field = "api_key",
        message = context .. ": no API key: pass api_key to modelgates.new{} or set MODELGATES_API_KEY",
      }),
      0
    )
  end
  return key
end

--- "Name: value" lines from { name, value } pairs, in order; a later header
--- replaces an earlier one of the same name, whatever its case.
local function header_lines(header_pairs)
  local lines, index_of = {}, {}
  for _, header in ipairs(header_pairs) do
    local key = header[1]:lower()
    local at = index_of[key] or #lines + 1
    index_of[key] = at
    lines[at] = header[1] .. ": " .. header[2]
  end
  return lines
end

--- Appends the pairs of a table of extra headers, in a stable order.
local function append_headers(header_pairs, extra)
  for _, name in ipairs(extra and validate.sorted_names(extra) or {}) do
    header_pairs[#header_pairs + 1] = { name, extra[name] }
  end
end

--- The header lines of a request, with a body or without.
local function request_header_lines(options, api_key, client_headers, call_headers, with_body)
  local header_pairs = {
    { "Authorization", "Bearer " .. api_key },
    { "Accept", "application/json" },
    {
      "User-Agent",
      options.user_agent and (options.user_agent .. " " .. MODULE_USER_AGENT) or MODULE_USER_AGENT,
    },
  }
  if with_body then
    header_pairs[#header_pairs + 1] = { "Content-Type", "application/json" }
  end
  append_headers(header_pairs, client_headers)
  append_headers(header_pairs, call_headers)
  return header_lines(header_pairs)
end

--- What every call with the same options shares, worked out once: the
--- options over the client's over the defaults, the retry settings, the
--- checked server URL and the header lines.
local function make_plan(client_options, call, context)
  local options, env_seen = merge_options(client_options, call or {}), {}
  local api_key = resolve_api_key(options, context, env_seen)
  local base = option_or_env(options, "server_url", "MODELGATES_BASE_URL", context, env_seen) or api.default_server_url
  local proxy_url = resolve_proxy(options, base, context, env_seen)
  check_server_url(base, options, proxy_url, context)
  local call_headers = call and call.headers
  local secrets = proxy_url and proxy.secrets(proxy_url) or {}
  table.insert(secrets, 1, api_key)
  return {
    options = options,
    api_key = api_key,
    proxy_url = proxy_url,
    secrets = secrets,
    retry_settings = retry.settings(options),
    base_url = base:gsub("/+$", ""),
    header_lines = request_header_lines(options, api_key, client_options.headers, call_headers, false),
    body_header_lines = request_header_lines(options, api_key, client_options.headers, call_headers, true),
    env_seen = next(env_seen) and env_seen,
  }
end

--- Whether the environment variables a plan read, if any, still say the same.
local function env_unchanged(plan)
  if not plan.env_seen then
    return true
  end
  for name, seen in pairs(plan.env_seen) do
    if (os.getenv(name) or false) ~= seen then
      return false
    end
  end
  return true
end

--- The plan of a call: the client's own, made once, for a call without
--- options of its own (unless the environment it read has changed).
local function plan_for(self, call_options, context)
  local call = call_options ~= nil and validate.fields(api.options, call_options, context, "options.") or nil
  if call ~= nil and next(call) ~= nil then
    return make_plan(self.options, call, context)
  end
  local plan = self.plan
  if not (plan and env_unchanged(plan)) then
    plan = make_plan(self.options, nil, context)
    self.plan = plan
  end
  return plan
end

local function encode_query(specs, values)
  local parts = {}
  for _, name in ipairs(validate.spec_names(specs)) do
    local value = values[name]
    if value ~= nil and value ~= null then
      local text = type(value) == "number" and ("%d"):format(value) or tostring(value)
      parts[#parts + 1] = name .. "=" .. percent_encode(text)
    end
  end
  return #parts > 0 and "?" .. table.concat(parts, "&") or ""
end

--- Step one: everything is checked here, before anything is sent.
--- `path` is the operation's, parameters encoded.
local function build_request(self, context, op, path, input, call_options)
  local query = op.query and encode_query(op.query, validate.fields(op.query, input, context, "params.")) or ""
  local body = op.body and core.json_encode(validate.fields(op.body, input, context, "body."))
  local plan = plan_for(self, call_options, context)
  local options = plan.options
  return {
    method = op.method,
    url = plan.base_url .. path .. query,
    headers = body and plan.body_header_lines or plan.header_lines,
    body = body,
    connect_timeout = options.connect_timeout,
    stall_timeout = options.stall_timeout,
    ca_file = options.ca_file,
    ca_path = options.ca_path,
    max_response_bytes = options.max_response_bytes,
    once = op.once,
    compressed = options.compression ~= false,
    proxy = plan.proxy_url,
  },
    plan
end

local function is_key_record(value)
  return type(value) == "table" and type(value.hash) == "string"
end

--- What each kind named in an operation's `returns` accepts.
local shapes = {
  object = function(value)
    return type(value) == "table"
  end,
  string = function(value)
    return type(value) == "string"
  end,
  boolean = function(value)
    return type(value) == "boolean"
  end,
  key_record = is_key_record,
  -- A page is thousands of records: the check is inlined, not a call each.
  key_records = function(value)
    if type(value) ~= "table" or (next(value) ~= nil and value[1] == nil) then
      return false
    end
    for i = 1, #value do
      local record = value[i]
      if type(record) ~= "table" or type(record.hash) ~= "string" then
        return false
      end
    end
    return true
  end,
}

local shape_names = {
  object = "an object",
  string = "a string",
  boolean = "a boolean",
  key_record = "a key record with a hash",
  key_records = "an array of key records",
}

--- Step three, after the C core decoded the body: the fields the operation
--- promises are there (nil when they are). Anything else passes through
--- untouched.
local function returns_error(context, op, body, res)
  for field, kind in pairs(op.returns) do
    if not shapes[kind](body[field]) then
      return errors.new("ResponseValidationError", {
        message = ("%s: response field %q: expected %s"):format(context, field, shape_names[kind]),
        status_code = res.status,
        headers = res.headers,
        body = res.body,
      })
    end
  end
  return nil
end

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
  local request, plan = build_request(self, context, op, path, input, call_options)
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
    local body
    if res then
      body, err = core.decode_response(res, op.success)
      err = err or returns_error(context, op, body, res)
      if not err then
        return body, response_of(res, attempt)
      end
      if res.body_truncated then
        err.body_truncated = true
        err.message = tostring(err.message) .. " (its body was cut at max_response_bytes)"
      end
      -- What the server or a proxy sent back may echo a secret, or carry a
      -- create's key.
      errors.redact(err, plan.secrets)
      if type(body) == "table" and type(body.key) == "string" then
        errors.redact(err, { body.key })
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
