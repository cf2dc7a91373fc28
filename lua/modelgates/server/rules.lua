-- The local server's validation language. A rule is function(value, name) returning an error
-- message, or nil when valid. These rules are the server's own, written apart from
-- modelgates.api on purpose: checks that shared the client's could not catch the client's mistakes.

local http_util = require("http.util")
local json = require("modelgates.server.json")

local null, decode_object = json.null, json.decode_object

-- Integers up to here are exact in a double, which is all a JSON number can promise.
local MAX_INTEGER = 2 ^ 53

-- Query strings use form encoding, where "+" stands for a space.
local function decode_form(text)
  return http_util.decodeURIComponent((text:gsub("%+", " ")))
end

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

return {
  MAX_INTEGER = MAX_INTEGER,
  rule = rule,
  nullable = nullable,
  one_of = one_of,
  integer_between = integer_between,
  is_string = is_string,
  is_non_empty_string = is_non_empty_string,
  is_boolean = is_boolean,
  is_non_negative_number = is_non_negative_number,
  check_fields = check_fields,
  check_utc_time = check_utc_time,
  parse_body = parse_body,
  parse_query = parse_query,
}
