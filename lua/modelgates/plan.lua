--- How a call is planned: the call's options over the client's over the
--- defaults and the environment, the checked server URL and proxy, the
--- header lines (worked out once per set of options, see `for_call`), and
--- the request the host is handed (`request`). Everything is checked here,
--- before anything is sent.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local api = require("modelgates.api")
local validate = require("modelgates.validate")
local retry = require("modelgates.retry")
local proxy = require("modelgates.proxy")

local null = core.null
local percent_encode = core.percent_encode

local planning = {}

local HOST_NAME = rawget(_G, "jit") and _G.jit.version or _VERSION
local MODULE_USER_AGENT = ("lua-modelgates/%s (%s; libcurl/%s)"):format(core.version, HOST_NAME, core.curl_version)

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

--- The plan of a call of client `self`: the client's own, made once, for a
--- call without options of its own (unless the environment it read has
--- changed).
function planning.for_call(self, call_options, context)
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

--- The request for the host, and the call's plan. `path` is the
--- operation's, parameters encoded.
function planning.request(self, context, op, path, input, call_options)
  local query = op.query and encode_query(op.query, validate.fields(op.query, input, context, "params.")) or ""
  local body = op.body and core.json_encode(validate.fields(op.body, input, context, "body."))
  local call_plan = planning.for_call(self, call_options, context)
  local options = call_plan.options
  return {
    method = op.method,
    url = call_plan.base_url .. path .. query,
    headers = body and call_plan.body_header_lines or call_plan.header_lines,
    body = body,
    connect_timeout = options.connect_timeout,
    stall_timeout = options.stall_timeout,
    ca_file = options.ca_file,
    ca_path = options.ca_path,
    max_response_bytes = options.max_response_bytes,
    once = op.once,
    compressed = options.compression ~= false,
    proxy = call_plan.proxy_url,
  },
    call_plan
end

return planning
