-- A stateful local stand-in for the ModelGates API-keys HTTP API, for tests, the demo and
-- benchmarks. It keeps keys in memory, logs every API request and can inject faults; the
-- /__control/ endpoints expose all of that to the test that drives it.

local cqueues = require("cqueues")
local cqueues_signal = require("cqueues.signal")
local http_headers = require("http.headers")
local http_server = require("http.server")
local http_tls = require("http.tls")
local http_util = require("http.util")
local reason_phrases = require("http.h1_reason_phrases")
local openssl_bignum = require("openssl.bignum")
local openssl_digest = require("openssl.digest")
local openssl_pkey = require("openssl.pkey")
local openssl_rand = require("openssl.rand")
local x509 = require("openssl.x509")
local x509_altname = require("openssl.x509.altname")
local x509_extension = require("openssl.x509.extension")
local x509_name = require("openssl.x509.name")
local zlib = require("zlib")

-- A private instance, so the settings below never leak into other cjson users in this process.
local cjson = require("cjson").new()
-- NaN, Infinity and hex literals are not JSON; a body holding them is invalid, as upstream.
cjson.decode_invalid_numbers(false)
local null = cjson.null

local DEFAULT_WORKSPACE = "0df9e665-d932-5740-b2c7-b52af166bc11"
local KEY_PREFIX = "sk-mg-v1-"
local USAGE_FIELDS = {
  "usage",
  "usage_daily",
  "usage_weekly",
  "usage_monthly",
  "byok_usage",
  "byok_usage_daily",
  "byok_usage_weekly",
  "byok_usage_monthly",
}
-- Integers up to here are exact in a double, which is all a JSON number can promise.
local MAX_INTEGER = 2 ^ 53
-- Long enough that a test pausing between requests still finds its keep-alive connection open;
-- a close under a reusing client would show up as a spurious extra connection.
local IDLE_CONNECTION_SECONDS = 120
local PROCESS_POLL_SECONDS = 0.5
local NO_FAULT = { headers = {} }

local USAGE = [[
usage: modelgates-server [--host 127.0.0.1|::1|localhost] [--port N] [--tls] [--tls-name NAME] [--http2]
                         [--management-key K] [--key K] [--page-size N] [--watch-pid PID] [--verbose]
Prints its base URL, with --tls ca_file=PATH, then management_key=K and key=K (test keys;
by default mg-dev-management-key and mg-dev-normal-key). --verbose also reports TLS
handshakes that clients refused.
]]

---------------------------------------------------------------------------------------------------
-- Small helpers

-- One format call per string rather than one per byte: seeding thousands of keys stays quick.
local function to_hex(bytes)
  return string.rep("%02x", #bytes):format(bytes:byte(1, -1))
end

local function sha256_hex(text)
  return to_hex(openssl_digest.new("sha256"):final(text))
end

local function label_of(key)
  return key:sub(1, 12) .. "..." .. key:sub(-3)
end

local function or_null(value)
  if value == nil then
    return null
  end
  return value
end

local function with_zero_usage(record)
  for _, name in ipairs(USAGE_FIELDS) do
    record[name] = 0
  end
  return record
end

-- os.time has whole seconds only; the monotonic clock supplies the fraction the real API shows.
local wall_anchor, monotonic_anchor = os.time(), cqueues.monotime()

local function now()
  return wall_anchor + (cqueues.monotime() - monotonic_anchor)
end

local function timestamp_micro(time)
  local seconds = math.floor(time)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%06d+00:00", math.floor((time - seconds) * 1e6))
end

local function timestamp_seconds(time)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(time))
end

-- Query strings use form encoding, where "+" stands for a space.
local function decode_form(text)
  return http_util.decodeURIComponent((text:gsub("%+", " ")))
end

---------------------------------------------------------------------------------------------------
-- JSON

-- cjson 2.1.0 encodes an empty table as {}, so arrays that may be empty are joined by hand.
local function json_array(list)
  local parts = {}
  for index, item in ipairs(list) do
    parts[index] = cjson.encode(item)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function object_with_array(field, list)
  return '{"' .. field .. '":' .. json_array(list) .. "}"
end

local function error_body(status, message)
  return cjson.encode({ error = { code = status, message = message, metadata = null }, user_id = null })
end

local function reply(status, payload)
  return status, cjson.encode(payload)
end

local function fail(status, message)
  return status, error_body(status, message)
end

local function acknowledge()
  return reply(200, { ok = true })
end

---------------------------------------------------------------------------------------------------
-- Validation. A rule is function(value, name) returning an error message, or nil when valid.
-- These rules are the server's own, written apart from modelgates.api on purpose: checks that
-- shared the client's could not catch the client's mistakes.

