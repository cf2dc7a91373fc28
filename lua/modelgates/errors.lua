--- The error types of lua-modelgates. Every failure is raised as one of these
--- objects (a table with a metatable), never as a string.
---
--- ModelGatesError
---   APIError                      any 3XX/4XX/5XX answer
---     BadRequestResponseError     400
---     UnauthorizedResponseError   401
---     ForbiddenResponseError      403
---     NotFoundResponseError       404
---     TooManyRequestsResponseError 429
---     InternalServerResponseError 500
---   ConnectionError               libcurl could not complete the exchange
---     TimeoutError                a time limit was hit
---   CancelledError                the call was cancelled before it finished
---   ValidationError               a bad argument; nothing was sent
---   ResponseValidationError       a 2XX whose body is not what the operation promises

-- Their annotations, fields included, are in types.lua.
---@class ModelGatesErrors
local errors = {}
local classes = {}

local function is_a(self, class)
  local mt = getmetatable(self)
  while mt do
    if mt == class then
      return true
    end
    mt = mt.parent
  end
  return false
end

--- The longest message the one-line form shows; the field keeps it whole.
local MAX_LINE_MESSAGE = 300

--- A server's text made safe for one log line: control characters escaped
--- (no line breaks, no terminal sequences), and cut at a sane length.
local function one_line(text)
  text = tostring(text)
  local cut = #text > MAX_LINE_MESSAGE
  if cut then
    text = text:sub(1, MAX_LINE_MESSAGE)
  end
  text = text:gsub("[%z\1-\31\127]", function(char)
    return ("\\x%02X"):format(char:byte())
  end)
  return cut and text .. "... (cut)" or text
end

--- "NotFoundResponseError: API key not found (HTTP 404)"; a call that took
--- more than one attempt, or failed to connect, says how many and how long:
--- libcurl's own message speaks of the last attempt only.
local function to_line(self)
  local notes = {}
  if self.status_code then
    notes[#notes + 1] = "HTTP " .. tostring(self.status_code)
  end
  if self.limit then
    notes[#notes + 1] = tostring(self.limit) .. " hit"
  end
  local attempts, elapsed = tonumber(self.attempts), tonumber(self.elapsed)
  if attempts and elapsed and (attempts > 1 or is_a(self, classes.ConnectionError)) then
    notes[#notes + 1] = ("%d attempt%s in %.1f s"):format(attempts, attempts == 1 and "" or "s", elapsed)
  end
  local text = self.name .. ": " .. one_line(self.message)
  if #notes > 0 then
    text = text .. " (" .. table.concat(notes, "; ") .. ")"
  end
  return text
end

--- `"failed: " .. err` and `err .. "!"` read the one-line form.
local function concat(left, right)
  return tostring(left) .. tostring(right)
end

local function define(name, parent)
  local class = { name = name, parent = parent, is = is_a, __tostring = to_line, __concat = concat }
  class.__index = class
  classes[name] = class
  errors[name] = class
  return class
end

local base = define("ModelGatesError")
local api = define("APIError", base)
define("ConnectionError", base)
define("TimeoutError", classes.ConnectionError)
define("CancelledError", base)
define("ValidationError", base)
define("ResponseValidationError", base)

--- The status-specific APIError types (the seed's names).
errors.by_status = {
  [400] = define("BadRequestResponseError", api),
  [401] = define("UnauthorizedResponseError", api),
  [403] = define("ForbiddenResponseError", api),
  [404] = define("NotFoundResponseError", api),
  [429] = define("TooManyRequestsResponseError", api),
  [500] = define("InternalServerResponseError", api),
}

--- Makes `fields` an error of type `name`. An APIError takes the more
--- precise type of its status code where there is one.
function errors.new(name, fields)
  local class = classes[name]
  if not class then
    error("modelgates.errors: unknown error type " .. tostring(name), 2)
  end
  if class == api then
    class = errors.by_status[fields.status_code] or api
  end
  local err = setmetatable(fields, class)
  if errors.on_new then
    errors.on_new(err)
  end
  return err
end

--- Called with every new error object when set: for tools that watch every
--- error a program makes (the test suite's secret guard).
errors.on_new = nil

--- The deepest a response's error object is searched for secrets.
local MAX_REDACT_DEPTH = 16

local function redacted(value, secrets, depth, seen)
  if type(value) == "string" then
    for _, secret in ipairs(secrets) do
      local from = value:find(secret, 1, true)
      while from do
        value = value:sub(1, from - 1) .. "[REDACTED]" .. value:sub(from + #secret)
        from = value:find(secret, from + 10, true)
      end
    end
    return value
  end
  if type(value) ~= "table" or depth > MAX_REDACT_DEPTH or seen[value] then
    return value
  end
  seen[value] = true
  for key, field in pairs(value) do
    value[key] = redacted(field, secrets, depth + 1, seen)
  end
  return value
end

--- Replaces every occurrence of each of `secrets` (strings) in the error's
--- fields, its headers, its body and the server's error object and
--- metadata, in place: a server or a proxy may echo what it was sent.
---@param err table
---@param secrets string[]
function errors.redact(err, secrets)
  if #secrets > 0 then
    redacted(err, secrets, 0, {})
  end
  return err
end

--- Whether `value` is an error object of this module.
function errors.is_error(value)
  return type(value) == "table" and is_a(value, base)
end

return errors
