--- How an answer is judged: the C core decodes the body and raises the
--- status's typed error; here, the fields the operation promises are
--- checked, and an error is made fit to show (secrets redacted, a cut body
--- said so).

local core = require("modelgates.core")
local errors = require("modelgates.errors")

local judge = {}

local function is_key_record(value)
  return type(value) == "table" and type(value.hash) == "string"
end

--- What each kind named in an operation's `returns` accepts.
local shapes = {
  object = function(value)
    return type(value) == "table"
  end,
  string = function(value)
    return type(value) == "string"
  end,
  boolean = function(value)
    return type(value) == "boolean"
  end,
  key_record = is_key_record,
  -- A page is thousands of records: the check is inlined, not a call each.
  key_records = function(value)
    if type(value) ~= "table" or (next(value) ~= nil and value[1] == nil) then
      return false
    end
    for i = 1, #value do
      local record = value[i]
      if type(record) ~= "table" or type(record.hash) ~= "string" then
        return false
      end
    end
    return true
  end,
}

local shape_names = {
  object = "an object",
  string = "a string",
  boolean = "a boolean",
  key_record = "a key record with a hash",
  key_records = "an array of key records",
}

--- Step three, after the C core decoded the body: the fields the operation
--- promises are there (nil when they are). Anything else passes through
--- untouched.
local function returns_error(context, op, body, res)
  for field, kind in pairs(op.returns) do
    if not shapes[kind](body[field]) then
      return errors.new("ResponseValidationError", {
        message = ("%s: response field %q: expected %s"):format(context, field, shape_names[kind]),
        status_code = res.status,
        headers = res.headers,
        body = res.body,
      })
    end
  end
  return nil
end

--- The body of a successful answer, or nil and the error it is, with any
--- secret of `secrets` (and a plaintext key the body holds) redacted.
function judge.answer(context, op, res, secrets)
  local body, err = core.decode_response(res, op.success)
  err = err or returns_error(context, op, body, res)
  if not err then
    return body
  end
  if res.body_truncated then
    err.body_truncated = true
    err.message = tostring(err.message) .. " (its body was cut at max_response_bytes)"
  end
  -- What the server or a proxy sent back may echo a secret, or carry a
  -- create's key.
  errors.redact(err, secrets)
  if type(body) == "table" and type(body.key) == "string" then
    errors.redact(err, { body.key })
  end
  return nil, err
end

return judge
