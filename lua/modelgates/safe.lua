--- The same API as modelgates, returning `nil, err` instead of raising, for
--- code written in the Lua style of `local value, err = f()`.
---
---     local safe = require("modelgates.safe")
---     local body, err = safe.keys.get(hash)
---     if not body and err:is(safe.errors.NotFoundResponseError) then ... end
---
--- Only this module's typed errors are returned; anything else (a bug) is
--- raised as it was.

local modelgates = require("modelgates")
local errors = modelgates.errors

---@class ModelGatesSafe
local safe = { version = modelgates.version, null = modelgates.null, errors = errors }

local function raise_unless_typed(err)
  if not errors.is_error(err) then
    error(err, 0)
  end
  return err
end

local function returning(ok, ...)
  if ok then
    return ...
  end
  return nil, raise_unless_typed((...))
end

--- `each` cannot return an error through a for loop, so its iterator yields
--- `false, err` once on a failure and then ends.
local function safe_each(each)
  return function(...)
    local started, next_key = pcall(each, ...)
    local failure = not started and raise_unless_typed(next_key) or nil
    return function()
      if failure == false then
        return nil
      end
      if failure then
        local reported = failure
        failure = false
        return false, reported
      end
      local fetched, key = pcall(next_key)
      if fetched then
        return key
      end
      failure = false
      return false, raise_unless_typed(key)
    end
  end
end

--- Drops the keys table itself from a call written as keys:name(...).
local function without_self(keys, first, ...)
  if rawequal(first, keys) then
    return ...
  end
  return first, ...
end

local function wrap_keys(keys)
  local wrapped = {}
  for name, operation in pairs(keys) do
    if name == "each" then
      wrapped.each = function(...)
        return safe_each(operation)(without_self(wrapped, ...))
      end
    else
      wrapped[name] = function(...)
        return returning(pcall(operation, without_self(wrapped, ...)))
      end
    end
  end
  return wrapped
end

--- Like modelgates.new, but a bad option is returned as `nil, err`.
function safe.new(options)
  local ok, client = pcall(modelgates.new, options)
  if not ok then
    return returning(false, client)
  end
  return {
    keys = wrap_keys(client.keys),
    close = function()
      client:close()
    end,
  }
end

safe.keys = wrap_keys(modelgates.keys)

return safe
