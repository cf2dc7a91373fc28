-- Loaded by busted before every spec (see .busted): records the text of
-- every error the whole suite makes, every API key its servers use and
-- every plaintext key a create returns, and at the end of the suite fails
-- the run if any secret appears in any error's text.
local busted = require("busted")
local errors = require("modelgates.errors")
local core = require("modelgates.core")
local testing = require("modelgates.testing")

local secrets, texts = {}, {}

local function record_texts(err)
  texts[#texts + 1] = tostring(err)
  for _, value in pairs(err) do
    if type(value) == "string" then texts[#texts + 1] = value end
  end
  for _, value in pairs(err.headers or {}) do texts[#texts + 1] = value end
end

local new_error = errors.new
errors.new = function(name, fields)
  local err = new_error(name, fields)
  record_texts(err)
  return err
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
  io.stderr:write(("secret guard: %d error texts checked against %d secrets, %d leaks\n"):format(
    #texts, secret_count, leaks))
  if leaks > 0 then os.exit(1) end
  return nil, true
end)
