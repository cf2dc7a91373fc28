-- JSON for the local server: a private cjson instance (its settings never leak into other cjson
-- users in this process), and the answers every handler builds.

local cjson = require("cjson").new()
-- NaN, Infinity and hex literals are not JSON; a body holding them is invalid, as upstream.
cjson.decode_invalid_numbers(false)
local null = cjson.null

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

return {
  cjson = cjson,
  null = null,
  json_array = json_array,
  object_with_array = object_with_array,
  error_body = error_body,
  reply = reply,
  fail = fail,
  acknowledge = acknowledge,
  decode_object = decode_object,
}
