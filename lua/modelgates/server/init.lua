-- A stateful local stand-in for the ModelGates API-keys HTTP API, for tests, the demo and
-- benchmarks. It keeps keys in memory, logs every API request and can inject faults; the
-- /__control/ endpoints expose all of that to the test that drives it. One concern a module:
-- json, rules (the validation language), store (the keys), api and control (the handlers),
-- faults, compression, exchange (one request), tls, args (the command line); this one runs it.

local cqueues = require("cqueues")
local cqueues_signal = require("cqueues.signal")
local http_server = require("http.server")
local args = require("modelgates.server.args")
local control = require("modelgates.server.control")
local exchange = require("modelgates.server.exchange")
local tls = require("modelgates.server.tls")

-- Long enough that a test pausing between requests still finds its keep-alive connection open;
-- a close under a reusing client would show up as a spurious extra connection.
local IDLE_CONNECTION_SECONDS = 120
local PROCESS_POLL_SECONDS = 0.5
local LOOPBACK_BIND, USAGE = args.LOOPBACK_BIND, args.USAGE

-- kill -0, not /proc: the same on Linux, macOS and the BSDs.
local function process_alive(pid)
  local status = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return status == true or status == 0
end

local function watch_process(self, pid)
  while process_alive(pid) do
    cqueues.sleep(PROCESS_POLL_SECONDS)
  end
  self.stopping = true
end

local function wait_for_signal(self)
  cqueues_signal.listen(cqueues_signal.SIGTERM, cqueues_signal.SIGINT):wait()
  self.stopping = true
end

-- A failed TLS handshake ("wrap") is the client's refusal, which the client reports itself (the
-- suite's certificate tests cause them on purpose): shown with --verbose only. Anything else is
-- this server's fault, and always shown.
local function error_reporter(verbose)
  return function(_, context, operation, err)
    if operation ~= "wrap" or verbose then
      io.stderr:write(
        string.format("modelgates-server: %s failed: %s (%s)\n", operation, tostring(err), tostring(context))
      )
    end
  end
end

local function base_url(options, port)
  local host = options.host
  if host:find(":", 1, true) then
    host = "[" .. host .. "]"
  end
  return string.format("%s://%s:%d/api/v1", options.tls and "https" or "http", host, port)
end

local function serve(self)
  local options = self.options
  local cq = cqueues.new()
  local server = assert(http_server.listen({
    cq = cq,
    host = LOOPBACK_BIND[options.host],
    port = options.port,
    tls = options.tls,
    ctx = options.tls and tls.new_context(self) or nil,
    -- nil lets ALPN pick HTTP/2 (--http2); cleartext stays HTTP/1.1 either way.
    version = not options.http2 and 1.1 or nil,
    intra_stream_timeout = IDLE_CONNECTION_SECONDS,
    onstream = function(_, stream)
      exchange.on_stream(self, stream)
    end,
    onerror = error_reporter(options.verbose),
  }))
  local listening, err = server:listen()
  if not listening then
    error(string.format("cannot listen on %s port %d: %s", options.host, options.port, tostring(err)), 0)
  end
  local _, _, port = server:localname()
  io.stdout:write(base_url(options, port), "\n")
  if self.ca_file then
    io.stdout:write("ca_file=", self.ca_file, "\n")
  end
  -- Test keys, not secrets: a person starting the server needs them to call it.
  io.stdout:write("management_key=", options.management_key, "\n", "key=", options.normal_key, "\n")
  io.stdout:flush()

  cq:wrap(wait_for_signal, self)
  if options.watch_pid then
    cq:wrap(watch_process, self, options.watch_pid)
  end
  while not self.stopping do
    assert(cq:step())
  end
  server:close()
end

local function main(argv)
  local options, problem = args.parse(argv or {})
  if not options then
    io.stderr:write("modelgates-server: ", problem, "\n", USAGE)
    return 2
  end
  if options.help then
    io.stdout:write(USAGE)
    return 0
  end
  -- Blocked first, so that a signal arriving during start-up waits for the listener instead of
  -- killing the process before it can remove its temporary files.
  cqueues_signal.block(cqueues_signal.SIGTERM, cqueues_signal.SIGINT)
  local self = {
    options = options,
    key_kinds = { [options.management_key] = "management", [options.normal_key] = "normal" },
  }
  control.reset_state(self)
  local ok, err = pcall(serve, self)
  tls.remove_files(self)
  if not ok then
    io.stderr:write("modelgates-server: ", tostring(err), "\n")
    return 1
  end
  return 0
end

return { main = main }
