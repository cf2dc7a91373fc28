-- The local server's control API (under /__control/; no auth, not logged, never faulted): its
-- state, reset and seeded, its request log, its stats and its faults.

local json = require("modelgates.server.json")
local rules = require("modelgates.server.rules")
local store = require("modelgates.server.store")
local faults = require("modelgates.server.faults")

local reply, fail, acknowledge, object_with_array, decode_object =
  json.reply, json.fail, json.acknowledge, json.object_with_array, json.decode_object
local is_string, is_boolean, integer_between, check_fields =
  rules.is_string, rules.is_boolean, rules.integer_between, rules.check_fields
local parse_body, MAX_INTEGER = rules.parse_body, rules.MAX_INTEGER
local new_store, store_add, select_page, new_record = store.new, store.add, store.select_page, store.new_record
local check_fault_list = faults.check_list

local SEED_FIELDS = {
  count = integer_between(0, MAX_INTEGER, "a non-negative integer"),
  workspace_id = is_string,
  disabled = is_boolean,
  name_prefix = is_string,
}

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

return { reset_state = reset_state, routes = CONTROL_ROUTES }
