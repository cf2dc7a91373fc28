--- Argument checking against the field specs of modelgates.api. Everything
--- is checked before a request is built, so a bad argument never sends
--- anything. Messages name the field and what was expected, and never
--- repeat the value: it may be a secret.

local core = require("modelgates.core")
local errors = require("modelgates.errors")

local null = core.null
local validate = {}

local function fail(context, field, expected, value)
  local got = value == nil and "nothing"
    or value == null and "modelgates.null"
    or value == "" and "an empty string"
    or type(value)
  error(
    errors.new("ValidationError", {
      field = field,
      message = ("%s: %s: expected %s, got %s"):format(context, field, expected, got),
    }),
    0
  )
end

local function is_finite_number(value)
  return type(value) == "number" and value == value and value ~= math.huge and value ~= -math.huge
end

--- Every control character but tab is refused: CR and LF would split the
--- header, the others reach logs and terminals.
local function is_header_safe(value)
  return type(value) == "string" and value ~= "" and not value:find("[%z\1-\8\10-\31\127]")
end

--- Headers a caller may not set: the key goes through api_key alone, and
--- the framing and hop-by-hop headers are the transport's (a wrong
--- Content-Length would desynchronise a kept-alive connection).
local RESERVED_HEADERS = {
  authorization = true,
  ["content-length"] = true,
  ["transfer-encoding"] = true,
  connection = true,
  host = true,
  expect = true,
  te = true,
  trailer = true,
  upgrade = true,
  ["keep-alive"] = true,
  ["proxy-connection"] = true,
  ["proxy-authorization"] = true,
}

local function days_in_month(year, month)
  local days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  local leap = (year % 4 == 0 and year % 100 ~= 0) or year % 400 == 0
  return (month == 2 and leap) and 29 or days[month]
end

--- RFC 3339 date-times in UTC ("Z" or "+00:00"), with optional fractions.
local function is_utc_timestamp(text)
  local year, month, day, hour, minute, second, rest =
    text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  if not year then
    return false
  end
  local zone = rest:match("^%.%d+(.*)$") or rest
  if zone ~= "Z" and zone ~= "+00:00" then
    return false
  end
  year, month, day = tonumber(year), tonumber(month), tonumber(day)
  return month >= 1
    and month <= 12
    and day >= 1
    and day <= days_in_month(year, month)
    and tonumber(hour) <= 23
    and tonumber(minute) <= 59
    and tonumber(second) <= 60
end

-- Year 10000 starts at this Unix time: RFC 3339 has four year digits.
local MAX_UNIX_SECONDS = 253402300800

local function describe_number(spec, noun)
  local text = noun
  if spec.min then
    text = ("%s %s %s"):format(text, spec.exclusive and ">" or ">=", tostring(spec.min))
  end
  if spec.max then
    text = ("%s and <= %.0f"):format(text, spec.max)
  end
  return text
end

--- Within the spec's bounds; numbers without a `max` still stay within what
--- a JSON number carries exactly (2^53), so that none is changed on the wire.
local MAX_EXACT = 2 ^ 53

local function within_bounds(spec, value)
  if value > (spec.max or MAX_EXACT) or value < -MAX_EXACT then
    return false
  end
  if not spec.min then
    return true
  end
  if spec.exclusive then
    return value > spec.min
  end
  return value >= spec.min
end

local check_fields