local function rule(is_valid, wording)
  return function(value, name)
    if not is_valid(value) then
      return name .. " must be " .. wording
    end
  end
end

local function nullable(check)
  return function(value, name)
    if value ~= null then
      return check(value, name)
    end
  end
end

local function one_of(allowed, wording)
  return rule(function(value)
    return allowed[value] ~= nil
  end, wording)
end

local function integer_between(low, high, wording)
  return rule(function(value)
    return type(value) == "number" and value == math.floor(value) and value >= low and value <= high
  end, wording)
end

local is_string = rule(function(value)
  return type(value) == "string"
end, "a string")

local is_non_empty_string = rule(function(value)
  return type(value) == "string" and value ~= ""
end, "a non-empty string")

local is_boolean = rule(function(value)
  return type(value) == "boolean"
end, "a boolean")

local is_non_negative_number = rule(function(value)
  return type(value) == "number" and value >= 0 and value < math.huge
end, "a number >= 0")

local function qualified(subject, name)
  if subject then
    return subject .. "." .. name
  end
  return name
end

local function check_fields(object, spec, required, subject)
  if type(object) ~= "table" then
    return (subject or "body") .. " must be a JSON object"
  end
  for name in pairs(object) do
    if type(name) ~= "string" or not spec[name] then
      return "unknown field: " .. qualified(subject, tostring(name))
    end
  end
  if required and object[required] == nil then
    return qualified(subject, required) .. " is required"
  end
  for name, value in pairs(object) do
    local problem = spec[name](value, qualified(subject, name))
    if problem then
      return problem
    end
  end
end

local function check_utc_time(value, name)
  local invalid = name .. " must be an RFC 3339 date-time"
  if type(value) ~= "string" then
    return invalid
  end
  local year, month, day, hour, minute, second, zone =
    value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d)(.*)$")
  if not year then
    return invalid
  end
  zone = zone:gsub("^%.%d+", "", 1)
  month, day, hour, minute, second = tonumber(month), tonumber(day), tonumber(hour), tonumber(minute), tonumber(second)
  if month < 1 or month > 12 or day < 1 or day > 31 or hour > 23 or minute > 59 or second > 60 then
    return invalid
  end
  if zone == "Z" or zone == "z" or zone == "+00:00" then
    return nil
  end
  if zone:match("^[+-]%d%d:%d%d$") then
    return name .. " must be UTC"
  end
  return invalid
end

local EXTERNAL_FIELDS = { user = is_string, api_key = is_string }

local CREATE_FIELDS = {
  name = is_non_empty_string,
  limit = nullable(is_non_negative_number),
  limit_reset = nullable(one_of({ daily = true, weekly = true, monthly = true }, "daily, weekly, monthly or null")),
  include_byok_in_limit = is_boolean,
  expires_at = nullable(check_utc_time),
  workspace_id = is_string,
  creator_user_id = nullable(is_string),
  external = function(value, name)
    return check_fields(value, EXTERNAL_FIELDS, "user", name)
  end,
}

local UPDATE_FIELDS = {
  name = CREATE_FIELDS.name,
  disabled = is_boolean,
  limit = CREATE_FIELDS.limit,
  limit_reset = CREATE_FIELDS.limit_reset,
  include_byok_in_limit = CREATE_FIELDS.include_byok_in_limit,
}

local LIST_QUERY = {
  include_disabled = one_of({ ["true"] = true, ["false"] = true }, "true or false"),
  offset = rule(function(value)
    return value:match("^%d+$") ~= nil
  end, "a non-negative integer"),
  workspace_id = is_string,
}

local SEED_FIELDS = {
  count = integer_between(0, MAX_INTEGER, "a non-negative integer"),
  workspace_id = is_string,
  disabled = is_boolean,
  name_prefix = is_string,
}

-- Framing is the server's job (see the chunked field); a fault that set these would corrupt it.
local FRAMING_HEADERS = { ["content-length"] = true, ["transfer-encoding"] = true }

local function check_fault_headers(value, name)
  if type(value) ~= "table" then
    return name .. " must be an object of strings"
  end
  for header, text in pairs(value) do
    if type(header) ~= "string" or not header:match("^[%w!#$%%&'*+.^_`|~-]+$") then
      return name .. " holds an invalid header name: " .. tostring(header)
    end
    if FRAMING_HEADERS[header:lower()] then
      return name .. "." .. header .. " cannot be set; use chunked"
    end
    if type(text) ~= "string" or text:find("[\r\n]") then
      return name .. "." .. header .. " must be a string without line breaks"
    end
  end
end

