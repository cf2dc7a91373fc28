--- :checkhealth modelgates (Neovim's convention for lua/<name>/health.lua).
--- Reports the C core, libcurl, the JSON library and the API key (whether
--- it is set, never its value); with a key, one get_current_key_metadata
--- call through modelgates.nvim, so that the editor keeps running.

-- Neovim 0.10 has vim.health; 0.7 to 0.9 the `health` module's report_*.
local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local report_error = health.error or health.report_error

--- The longest the check waits for the call.
local CALL_WAIT_MS = 15000

local function check_call(modelgates)
  local nvim = require("modelgates.nvim")
  local started = vim.loop.hrtime()
  local outcome
  local run = nvim.run(function()
    return modelgates.keys.get_current_key_metadata().data
  end, function(err, data)
    outcome = { err = err, data = data }
  end)
  if not vim.wait(CALL_WAIT_MS, function()
    return outcome ~= nil
  end, 10) then
    run:cancel()
  end
  local millis = (vim.loop.hrtime() - started) / 1e6
  if not outcome then
    report_error(("get_current_key_metadata: no answer within %d s"):format(CALL_WAIT_MS / 1000))
  elseif outcome.err then
    report_error(("get_current_key_metadata failed after %.0f ms: %s"):format(millis, tostring(outcome.err)))
  else
    ok(
      ("get_current_key_metadata answered in %.0f ms (a %s key)"):format(
        millis,
        outcome.data.is_management_key and "management" or "normal"
      )
    )
  end
end

local function check()
  start("modelgates")
  local loaded, core = pcall(require, "modelgates.core")
  if not loaded then
    report_error("the C core does not load: " .. tostring(core), {
      "build it for Neovim's LuaJIT: `make LUA_VERSION=luajit`, or install the rock with LuaRocks for Lua 5.1",
    })
    return
  end
  local modelgates = require("modelgates")
  ok(("C core %s loaded in %s"):format(core.version, rawget(_G, "jit") and _G.jit.version or _VERSION))
  ok(
    ("libcurl %s with %s, HTTP/2 %s"):format(
      core.curl_version,
      core.curl_ssl_version or "no TLS",
      core.curl_http2 and "supported" or "not supported"
    )
  )
  if modelgates.null == vim.NIL then
    ok("JSON: vim.json (lua-cjson is not installed for this Lua)")
  else
    ok("JSON: lua-cjson")
  end
  if (os.getenv("MODELGATES_API_KEY") or "") == "" then
    warn("MODELGATES_API_KEY is not set: calls need it, or api_key in modelgates.new{}", {
      "export MODELGATES_API_KEY before starting Neovim, or pass api_key to modelgates.new{}",
    })
    return
  end
  ok("MODELGATES_API_KEY is set")
  check_call(modelgates)
end

return { check = check }
