-- Shared by the specs: one local server per describe block, back to its
-- start state before each test so that no test depends on another.
local busted = require("busted")
local testing = require("modelgates.testing")
local cjson = require("cjson")
local assert = require("luassert")
local modelgates = require("modelgates")

local unpack = table.unpack or unpack -- luacheck: ignore 143

local support = {}

--- `text` as one word of a POSIX shell command.
function support.shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

--- Runs `command` in a shell; returns what it wrote (stdout and stderr
--- together, unless the command sends stderr elsewhere) and its exit status.
--- A group, not a subshell: under make check-asan a forked shell would run
--- LeakSanitizer as it exits, into that output and that status.
function support.run_command(command)
  local pipe = assert(io.popen("{ " .. command .. '\n} 2>&1; echo "exit=$?"'))
  local output, status = pipe:read("*a"):match("^(.-)exit=(%d+)\n$")
  pipe:close()
  return output, tonumber(status)
end

--- The interpreter the suite runs on, as a shell command (quoted), for the
--- specs that start Lua processes: the Makefile's, else this Lua's own (as
--- under a plain busted or luarocks test). Under `make check-asan`,
--- MODELGATES_TEST_CHILD_ENV holds settings for those processes, put first.
local interpreter = os.getenv("MODELGATES_TEST_LUA")
  or (rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+"))
local child_env = os.getenv("MODELGATES_TEST_CHILD_ENV")
support.lua_command = (child_env and child_env ~= "" and ("env " .. child_env .. " ") or "")
  .. support.shell_quote(interpreter)

--- Declares setup/teardown for a server of `options`; the returned table's
--- `server` field is set once the block runs.
function support.server(options)
  local handle = {}
  busted.setup(function()
    handle.server = testing.start_server(options)
  end)
  busted.teardown(function()
    if handle.server then
      handle.server:stop()
    end
  end)
  busted.before_each(function()
    handle.server:reset()
  end)
  return handle
end

local function run_directly(fn)
  return fn()
end

--- A test's body as a run of modelgates.nvim, waited for with vim.wait
--- (which keeps Neovim's loop going).
local function run_in_neovim(fn)
  local outcome
  require("modelgates.nvim").run(fn, function(...)
    outcome = { n = select("#", ...), ... }
  end)
  assert(
    vim.wait(120000, function()
      return outcome ~= nil
    end, 2),
    "the run did not call back in 120 s"
  )
  if outcome[1] ~= nil then
    error(outcome[1], 0)
  end
  return unpack(outcome, 2, outcome.n)
end

local function run_in_gather(fn)
  local result = modelgates.gather({ fn })[1]
  if not result.ok then
    error(result.error, 0)
  end
  return unpack(result, 1, result.n)
end

--- The paths a call can take, each running a test's body: "blocking" calls
--- it as it is (libcurl's easy transport), "gather" as a task of
--- modelgates.gather (core.multi, the coroutine host). Inside nginx
--- (spec/hosts/nginx_cases.lua) both go over cosockets instead: a call as it
--- is, and a task of gather on nginx's light threads; inside Neovim
--- (spec/hosts/neovim_cases.lua), as a run of modelgates.nvim. `libcurl`:
--- whether errors carry libcurl's own curl_code.
if rawget(_G, "ngx") then
  support.transports = {
    { name = "cosocket", run = run_directly },
    { name = "cosocket gather", run = run_in_gather },
  }
elseif rawget(_G, "vim") then
  support.transports = { { name = "neovim", run = run_in_neovim, libcurl = true } }
else
  support.transports = {
    { name = "blocking", run = run_directly, libcurl = true },
    { name = "gather", run = run_in_gather, libcurl = true },
  }
end

--- The spec files that declare their cases with support.each_transport:
--- the hosts run them too.
support.shared_spec_files = {
  "spec/operations_spec.lua",
  "spec/errors_spec.lua",
  "spec/validation_spec.lua",
  "spec/faults_spec.lua",
  "spec/pagination_spec.lua",
  "spec/hostile_spec.lua",
  "spec/compression_spec.lua",
  "spec/proxy_spec.lua",
}

--- One table of cases, every transport: `body(it, transport)` declares the
--- cases once, and runs once per transport with an `it` whose tests run on
--- that transport.
function support.each_transport(name, body)
  for _, transport in ipairs(support.transports) do
    busted.describe(("%s [%s]"):format(name, transport.name), function()
      body(function(title, fn)
        busted.it(title, function()
          return transport.run(fn)
        end)
      end, transport)
    end)
  end
end

local spec_dir = debug.getinfo(1, "S").source:match("^@(.*)/support%.lua$") or "spec"

function support.read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function support.write_file(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
end

local proxy_methods = {}

--- What the proxy saw, oldest first: { method, target, auth } with auth
--- "ok", "missing", "wrong", or "none" when it asks for no credentials.
function proxy_methods:requests()
  local seen = {}
  for line in io.lines(self.log_path) do
    local method, target, auth = line:match("^(%S+) (%S+) auth=(%S+)$")
    seen[#seen + 1] = { method = method, target = target, auth = auth }
  end
  return seen
end

function proxy_methods:clear()
  assert(io.open(self.log_path, "w")):close()
end

function proxy_methods:stop()
  self.process:stop()
  os.remove(self.log_path)
end

--- A loopback HTTP proxy (spec/proxy_server.lua) for the describe block,
--- its log cleared before each test. `credentials` ("user:password"): it
--- asks for them, and the secret guard keeps the password secret.
function support.proxy(options)
  local handle = {}
  busted.setup(function()
    local self = setmetatable({ log_path = os.tmpname() }, { __index = proxy_methods })
    local environment = ""
    if options and options.credentials then
      local password = options.credentials:match(":(.*)$")
      local guard = package.loaded["spec.secret_guard"]
      if guard then
        guard.keep_secret(password, "a proxy password")
      end
      -- coreutils' base64, not the module's: the proxy checks what libcurl sends.
      -- stdout alone: under make check-asan, a shell child's stderr may hold LeakSanitizer's noise.
      local pipe = assert(io.popen("printf %s " .. support.shell_quote(options.credentials) .. " | base64 -w0", "r"))
      local encoded = pipe:read("*a")
      pipe:close()
      environment = "MODELGATES_PROXY_AUTHORIZATION='Basic " .. encoded .. "' "
    end
    self.process =
      testing.spawn(("%sexec lua5.1 %s/proxy_server.lua %s $PPID"):format(environment, spec_dir, self.log_path))
    self.url = self.process:read_line()
    assert(self.url and self.url:find("^http://127%.0%.0%.1:%d+$"), "the test proxy did not start")
    self.port = self.url:match(":(%d+)$")
    handle.proxy = self
  end)
  busted.teardown(function()
    if handle.proxy then
      handle.proxy:stop()
    end
  end)
  busted.before_each(function()
    handle.proxy:clear()
  end)
  return handle
end

--- The one request the server received since the last reset.
function support.only_request(server)
  local requests = server:requests()
  assert.are.equal(1, #requests, "expected exactly one request")
  return requests[1]
end

--- A request body decoded with JSON nulls kept, to tell null from absent.
function support.raw_json(text)
  return cjson.decode(text)
end

support.json_null = cjson.null

--- Runs `fn`, which must raise a modelgates error of class `class`; returns it.
function support.raises(class, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.are.equal("table", type(err), "expected an error object, got " .. tostring(err))
  assert.is_true(err:is(class), "expected " .. class.name .. ", got " .. tostring(err))
  return err
end

return support