-- 1xx are not final answers, and lua-http refuses a Content-Length on 204 and 304.
local FAULT_STATUSES = {}
for status = 200, 599 do
  FAULT_STATUSES[status] = true
end
FAULT_STATUSES[204], FAULT_STATUSES[304] = nil, nil

local FAULT_FIELDS = {
  method = is_string,
  path = is_string,
  count = integer_between(1, MAX_INTEGER, "a positive integer"),
  status = one_of(FAULT_STATUSES, "an integer from 200 to 599 other than 204 and 304"),
  headers = check_fault_headers,
  body = is_string,
  apply = is_boolean,
  delay = is_non_negative_number,
  body_delay = is_non_negative_number,
  drop = one_of(
    { before_response = true, after_headers = true, mid_body = true },
    "before_response, after_headers or mid_body"
  ),
  chunked = is_boolean,
  inflate_to = integer_between(11, 1024 * 1024 * 1024, "a number of bytes from 11 to 1 GiB"),
}

local function check_fault_list(value, name)
  if type(value) ~= "table" then
    return name .. " must be an array"
  end
  local count = 0
  for _ in pairs(value) do
    count = count + 1
  end
  if count ~= #value then
    return name .. " must be an array"
  end
  for index, fault in ipairs(value) do
    local problem = check_fields(fault, FAULT_FIELDS, nil, name .. "[" .. index .. "]")
    if problem then
      return problem
    end
  end
end

