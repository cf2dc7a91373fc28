--- Starts and drives the bundled local ModelGates server (bin/modelgates-server)
--- from tests: the project's own specs, and users' tests of their code.
---
---     local testing = require("modelgates.testing")
---     local server = testing.start_server{ page_size = 2 }
---     local client = server:client()
---     ...
---     server:stop()
---
--- The server runs as its own process (on lua5.1, for lua-http) and exits by
--- itself when the process that started it is gone.

local core = require("modelgates.core")
local modelgates = require("modelgates")

---@class ModelGatesTesting
local testing = {}

-- Annotated in types.lua, as ModelGatesTesting and ModelGatesTestServer.
---@class ModelGatesTestServer
local server_methods = {}
local server_mt = {
  __index = server_methods,
  __tostring = function(self)
    return "modelgates test server " .. self.url
  end,
}

--- This process's id: the parent of the shell io.popen starts (POSIX,
--- where /proc is Linux's).
local function own_pid()
  local shell = assert(io.popen("echo $PPID", "r"))
  local pid = tonumber(shell:read("*l"))
  shell:close()
  return pid
end

local function random_hex(bytes)
  local source = assert(io.open("/dev/urandom", "rb"))
  local data = source:read(bytes)
  source:close()
  return (data:gsub(".", function(char)
    return ("%02x"):format(char:byte())
  end))
end

local function default_server_command()
  local source = debug.getinfo(1, "S").source
  -- A checkout's lua/ on package.path may be relative ("lua/?.lua").
  local root = source:match("^@(.-)lua/modelgates/testing%.lua$")
  local bundled = root and root .. "bin/modelgates-server"
  local file = bundled and io.open(bundled, "r")
  if file then
    file:close()
    return bundled
  end
  return "modelgates-server"
end

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local process_methods = {}
local process_mt = { __index = process_methods }

--- A process that `command_line` starts (a shell command line that execs
--- the program, so that the shell's pid is the program's), its stdout read
--- line by line.
function testing.spawn(command_line)
  local pipe = assert(io.popen("echo $$; " .. command_line, "r"))
  return setmetatable({ pipe = pipe, pid = tonumber(pipe:read("*l")) }, process_mt)
end

--- The next line the process printed, or nil once it is gone.
function process_methods:read_line()
  return self.pipe and self.pipe:read("*l")
end

--- Sends SIGTERM and waits for the process to exit. Safe to call twice.
function process_methods:stop()
  if not self.pipe then
    return
  end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
  self.pipe = nil
end

--- Starts a server on a free loopback port and waits until it listens.
function testing.start_server(options)
  options = options or {}
  local self = setmetatable({
    management_key = options.management_key or ("mg-test-mgmt-" .. random_hex(16)),
    key = options.key or ("mg-test-key-" .. random_hex(16)),
  }, server_mt)
  local command = options.command or os.getenv("MODELGATES_SERVER") or default_server_command()
  local argv = {
    "exec",
    shell_quote(command),
    "--port",
    "0",
    "--management-key",
    shell_quote(self.management_key),
    "--key",
    shell_quote(self.key),
    "--page-size",
    tostring(options.page_size or 100),
    "--watch-pid",
    tostring(own_pid()),
  }
  if options.tls then
    argv[#argv + 1] = "--tls"
  end
  if options.http2 then
    argv[#argv + 1] = "--http2"
  end
  if options.tls_name then
    argv[#argv + 1] = "--tls-name " .. shell_quote(options.tls_name)
  end
  self.process = testing.spawn(table.concat(argv, " "))
  self.pid = self.process.pid
  self.url = self.process:read_line()
  if not self.url or not self.url:find("^https?://") then
    self.process:stop()
    error("modelgates.testing: the server did not start (" .. command .. ")", 2)
  end
  if options.tls then
    self.ca_file = (self.process:read_line() or ""):match("^ca_file=(.+)$")
  end
  self.root_url = self.url:match("^(https?://[^/]+)")
  self.transport = core.transport()
  return self
end

--- Stops the server and waits for it to exit. Safe to call twice.
function server_methods:stop()
  self.process:stop()
  self.transport:close()
end

--- A client of this server, with the management key unless `options` say
--- otherwise.
function server_methods:client(options)
  local merged = { api_key = self.management_key, server_url = self.url, ca_file = self.ca_file }
  for name, value in pairs(options or {}) do
    merged[name] = value
  end
  return modelgates.new(merged)
end

--- Calls the control API: method, path under /__control/, and a Lua value
--- sent as JSON.
function server_methods:control(method, path, body)
  local res, err = self.transport:perform({
    method = method,
    url = self.root_url .. "/__control/" .. path,
    headers = { "Content-Type: application/json" },
    body = body ~= nil and core.json_encode(body) or nil,
    ca_file = self.ca_file,
    timeout = 30,
  })
  if not res then
    error(err, 2)
  end
  if res.status >= 300 then
    error(("modelgates.testing: %s /__control/%s: HTTP %d %s"):format(method, path, res.status, res.body), 2)
  end
  return core.json_decode(res.body)
end

--- Every API request the server received, oldest first: { method, path
--- (raw), query (raw), headers (lower-case names), body (raw) }.
function server_methods:requests()
  return self:control("GET", "requests").requests
end

function server_methods:clear_requests()
  self:control("DELETE", "requests")
end

--- Makes the next matching requests misbehave; see the README's testing
--- section for the fields (status, headers, body, delay, drop, ...).
function server_methods:fault(fault)
  self:control("POST", "faults", fault)
end

function server_methods:clear_faults()
  self:control("DELETE", "faults")
end

--- Every stored key record, all workspaces, disabled ones included.
function server_methods:keys()
  return self:control("GET", "keys").data
end

--- Creates `spec.count` keys directly, without an API request.
function server_methods:seed(spec)
  return self:control("POST", "seed", spec).data
end

--- Back to the start state: no keys, no log, no faults.
function server_methods:reset()
  self:control("POST", "reset")
end

--- { connections = accepted TCP connections, requests = API requests,
--- in_flight = API requests being answered now, max_in_flight = the most
--- answered at once }
function server_methods:stats()
  return self:control("GET", "stats")
end

return testing
