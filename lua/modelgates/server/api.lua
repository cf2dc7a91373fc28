-- The local server's API handlers: function(self, request) returning status, body text and, for
-- an operation that changes state, a commit function. Keeping the change apart lets a fault skip
-- it. Routes match paths under /api/v1.

local http_util = require("http.util")
local json = require("modelgates.server.json")
local rules = require("modelgates.server.rules")
local store = require("modelgates.server.store")

local cjson, null = json.cjson, json.null
local reply, fail, object_with_array = json.reply, json.fail, json.object_with_array
local rule, nullable, one_of = rules.rule, rules.nullable, rules.one_of
local is_string, is_non_empty_string, is_boolean = rules.is_string, rules.is_non_empty_string, rules.is_boolean
local is_non_negative_number, check_fields, check_utc_time =
  rules.is_non_negative_number, rules.check_fields, rules.check_utc_time
local parse_body, parse_query = rules.parse_body, rules.parse_query
local DEFAULT_WORKSPACE, label_of, with_zero_usage = store.DEFAULT_WORKSPACE, store.label_of, store.with_zero_usage
local select_page, new_record, store_add, store_remove = store.select_page, store.new_record, store.add, store.remove
local now, timestamp_seconds = store.now, store.timestamp_seconds

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

return { routes = API_ROUTES }