local function decode_object(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return nil, "invalid JSON body"
  end
  -- cjson decodes [] and {} to the same empty table; only the text tells them apart.
  if not text:match("^%s*{") then
    return nil, "body must be a JSON object"
  end
  return value
end

local function parse_body(text, spec, required)
  local body, problem = decode_object(text)
  if body then
    problem = check_fields(body, spec, required)
  end
  if problem then
    return nil, problem
  end
  return body
end

local function parse_query(query, spec)
  local args = {}
  for pair in query:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=?(.*)$")
    name, value = decode_form(name), decode_form(value)
    if not spec[name] then
      return nil, "unknown query parameter: " .. name
    end
    if args[name] then
      return nil, "duplicate query parameter: " .. name
    end
    local problem = spec[name](value, name)
    if problem then
      return nil, problem
    end
    args[name] = value
  end
  return args
end

---------------------------------------------------------------------------------------------------
-- Key store: records by hash plus a doubly linked list, newest first, so that listing pages from
-- the front and deleting anywhere both stay cheap with tens of thousands of keys.

local function new_store()
  return { by_hash = {}, older = {}, newer = {}, newest = nil }
end

local function store_add(store, record)
  local hash, newest = record.hash, store.newest
  store.by_hash[hash] = record
  store.older[hash] = newest
  if newest then
    store.newer[newest] = hash
  end
  store.newest = hash
end

local function store_remove(store, hash)
  local older, newer = store.older[hash], store.newer[hash]
  if newer then
    store.older[newer] = older
  else
    store.newest = older
  end
  if older then
    store.newer[older] = newer
  end
  store.by_hash[hash], store.older[hash], store.newer[hash] = nil, nil, nil
end

local function select_page(store, wanted, offset, size)
  local page, taken, skipped = {}, 0, 0
  local hash = store.newest
  while hash and taken < size do
    local record = store.by_hash[hash]
    if wanted(record) then
      if skipped < offset then
        skipped = skipped + 1
      else
        taken = taken + 1
        page[taken] = record
      end
    end
    hash = store.older[hash]
  end
  return page
end

local function new_record(fields)
  local key = KEY_PREFIX .. to_hex(openssl_rand.bytes(32))
  local record = with_zero_usage({
    hash = sha256_hex(key),
    name = fields.name,
    label = label_of(key),
    disabled = false,
    limit = or_null(fields.limit),
    limit_remaining = or_null(fields.limit),
    limit_reset = or_null(fields.limit_reset),
    include_byok_in_limit = fields.include_byok_in_limit or false,
    created_at = timestamp_micro(now()),
    updated_at = null,
    creator_user_id = or_null(fields.creator_user_id),
    external_user = fields.external and fields.external.user or null,
    workspace_id = fields.workspace_id or DEFAULT_WORKSPACE,
  })
  -- Upstream omits expires_at for a key that never expires rather than sending null.
  if fields.expires_at ~= null then
    record.expires_at = fields.expires_at
  end
  return record, key
end

---------------------------------------------------------------------------------------------------
-- API handlers: function(self, request) returning status, body text and, for an operation that
-- changes state, a commit function. Keeping the change apart lets a fault skip it.

local function key_metadata(key, is_management)
  return with_zero_usage({
    label = label_of(key),
    limit = null,
    limit_remaining = null,
    limit_reset = null,
    include_byok_in_limit = false,
    is_free_tier = false,
    is_management_key = is_management,
    -- "provisioning key" is the older name of a management key; upstream sends both.
    is_provisioning_key = is_management,
    creator_user_id = "user_modelgates_local",
    organization_id = null,
    workspace_id = DEFAULT_WORKSPACE,
    allowed_data_regions = { "global" },
    rate_limit = { interval = "10s", note = "This field is deprecated and safe to ignore.", requests = 200 },
    free_model_daily_requests = { limit = 50, remaining = 50, used = 0 },
  })
end

local function get_current_key(_, request)
  return reply(200, { data = key_metadata(request.api_key, request.key_kind == "management") })
end

local function list_keys(self, request)
  local args, problem = parse_query(request.query, LIST_QUERY)
  if not args then
    return fail(400, problem)
  end
  local workspace = args.workspace_id or DEFAULT_WORKSPACE
  local include_disabled = args.include_disabled == "true"
  local page = select_page(self.store, function(record)
    return record.workspace_id == workspace and (include_disabled or not record.disabled)
  end, tonumber(args.offset or "0"), self.options.page_size)
  return 200, object_with_array("data", page)
end

local function create_key(self, request)
  local body, problem = parse_body(request.body, CREATE_FIELDS, "name")
  if not body then
    return fail(400, problem)
  end
  local record, key = new_record(body)
  return 201, cjson.encode({ data = record, key = key }), function()
    store_add(self.store, record)
  end
end

local function find_record(self, request)
  return self.store.by_hash[http_util.decodeURIComponent(request.segment)]
end

local function key_not_found()
  return fail(404, "API key not found")
end

local function get_key(self, request)
  local record = find_record(self, request)
  if not record then
    return key_not_found()
  end
  return reply(200, { data = record })
end

local function update_key(self, request)
  local body, problem = parse_body(request.body, UPDATE_FIELDS)
  if not body then
    return fail(400, problem)
  end
  local record = find_record(self, request)
  if not record then
    return key_not_found()
  end
  local updated = {}
  for name, value in pairs(record) do
    updated[name] = value
  end
  for name, value in pairs(body) do
    updated[name] = value
  end
  if body.limit ~= nil then
    updated.limit_remaining = body.limit
  end
  updated.updated_at = timestamp_seconds(now())
  return 200, cjson.encode({ data = updated }), function()
    self.store.by_hash[record.hash] = updated
  end
end

local function delete_key(self, request)
  local record = find_record(self, request)
  if not record then
    return key_not_found()
  end
  return 200, cjson.encode({ deleted = true }), function()
    store_remove(self.store, record.hash)
  end
end

local API_ROUTES = {
  { pattern = "^/api/v1/key$", methods = { GET = get_current_key } },
  { pattern = "^/api/v1/keys$", methods = { GET = list_keys, POST = create_key }, management = true },
  {
    pattern = "^/api/v1/keys/([^/]+)$",
    methods = { GET = get_key, PATCH = update_key, DELETE = delete_key },
    management = true,
  },
}

---------------------------------------------------------------------------------------------------
-- Control handlers (no auth, not logged, never faulted)

local function reset_state(self)
  self.store = new_store()
  self.log = {}
  self.faults = {}
  -- in_flight: API requests being answered now; max_in_flight: the most at once.
  -- body_bytes_sent: bytes of API response bodies as sent, compressed or not.
  self.stats = { connections = 0, requests = 0, in_flight = 0, max_in_flight = 0, body_bytes_sent = 0 }
  -- Weak keys: a closed connection is forgotten, only its count remains.
  self.api_connections = setmetatable({}, { __mode = "k" })
end

local function list_requests(self)
  return 200, object_with_array("requests", self.log)
end

local function clear_requests(self)
  self.log = {}
  return acknowledge()
end

local function list_all_keys(self)
  return 200,
    object_with_array(
      "data",
      select_page(self.store, function()
        return true
      end, 0, math.huge)
    )
end

local function seed_keys(self, request)
  local body, problem = parse_body(request.body, SEED_FIELDS, "count")
  if not body then
    return fail(400, problem)
  end
  local records = {}
  for index = 1, body.count do
    local record = new_record({ name = (body.name_prefix or "seed-key-") .. index, workspace_id = body.workspace_id })
    record.disabled = body.disabled or false
    store_add(self.store, record)
    records[index] = record
  end
  return 200, object_with_array("data", records)
end

local function reset(self)
  reset_state(self)
  return acknowledge()
end

local function show_stats(self)
  return reply(200, self.stats)
end

local function add_faults(self, request)
  local body, problem = decode_object(request.body)
  if not body then
    return fail(400, problem)
  end
  local envelope = body
  if body.faults == nil then
    envelope = { faults = { body } }
  end
  problem = check_fields(envelope, { faults = check_fault_list })
  if problem then
    return fail(400, problem)
  end
  for _, fault in ipairs(envelope.faults) do
    local headers = {}
    for name, value in pairs(fault.headers or {}) do
      headers[name:lower()] = value
    end
    fault.headers = headers
    fault.count = fault.count or 1
    self.faults[#self.faults + 1] = fault
  end
  return acknowledge()
end

local function clear_faults(self)
  self.faults = {}
  return acknowledge()
end

local CONTROL_ROUTES = {
  { pattern = "^/__control/requests$", methods = { GET = list_requests, DELETE = clear_requests } },
  { pattern = "^/__control/keys$", methods = { GET = list_all_keys } },
  { pattern = "^/__control/seed$", methods = { POST = seed_keys } },
  { pattern = "^/__control/reset$", methods = { POST = reset } },
  { pattern = "^/__control/stats$", methods = { GET = show_stats } },
  { pattern = "^/__control/faults$", methods = { POST = add_faults, DELETE = clear_faults } },
}

---------------------------------------------------------------------------------------------------
-- Dispatch

-- Returns the handler, or nil with the matched route (405) or nil alone (404).
local function route(routes, request)
  for _, entry in ipairs(routes) do
    local segment = request.path:match(entry.pattern)
    if segment then
      request.segment = segment
      return entry.methods[request.method], entry
    end
  end
end

local function dispatch(self, routes, request, authorize)
  local handler, entry = route(routes, request)
  if not entry then
    return fail(404, "Not found")
  end
  if not handler then
    return fail(405, "Method not allowed")
  end
  local status, body = authorize(self, request, entry)
  if status then
    return status, body
  end
  return handler(self, request)
end

local function bearer_token(headers)
  local value = headers:get("authorization")
  return value and value:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
end

local function authorize_api(self, request, entry)
  local token = bearer_token(request.headers)
  if not token then
    return fail(401, "No auth credentials found")
  end
  local kind = self.key_kinds[token]
  if not kind then
    return fail(401, "Invalid API key")
  end
  if entry.management and kind ~= "management" then
    return fail(403, "Only management keys can manage API keys")
  end
  request.api_key, request.key_kind = token, kind
end

local function authorize_control()
  return nil
end

local function log_entry(request)
  local headers = {}
  for name, value in request.headers:each() do
    if name == ":authority" then
      name = "host"
    end
    if name:sub(1, 1) ~= ":" then
      headers[name] = headers[name] and headers[name] .. ", " .. value or value
    end
  end
  return { method = request.method, path = request.path, query = request.query, headers = headers, body = request.body }
end

local function matches(fault, request)
  return (fault.method == nil or fault.method == request.method) and (fault.path == nil or fault.path == request.path)
end

local function take_fault(self, request)
  for index, fault in ipairs(self.faults) do
    if matches(fault, request) then
      fault.count = fault.count - 1
      if fault.count == 0 then
        table.remove(self.faults, index)
      end
      return fault
    end
  end
end

-- A fault that replaces or drops the answer stands in for the operation unless told to apply it;
-- one that only delays, reframes or adds headers still lets the operation happen.
local function fault_skips_operation(fault)
  return not fault.apply and (fault.status or fault.body or fault.drop or fault.inflate_to) ~= nil
end

local function faulted_answer(fault, status, body)
  local fault_status = fault.status or status
  if fault.body then
    return fault_status, fault.body
  end
  if fault_status ~= status and fault_status >= 400 then
    return fault_status, error_body(fault_status, reason_phrases[tostring(fault_status)] or "Error")
  end
  return fault_status, body
end

---------------------------------------------------------------------------------------------------
-- Compression: gzip when the request accepts it, as the real API's front end does.

local GZIP_WINDOW_BITS = 31

local function accepts_gzip(headers)
  for item in (headers:get_comma_separated("accept-encoding") or ""):gmatch("[^,]+") do
    local coding = item:match("^%s*([^;%s]+)")
    local quality = tonumber(item:match(";%s*[qQ]%s*=%s*([%d.]+)") or "1")
    if coding and (coding:lower() == "gzip" or coding == "*") and quality and quality > 0 then
      return true
    end
  end
  return false
end

-- The last body compressed, and its gzip: a benchmark asking for the same page again measures
-- the client, not this server's deflate.
local last_plain, last_gzip

local function gzip(text)
  if text ~= last_plain then
    last_plain, last_gzip = text, (zlib.deflate(zlib.BEST_COMPRESSION, GZIP_WINDOW_BITS)(text, "finish"))
  end
  return last_gzip
end

-- A valid JSON document of `size` bytes, mostly spaces, gzipped a mebibyte at a time: 64 MiB
-- of it is about 64 KiB on the wire, the ratio of a compression bomb. Kept per size, as a test
-- may send the same one more than once.
local bombs = {}

local function compression_bomb(size)
  if not bombs[size] then
    local deflate = zlib.deflate(zlib.BEST_COMPRESSION, GZIP_WINDOW_BITS)
    local parts, step = { (deflate('{"data":[')) }, 1024 * 1024
    local spaces, left = string.rep(" ", step), size - 11
    while left > 0 do
      parts[#parts + 1] = (deflate(left >= step and spaces or spaces:sub(1, left)))
      left = left - step
    end
    parts[#parts + 1] = (deflate("]}", "finish"))
    bombs[size] = table.concat(parts)
  end
  return bombs[size]
end

-- The body as sent, and its Content-Encoding if any.
local function encoded_body(request, body, fault)
  if request.method == "HEAD" then
    return ""
  end
  if fault.inflate_to then
    return compression_bomb(fault.inflate_to), "gzip"
  end
  if body ~= "" and accepts_gzip(request.headers) then
    return gzip(body), "gzip"
  end
  return body
end

-- Bypasses HTTP's orderly end so that the client sees the connection die mid-exchange.
local function hard_close(stream)
  local socket = stream.connection:take_socket()
  if socket then
    socket:close()
  end
end

local function send(stream, status, body, encoding, fault)
  if fault.delay then
    cqueues.sleep(fault.delay)
  end
  if fault.drop == "before_response" then
    return hard_close(stream)
  end
  local headers = http_headers.new()
  headers:append(":status", tostring(status))
  headers:append("content-type", "application/json")
  headers:append("vary", "accept-encoding")
  if encoding then
    headers:append("content-encoding", encoding)
  end
  for name, value in pairs(fault.headers) do
    headers:upsert(name, value)
  end
  if fault.chunked then
    headers:append("transfer-encoding", "chunked")
  else
    headers:append("content-length", tostring(#body))
  end
  if not stream:write_headers(headers, false) then
    return
  end
  if fault.drop == "after_headers" then
    return hard_close(stream)
  end
  -- Always two writes: the halves are where mid_body and body_delay cut in, and with chunked
  -- they make a body of more than one chunk.
  local half = math.floor(#body / 2)
  if not stream:write_chunk(body:sub(1, half), false) then
    return
  end
  if fault.drop == "mid_body" then
    return hard_close(stream)
  end
  if fault.body_delay then
    cqueues.sleep(fault.body_delay)
  end
  stream:write_chunk(body:sub(half + 1), true)
end

local function on_stream(self, stream)
  local headers = stream:get_headers()
  if not headers then
    return
  end
  -- Without this, a client that sends "Expect: 100-continue" waits a second before the body.
  if headers:get("expect") == "100-continue" then
    stream:write_continue()
  end
  local body = stream:get_body_as_string()
  if not body then
    return
  end
  local path, query = (headers:get(":path") or ""):match("^([^?]*)%??(.*)$")
  local request = { method = headers:get(":method"), path = path, query = query, headers = headers, body = body }
  if path:match("^/__control/") then
    local status, text = dispatch(self, CONTROL_ROUTES, request, authorize_control)
    return send(stream, status, request.method == "HEAD" and "" or text, nil, NO_FAULT)
  end
  -- Connections are counted at their first API request, so that a test's own control
  -- connections never blur how many connections the client under test opened.
  if not self.api_connections[stream.connection] then
    self.api_connections[stream.connection] = true
    self.stats.connections = self.stats.connections + 1
  end
  local stats = self.stats
  stats.requests = stats.requests + 1
  stats.in_flight = stats.in_flight + 1
  stats.max_in_flight = math.max(stats.max_in_flight, stats.in_flight)
  self.log[#self.log + 1] = log_entry(request)
  local fault = take_fault(self, request) or NO_FAULT
  local status, text, commit = dispatch(self, API_ROUTES, request, authorize_api)
  if commit and not fault_skips_operation(fault) then
    commit()
  end
  status, text = faulted_answer(fault, status, text)
  local sent, encoding = encoded_body(request, text, fault)
  stats.body_bytes_sent = stats.body_bytes_sent + #sent
  send(stream, status, sent, encoding, fault)
  stats.in_flight = stats.in_flight - 1
end

---------------------------------------------------------------------------------------------------
-- TLS: a private CA and a leaf it signs, so clients verify against ca.pem rather than turning
-- verification off.

local function new_certificate(common_name, public_key, issuer)
  local certificate = x509.new()
  certificate:setVersion(3)
  certificate:setSerial(openssl_bignum.fromBinary(openssl_rand.bytes(16)))
  local subject = x509_name.new()
  subject:add("CN", common_name)
  certificate:setSubject(subject)
  certificate:setIssuer(issuer and issuer:getSubject() or subject)
  -- Backdated so that a client whose clock lags a little still accepts it.
  certificate:setLifetime(os.time() - 3600, os.time() + 30 * 86400)
  certificate:setPublicKey(public_key)
  return certificate
end

local function new_key_pair()
  -- EC keys: generating RSA ones would add a noticeable delay to every TLS server start.
  return openssl_pkey.new({ type = "EC", curve = "prime256v1" })
end

local function make_private_dir()
  local path = os.tmpname()
  -- os.tmpname reserved a unique name by creating a file there; a directory takes its place.
  os.remove(path)
  assert(os.execute("mkdir -m 700 '" .. path .. "'") == 0, "cannot create directory " .. path)
  return path
end

local function new_tls_context(self)
  local ca_key = new_key_pair()
  local ca = new_certificate("modelgates-server local CA", ca_key)
  ca:setBasicConstraints({ CA = true })
  ca:setBasicConstraintsCritical(true)
  ca:addExtension(x509_extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
  ca:addExtension(x509_extension.new("subjectKeyIdentifier", "hash", { subject = ca }))
  ca:sign(ca_key)

  local leaf_key = new_key_pair()
  local leaf = new_certificate(self.options.tls_name or "localhost", leaf_key, ca)
  leaf:setBasicConstraints({ CA = false })
  local names = x509_altname.new()
  -- --tls-name: a certificate for that name only, which a client of the
  -- loopback address must refuse.
  if self.options.tls_name then
    names:add("DNS", self.options.tls_name)
  else
    names:add("IP", "127.0.0.1")
    names:add("IP", "::1")
    names:add("DNS", "localhost")
  end
  leaf:setSubjectAlt(names)
  leaf:addExtension(x509_extension.new("extendedKeyUsage", "serverAuth"))
  leaf:addExtension(x509_extension.new("authorityKeyIdentifier", "keyid:always", { issuer = ca }))
  leaf:sign(ca_key)

  self.tls_dir = make_private_dir()
  self.ca_file = self.tls_dir .. "/ca.pem"
  local file = assert(io.open(self.ca_file, "w"))
  assert(file:write(ca:toPEM()))
  assert(file:close())

  -- Without --http2, no ALPN callback: h2 is never offered, so every connection is the
  -- HTTP/1.1 the faults need. With it, h2 is chosen whenever the client offers it.
  local context = http_tls.new_server_context()
  if self.options.http2 then
    assert(context:setAlpnSelect(function(_, protocols)
      for _, protocol in ipairs(protocols) do
        if protocol == "h2" then
          return protocol
        end
      end
      return protocols[1]
    end))
  end
  assert(context:setPrivateKey(leaf_key))
  assert(context:setCertificate(leaf))
  return context
end

local function remove_tls_files(self)
  if self.ca_file then
    os.remove(self.ca_file)
  end
  if self.tls_dir then
    os.remove(self.tls_dir)
  end
end

---------------------------------------------------------------------------------------------------
-- Process life

-- kill -0, not /proc: the same on Linux, macOS and the BSDs.
local function process_alive(pid)
  local status = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return status == true or status == 0
end

local function watch_process(self, pid)
  while process_alive(pid) do
    cqueues.sleep(PROCESS_POLL_SECONDS)
  end
  self.stopping = true
end

local function wait_for_signal(self)
  cqueues_signal.listen(cqueues_signal.SIGTERM, cqueues_signal.SIGINT):wait()
  self.stopping = true
end

-- A failed TLS handshake ("wrap") is the client's refusal, which the client reports itself (the
-- suite's certificate tests cause them on purpose): shown with --verbose only. Anything else is
-- this server's fault, and always shown.
local function error_reporter(verbose)
  return function(_, context, operation, err)
    if operation ~= "wrap" or verbose then
      io.stderr:write(
        string.format("modelgates-server: %s failed: %s (%s)\n", operation, tostring(err), tostring(context))
      )
    end
  end
end

local LOOPBACK_BIND = { ["127.0.0.1"] = "127.0.0.1", ["::1"] = "::1", localhost = "127.0.0.1" }

local function base_url(options, port)
  local host = options.host
  if host:find(":", 1, true) then
    host = "[" .. host .. "]"
  end
  return string.format("%s://%s:%d/api/v1", options.tls and "https" or "http", host, port)
end

local function serve(self)
  local options = self.options
  local cq = cqueues.new()
  local server = assert(http_server.listen({
    cq = cq,
    host = LOOPBACK_BIND[options.host],
    port = options.port,
    tls = options.tls,
    ctx = options.tls and new_tls_context(self) or nil,
    -- nil lets ALPN pick HTTP/2 (--http2); cleartext stays HTTP/1.1 either way.
    version = not options.http2 and 1.1 or nil,
    intra_stream_timeout = IDLE_CONNECTION_SECONDS,
    onstream = function(_, stream)
      on_stream(self, stream)
    end,
    onerror = error_reporter(options.verbose),
  }))
  local listening, err = server:listen()
  if not listening then
    error(string.format("cannot listen on %s port %d: %s", options.host, options.port, tostring(err)), 0)
  end
  local _, _, port = server:localname()
  io.stdout:write(base_url(options, port), "\n")
  if self.ca_file then
    io.stdout:write("ca_file=", self.ca_file, "\n")
  end
  -- Test keys, not secrets: a person starting the server needs them to call it.
  io.stdout:write("management_key=", options.management_key, "\n", "key=", options.normal_key, "\n")
  io.stdout:flush()

  cq:wrap(wait_for_signal, self)
  if options.watch_pid then
    cq:wrap(watch_process, self, options.watch_pid)
  end
  while not self.stopping do
    assert(cq:step())
  end
  server:close()
end

---------------------------------------------------------------------------------------------------
-- Command line

local function integer_option(low, high)
  return function(text)
    local value = text:match("^%d+$") and tonumber(text)
    if value and value >= low and value <= high then
      return value
    end
  end
end

local function key_option(text)
  return text:match("^%S+$")
end

local OPTIONS = {
  ["--host"] = {
    field = "host",
    parse = function(text)
      return LOOPBACK_BIND[text] and text
    end,
    wanted = "127.0.0.1, ::1 or localhost (loopback only)",
  },
  ["--port"] = { field = "port", parse = integer_option(0, 65535), wanted = "a port number (0 picks a free one)" },
  ["--tls"] = { field = "tls" },
  ["--tls-name"] = { field = "tls_name", parse = key_option, wanted = "a host name" },
  ["--http2"] = { field = "http2" },
  ["--management-key"] = { field = "management_key", parse = key_option, wanted = "a key without spaces" },
  ["--key"] = { field = "normal_key", parse = key_option, wanted = "a key without spaces" },
  ["--page-size"] = { field = "page_size", parse = integer_option(1, MAX_INTEGER), wanted = "a positive integer" },
  ["--watch-pid"] = { field = "watch_pid", parse = integer_option(1, MAX_INTEGER), wanted = "a process id" },
  ["--verbose"] = { field = "verbose" },
  ["--help"] = { field = "help" },
}

local function parse_args(argv)
  local options = {
    host = "127.0.0.1",
    port = 0,
    tls = false,
    management_key = "mg-dev-management-key",
    normal_key = "mg-dev-normal-key",
    page_size = 100,
  }
  local index = 1
  while argv[index] ~= nil do
    local flag, inline = argv[index]:match("^(%-%-[^=]+)=(.*)$")
    flag = flag or argv[index]
    local spec = OPTIONS[flag]
    if not spec then
      return nil, "unknown argument: " .. argv[index]
    end
    if spec.parse then
      local text = inline
      if text == nil then
        index = index + 1
        text = argv[index]
      end
      local value = text and spec.parse(text)
      if not value then
        return nil, flag .. " needs " .. spec.wanted
      end
      options[spec.field] = value
    elseif inline then
      return nil, flag .. " takes no value"
    else
      options[spec.field] = true
    end
    index = index + 1
  end
  if options.management_key == options.normal_key then
    return nil, "--key and --management-key must differ"
  end
  return options
end

local function main(argv)
  local options, problem = parse_args(argv or {})
  if not options then
    io.stderr:write("modelgates-server: ", problem, "\n", USAGE)
    return 2
  end
  if options.help then
    io.stdout:write(USAGE)
    return 0
  end
  -- Blocked first, so that a signal arriving during start-up waits for the listener instead of
  -- killing the process before it can remove its temporary files.
  cqueues_signal.block(cqueues_signal.SIGTERM, cqueues_signal.SIGINT)
  local self = {
    options = options,
    key_kinds = { [options.management_key] = "management", [options.normal_key] = "normal" },
  }
  reset_state(self)
  local ok, err = pcall(serve, self)
  remove_tls_files(self)
  if not ok then
    io.stderr:write("modelgates-server: ", tostring(err), "\n")
    return 1
  end
  return 0
end

return { main = main }
