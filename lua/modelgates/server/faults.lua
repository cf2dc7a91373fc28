-- Faults the local server injects: which requests they match, what they may set, and the answer
-- they make of the real one.

local reason_phrases = require("http.h1_reason_phrases")
local json = require("modelgates.server.json")
local rules = require("modelgates.server.rules")

local error_body = json.error_body
local is_string, is_boolean, is_non_negative_number = rules.is_string, rules.is_boolean, rules.is_non_negative_number
local one_of, integer_between, check_fields = rules.one_of, rules.integer_between, rules.check_fields
local MAX_INTEGER = rules.MAX_INTEGER

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

return {
  NONE = { headers = {} },
  check_list = check_fault_list,
  take = take_fault,
  skips_operation = fault_skips_operation,
  answer = faulted_answer,
}
