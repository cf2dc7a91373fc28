-- Loaded by busted before every spec (see .busted): records every error the
-- whole suite makes, every API key its servers use and every plaintext key
-- a create returns, and at the end of the suite fails the run if any secret
-- appears in any error's text (its one-line form, its fields, its headers,
-- its body, the server's error object and metadata), in a line a debug hook
-- was given, or in what the command line printed.
local busted = require("busted")
local errors = require("modelgates.errors")
local core = require("modelgates.core")
local testing = require("modelgates.testing")

local secrets, texts = {}, {}

--- Every string of a value: an error's fields, its headers, its body and
--- the server's error object and metadata, however deep.
local function record_strings(value, depth)
  if type(value) == "string" then
    texts[#texts + 1] = value
  elseif type(value) == "table" and depth < 20 then
    for key, field in pairs(value) do
      record_strings(key, depth + 1)
      record_strings(field, depth + 1)
    end
  end
end

-- Every error the suite makes, read at the end, as its callers got it (the
-- engine redacts an error in place before raising it).
local made = {}

-- Every line a debug hook is given.
local client = require("modelgates.client")
local new_client = client.new
client.new = function(options)
  local hook = options.debug
  if hook then
    options.debug = function(line)
      texts[#texts + 1] = line
      return hook(line)
    end
  end
  return new_client(options)
end

-- What the command line printed (spec/cli_spec.lua hands it over).
-- And secrets that only a spec knows (a proxy's password).
package.loaded["spec.secret_guard"] = {
  record = function(text)
    texts[#texts + 1] = text
  end,
  keep_secret = function(secret, kind)
    secrets[secret] = kind
  end,
}

errors.on_new = function(err)
  made[#made + 1] = err
end

local start_server = testing.start_server
testing.start_server = function(...)
  local server = start_server(...)
  secrets[server.management_key] = "a management key"
  secrets[server.key] = "a normal key"
  return server
end

local decode_response = core.decode_response
core.decode_response = function(...)
  local body, err = decode_response(...)
  if type(body) == "table" and type(body.key) == "string" and #body.key >= 16 then
    secrets[body.key] = "a plaintext key from create"
  end
  return body, err
end

busted.subscribe({ "suite", "end" }, function()
  for _, err in ipairs(made) do
    texts[#texts + 1] = tostring(err)
    record_strings(err, 0)
  end
  local leaks, secret_count = 0, 0
  for secret, kind in pairs(secrets) do
    secret_count = secret_count + 1
    for _, text in ipairs(texts) do
      if text:find(secret, 1, true) then
        leaks = leaks + 1
        io.stderr:write(("secret guard: %s appears in an error's text\n"):format(kind))
      end
    end
  end
  io.stderr:write(
    ("secret guard: %d error texts checked against %d secrets, %d leaks\n"):format(#texts, secret_count, leaks)
  )
  if leaks > 0 then
    os.exit(1)
  end
  return nil, true
end)