--- Each checker returns the value to send, or nil and what was expected.
local checkers = {
  string = function(spec, value)
    if type(value) == "string" and value ~= "" and #value <= (spec.max_length or math.huge) then
      return value
    end
    return nil,
      spec.max_length and ("a non-empty string of at most %d bytes"):format(spec.max_length) or "a non-empty string"
  end,
  boolean = function(_, value)
    if type(value) == "boolean" then
      return value
    end
    return nil, "a boolean"
  end,
  number = function(spec, value)
    if is_finite_number(value) and within_bounds(spec, value) then
      return value
    end
    return nil, describe_number(spec, "a number")
  end,
  integer = function(spec, value)
    if is_finite_number(value) and value % 1 == 0 and within_bounds(spec, value) then
      return value
    end
    return nil, describe_number(spec, "a whole number")
  end,
  enum = function(spec, value)
    for _, allowed in ipairs(spec.values) do
      if value == allowed then
        return value
      end
    end
    return nil, 'one of "' .. table.concat(spec.values, '", "') .. '"'
  end,
  timestamp = function(_, value)
    local expected = "an RFC 3339 UTC date-time such as 2027-12-31T23:59:59Z, or whole Unix seconds"
    if type(value) == "string" and is_utc_timestamp(value) then
      return value
    end
    if is_finite_number(value) and value % 1 == 0 and value >= 0 and value < MAX_UNIX_SECONDS then
      return os.date("!%Y-%m-%dT%H:%M:%SZ", value)
    end
    return nil, expected
  end,
  url = function(_, value)
    if type(value) == "string" and (value:find("^https?://[^/]") and not value:find("[%s%z]")) then
      return value
    end
    return nil, "an http:// or https:// URL"
  end,
  --- A proxy URL of its own scheme: https to a proxy, and SOCKS, are not
  --- offered, so that nothing untested is.
  proxy_url = function(_, value)
    if value == false then
      return false
    end
    if type(value) == "string" and value:find("^[Hh][Tt][Tt][Pp]://[^/?#]+/?$") and not value:find("[%s%z]") then
      return value
    end
    return nil, "an http:// proxy URL (http://[user:password@]host:port), or false for none"
  end,
  host_list = function(_, value)
    if type(value) == "string" and not value:find("[%z\1-\8\10-\31\127]") then
      return value
    end
    return nil, 'a list of hosts separated by commas ("" for none)'
  end,
  header_value = function(_, value)
    if is_header_safe(value) then
      return value
    end
    return nil, "a non-empty string without control characters"
  end,
  headers = function(_, value, context, field)
    if type(value) ~= "table" then
      return nil, "a table of header names to values"
    end
    local copy = {}
    for name, header_value in pairs(value) do
      if type(name) ~= "string" or not name:find("^[%w!#$%%&'*+%-.^_`|~]+$") then
        fail(context, field, "header names made of token characters", name)
      end
      if RESERVED_HEADERS[name:lower()] then
        fail(
          context,
          field .. "." .. name,
          "a header other than Authorization (pass api_key) and the framing "
            .. "and hop-by-hop headers the transport sets (Content-Length, Transfer-Encoding, Connection, Host, "
            .. "Expect, ...)",
          header_value
        )
      end
      if not is_header_safe(header_value) then
        fail(context, field .. "." .. name, "a non-empty string without control characters", header_value)
      end
      copy[name] = header_value
    end
    return copy
  end,
  object = function(spec, value, context, field)
    if value == false and spec.disabled_by_false then
      return false
    end
    if type(value) ~= "table" then
      return nil, spec.disabled_by_false and "a table or false" or "a table"
    end
    return check_fields(spec.fields, value, context, field .. ".")
  end,
  ["function"] = function(_, value)
    if type(value) == "function" then
      return value
    end
    return nil, "a function"
  end,
}

local function check_value(spec, value, context, field)
  if value == null and spec.nullable then
    return null
  end
  local checked, expected = checkers[spec.type](spec, value, context, field)
  if checked == nil then
    if spec.nullable then
      expected = expected .. " or modelgates.null"
    end
    fail(context, field, expected, value)
  end
  return checked
end

local function sorted_names(specs)
  local names = {}
  for name in pairs(specs) do
    names[#names + 1] = name
  end
  table.sort(names)
  return names
end

-- Field specs are the constant tables of modelgates.api, checked on every
-- call: their names are sorted once, not per call.
local names_of_specs = setmetatable({}, { __mode = "k" })

local function spec_names(specs)
  local names = names_of_specs[specs]
  if not names then
    names = sorted_names(specs)
    names_of_specs[specs] = names
  end
  return names
end

--- Checks every field of `input` against `specs` (name -> spec) and returns
--- a new table of the values to send. Unknown fields are errors: a typo
--- such as `limt = 50` must never create an unlimited key.
function check_fields(specs, input, context, prefix)
  local checked = {}
  for name, value in pairs(input) do
    local spec = type(name) == "string" and specs[name]
    if not spec then
      fail(
        context,
        prefix .. tostring(name),
        "a known field (one of " .. table.concat(spec_names(specs), ", ") .. ")",
        value
      )
    end
    checked[name] = check_value(spec, value, context, prefix .. name)
  end
  for _, name in ipairs(spec_names(specs)) do
    if specs[name].required and checked[name] == nil then
      fail(context, prefix .. name, "a value (it is required)", nil)
    end
  end
  return checked
end

--- Checks a table argument (nil counts as an empty table) against `specs`.
---@param specs table<string, table>
---@param input table|nil
---@param context string the function being called, for messages
---@param prefix string the argument's name, for messages (e.g. "body.")
---@return table
function validate.fields(specs, input, context, prefix)
  if input == nil then
    input = {}
  end
  if type(input) ~= "table" then
    fail(context, prefix:sub(1, -2), "a table", input)
  end
  return check_fields(specs, input, context, prefix)
end

--- Checks one value against one spec.
---@return any
function validate.value(spec, value, context, field)
  return check_value(spec, value, context, field)
end

validate.fail = fail
validate.sorted_names = sorted_names
validate.spec_names = spec_names

return validate
