--- The OpenResty host: requests over nginx cosockets (ngx.socket.tcp), so
--- that a call waits without blocking the worker. HTTP/1.1 is framed here;
--- its parsing (status line, headers, body framing, chunk sizes) is the C
--- core's (src/http1.c). modelgates.host picks this host by itself in the
--- phases where cosockets exist; see `host_for`.

local core = require("modelgates.core")
local errors = require("modelgates.errors")

local cosocket = {}

--- Phases whose handlers may yield to nginx's event loop, and so use
--- cosockets (lua-nginx-module's documentation of ngx.socket.tcp).
local YIELDABLE_PHASES = {
  rewrite = true,
  server_rewrite = true,
  access = true,
  content = true,
  timer = true,
  ssl_cert = true,
  ssl_session_fetch = true,
  ssl_client_hello = true,
}

--- The C core's limit (src/modelgates.h) counts the final CRLF CRLF too.
local MAX_HEADER_BYTES = 256 * 1024 - 4
local DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
local MAX_CHUNK_LINE_BYTES = 4096
--- What `close`-delimited bodies are read by.
local READ_BYTES = 64 * 1024
--- Kept-alive connections: how long one may idle, how many per pool.
local KEEPALIVE_IDLE_MS = 60000
local KEEPALIVE_POOL_SIZE = 32

--- A transport failure in the terms of modelgates.host.
local function failure(type_name, message, fields)
  fields = fields or {}
  fields.message = message
  fields.request_sent = fields.requests_sent ~= nil and fields.requests_sent > 0 or false
  fields.requests_sent = fields.requests_sent or 0
  fields.transient = fields.transient or false
  return errors.new(type_name, fields)
end

--- An exchange's state: the deadline, the limits, what has been sent.
local exchange_mt = { __index = {} }
local exchange = exchange_mt.__index

local function millis(seconds)
  return math.max(math.ceil(seconds * 1000), 1)
end

--- The time a socket operation may take: the call's deadline or `limit`,
--- whichever comes first, and which of the two that is.
function exchange:budget(limit, limit_name)
  local left = self.deadline - core.now()
  if left <= 0 then
    return nil, "timeout"
  end
  if limit and limit < left then
    return limit, limit_name
  end
  return left, "timeout"
end

--- The error for a failed socket operation `what` ("connect", "send",
--- "read", "handshake") with the cosocket's message `reason`.
function exchange:socket_failure(what, reason, limit_name)
  local sent = { requests_sent = self.requests_sent }
  if reason == "timeout" then
    sent.limit = limit_name
    sent.transient = true
    return failure("TimeoutError", ("%s timed out (%s)"):format(what, limit_name), sent)
  end
  reason = tostring(reason)
  if reason:find("no resolver defined", 1, true) then
    return failure(
      "ConnectionError",
      "cannot resolve the server's host name: nginx needs a `resolver` directive "
        .. "(e.g. `resolver 127.0.0.53;` or your DNS server) in the http or server block",
      sent
    )
  end
  -- lua-nginx-module before openresty/lua-nginx-module#2506 (Debian 12's
  -- 0.10.23 among them) loses a failed verification when the handshake
  -- completes at once: sslhandshake returns true, and the first send on the
  -- fresh connection fails with "closed". Nothing was sent either way.
  if what == "send" and reason == "closed" and self.handshaken then
    what, reason =
      "handshake",
      "the connection closed right after it, as lua-nginx-module reports a certificate "
        .. "that did not verify when the handshake completes at once (openresty/lua-nginx-module#2506)"
  end
  if what == "handshake" then
    return failure(
      "ConnectionError",
      "TLS handshake failed: " .. reason .. " (trust comes from nginx's lua_ssl_trusted_certificate)",
      sent
    )
  end
  sent.transient = true
  return failure("ConnectionError", ("%s to %s failed: %s"):format(what, self.authority, reason), sent)
end

local function parse_url(url)
  local scheme, authority, path = url:match("^(https?)://([^/?#]+)(.*)$")
  local host, port = authority:match("^%[(.-)%]:?(%d*)$")
  if not host then
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  return {
    scheme = scheme,
    host = host,
    authority = authority,
    path = path ~= "" and path or "/",
    port = tonumber(port) or (scheme == "https" and 443 or 80),
  }
end

local function request_text(request, target)
  local lines = { ("%s %s HTTP/1.1"):format(request.method, target.path), "Host: " .. target.authority }
  for _, line in ipairs(request.headers or {}) do
    lines[#lines + 1] = line
  end
  local body = request.body
  if body or request.method == "POST" then
    lines[#lines + 1] = "Content-Length: " .. #(body or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  return table.concat(lines, "\r\n")
end

--- Sets the socket's timeout from the exchange's budget for one operation
--- `what`; returns which limit binds it.
function exchange:arm(what, limit, limit_name)
  local seconds, binding = self:budget(limit, limit_name)
  if not seconds then
    error(self:socket_failure(what, "timeout", "timeout"), 0)
  end
  self.sock:settimeout(millis(seconds))
  return binding
end

--- Receives one piece of at most READ_BYTES: `size` bytes, or what comes
--- until the peer closes for `nil` (then also true). Each piece is timed
--- anew, so that neither the stall limit nor the deadline is passed while
--- bytes trickle in.
function exchange:receive_piece(size)
  local binding = self:arm("read", self.stall, "stall_timeout")
  local data, reason, partial = self.sock:receive(size or READ_BYTES)
  if data then
    return data
  end
  if size == nil and reason == "closed" then
    return partial, true
  end
  error(self:socket_failure("read", reason, binding), 0)
end

--- Receives exactly `size` bytes, piece by piece.
function exchange:receive(size)
  if size <= READ_BYTES then
    return self:receive_piece(size)
  end
  local parts, left = {}, size
  while left > 0 do
    parts[#parts + 1] = self:receive_piece(math.min(left, READ_BYTES))
    left = left - #parts[#parts]
  end
  return table.concat(parts)
end

--- What comes before `delimiter`, at most `limit` bytes of it: past that,
--- `too_long()` raises.
function exchange:read_until(delimiter, limit, too_long)
  local reader = self.sock:receiveuntil(delimiter)
  local parts, size = {}, 0
  while true do
    local binding = self:arm("read", self.stall, "stall_timeout")
    local piece, reason, partial = reader(4096)
    if not piece then
      if reason then
        -- Bytes of an answer came: the request was processed, whatever follows.
        self.answered = self.answered or (partial ~= nil and partial ~= "")
        error(self:socket_failure("read", reason, binding), 0)
      end
      return table.concat(parts)
    end
    parts[#parts + 1] = piece
    size = size + #piece
    self.answered = true
    if size > limit then
      too_long(self)
    end
  end
end

local function headers_too_large(self)
  error(
    failure(
      "ResponseValidationError",
      ("response headers exceed %d bytes"):format(MAX_HEADER_BYTES + 4),
      { limit = "max_header_bytes", requests_sent = self.requests_sent }
    ),
    0
  )
end

local function chunk_line_too_long(self)
  self:malformed("a chunk size or trailer line over " .. MAX_CHUNK_LINE_BYTES .. " bytes")
end

--- The head, up to and including the empty line, within the header limit.
function exchange:read_head()
  return self:read_until("\r\n\r\n", MAX_HEADER_BYTES, headers_too_large) .. "\r\n\r\n"
end

function exchange:read_line()
  return self:read_until("\r\n", MAX_CHUNK_LINE_BYTES, chunk_line_too_long)
end

--- Past max_response_bytes: refused, unless the status is an error, whose
--- answer stands with what fits of its body (the rest is never read).
function exchange:too_large(parts)
  if self.status < 300 then
    error(
      failure(
        "ResponseValidationError",
        ("response body exceeds %d bytes"):format(self.max_body),
        { limit = "max_response_bytes", requests_sent = self.requests_sent }
      ),
      0
    )
  end
  self.body_truncated = true
  return table.concat(parts or {}):sub(1, self.max_body), false
end

function exchange:malformed(message)
  error(failure("ConnectionError", "malformed response: " .. message, { requests_sent = self.requests_sent }), 0)
end

--- The body, as the head says it is delimited; whether the connection may
--- be kept.
function exchange:read_body(res)
  local kind, length = core.http1_framing(self.method, res.status, res.headers)
  if not kind then
    self:malformed(length)
  end
  self.status = res.status
  if kind == "none" then
    return "", true
  end
  if kind == "length" then
    if length > self.max_body then
      return self:too_large({ self:receive(self.max_body) })
    end
    return length > 0 and self:receive(length) or "", true
  end
  local parts, size = {}, 0
  if kind == "chunked" then
    while true do
      local chunk, problem = core.http1_chunk_size(self:read_line())
      if not chunk then
        self:malformed(problem)
      end
      if chunk == 0 then
        break
      end
      size = size + chunk
      if size > self.max_body then
        parts[#parts + 1] = self:receive(math.min(chunk, self.max_body))
        return self:too_large(parts)
      end
      parts[#parts + 1] = self:receive(chunk)
      if self:receive(2) ~= "\r\n" then
        self:malformed("chunk not followed by CRLF")
      end
    end
    -- Trailer fields, up to the empty line.
    repeat
      local line = self:read_line()
    until line == ""
    return table.concat(parts), true
  end
  while true do
    local data, closed = self:receive_piece(nil)
    size = size + #data
    parts[#parts + 1] = data
    if size > self.max_body then
      return self:too_large(parts)
    end
    if closed then
      return table.concat(parts), false
    end
  end
end

--- Connects (or takes a kept-alive connection from the pool of the same
--- scheme, host and port; a `once` request always gets a fresh one) and
--- shakes hands over TLS, verifying the certificate against the host name.
function exchange:connect(target, fresh)
  local sock = ngx.socket.tcp()
  self.sock = sock
  local pool = ("modelgates:%s:%s:%d"):format(target.scheme, target.host, target.port)
  if fresh then
    pool = pool .. ":once:" .. tostring(sock)
  end
  local started = core.now()
  local binding = self:arm("connect", self.connect_limit, "connect_timeout")
  local ok, reason = sock:connect(target.host, target.port, { pool = pool })
  if not ok then
    error(self:socket_failure("connect", reason, binding), 0)
  end
  local reused = sock:getreusedtimes() > 0
  if target.scheme == "https" and not reused then
    -- connect_timeout bounds the connect and the handshake together.
    local left = self.connect_limit and self.connect_limit - (core.now() - started)
    binding = self:arm("handshake", left and math.max(left, 0.001), "connect_timeout")
    ok, reason = sock:sslhandshake(false, target.host, true)
    if not ok then
      error(self:socket_failure("handshake", reason, binding), 0)
    end
    self.handshaken = true
  end
  return reused
end

--- One request and its answer on the exchange's connection.
function exchange:send_and_receive(text)
  local binding = self:arm("send", nil, nil)
  local sent, reason = self.sock:send(text)
  if not sent then
    error(self:socket_failure("send", reason, binding), 0)
  end
  self.requests_sent = self.requests_sent + 1
  local head, res, problem
  -- An interim answer (100 Continue) comes before the real one; nothing
  -- asks for 101 Switching Protocols.
  repeat
    head = self:read_head()
    res, problem = core.http1_head(head)
    if not res then
      self:malformed(problem)
    end
    if res.status == 101 then
      self:malformed("an unasked-for 101 Switching Protocols")
    end
  until res.status >= 200
  local body, keep = self:read_body(res)
  -- Never asked for here (no inflate in nginx's Lua API): a success body
  -- that is encoded all the same could not be JSON. An error status keeps
  -- its typed error, its body raw.
  if res.status < 300 and (res.headers["content-encoding"] or "identity"):lower() ~= "identity" then
    error(
      failure(
        "ResponseValidationError",
        "the response body is encoded (Content-Encoding), though no " .. "encoding was asked for",
        { requests_sent = self.requests_sent }
      ),
      0
    )
  end
  res.body, res.body_truncated = body, self.body_truncated
  -- HTTP/1.1 keeps the connection unless told otherwise; 1.0 only when told.
  local connection = (res.headers.connection or ""):lower()
  if head:sub(1, 8) == "HTTP/1.1" then
    keep = keep and not connection:find("close", 1, true)
  else
    keep = keep and connection:find("keep-alive", 1, true) ~= nil
  end
  return res, keep
end

local function perform(_, _, request)
  for _, line in ipairs(request.headers or {}) do
    if line:find("[%z\r\n]") then
      return nil,
        failure("ValidationError", "modelgates: a request header line holds CR, LF or NUL", { field = "headers" })
    end
  end
  -- A tunnel over a cosocket would be an HTTP CONNECT client of this
  -- module's own, with the proxy's TLS and authentication to get right;
  -- nginx offers none, so none is pretended.
  if request.proxy then
    return nil,
      failure(
        "ValidationError",
        "modelgates: the cosocket transport cannot go through a proxy: "
          .. 'pass proxy = false to connect directly, or transport = "curl" (which blocks the worker)',
        { field = "proxy" }
      )
  end
  if request.ca_file or request.ca_path then
    return nil,
      failure(
        "ValidationError",
        "modelgates: ca_file and ca_path do not apply under OpenResty's "
          .. "cosockets: trust comes from nginx's lua_ssl_trusted_certificate (and lua_ssl_verify_depth)",
        { field = request.ca_file and "ca_file" or "ca_path" }
      )
  end
  local target = parse_url(request.url)
  local self = setmetatable({
    authority = target.authority,
    method = request.method,
    deadline = core.now() + request.timeout,
    connect_limit = request.connect_timeout,
    stall = request.stall_timeout,
    max_body = request.max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES,
    requests_sent = 0,
  }, exchange_mt)
  local text = request_text(request, target)
  local ok, res, keep = pcall(function()
    local reused = self:connect(target, request.once)
    local done, answer, reusable = pcall(self.send_and_receive, self, text)
    -- A kept-alive connection the server had closed before answering: sent
    -- again on a fresh one, as libcurl does (and counted, so the engine
    -- treats the first one's outcome as unknown).
    if not done and reused and not self.answered and answer.transient and not answer.limit then
      self.sock:close()
      self:connect(target, true)
      -- Its pool is its own: kept alive there, it would idle unused.
      return (self:send_and_receive(text)), false
    end
    if not done then
      error(answer, 0)
    end
    return answer, reusable
  end)
  local sock = self.sock
  if not ok then
    if sock then
      sock:close()
    end
    if not errors.is_error(res) then
      res = failure("ConnectionError", "cosocket transport: " .. tostring(res), { requests_sent = self.requests_sent })
    end
    return nil, res
  end
  if keep and not request.once then
    sock:setkeepalive(KEEPALIVE_IDLE_MS, KEEPALIVE_POOL_SIZE)
  else
    sock:close()
  end
  res.requests_sent = self.requests_sent
  return res
end

local unpack = table.unpack or unpack -- luacheck: ignore 143

local function packed(...)
  return { n = select("#", ...), ... }
end

--- modelgates.gather on nginx's light threads (ngx.thread.spawn), whose
--- calls go over cosockets; `how` carries gather's concurrency, timeout and
--- its ways of making a result and a timeout error.
local function gather_on_threads(_, tasks, count, how)
  local results, thread_of, running, next_task = {}, {}, 0, 1
  local function start_tasks()
    while running < how.concurrency and next_task <= count do
      local i = next_task
      next_task, running = i + 1, running + 1
      thread_of[i] = ngx.thread.spawn(function()
        return i, packed(pcall(tasks[i]))
      end)
    end
  end
  local alarm = how.timeout and ngx.thread.spawn(function()
    ngx.sleep(how.timeout)
  end)
  start_tasks()
  while running > 0 do
    local waiting = { alarm }
    for _, thread in pairs(thread_of) do
      waiting[#waiting + 1] = thread
    end
    local _, i, outcome = ngx.thread.wait(unpack(waiting))
    if i == nil then
      break
    end
    thread_of[i], running = nil, running - 1
    results[i] = how.result_of(unpack(outcome, 1, outcome.n))
    start_tasks()
  end
  if alarm then
    ngx.thread.kill(alarm)
  end
  for i = 1, count do
    if thread_of[i] then
      ngx.thread.kill(thread_of[i])
    end
    results[i] = results[i] or { ok = false, error = how.timeout_error(how.timeout) }
  end
  return results
end

--- The host (modelgates.host's contract) of calls made over cosockets.
cosocket.host = {
  perform = perform,
  sleep = function(_, seconds)
    ngx.sleep(seconds)
  end,
  now = function()
    return core.now()
  end,
  gather = gather_on_threads,
}

--- The host of a call made now in nginx: cosockets where the phase allows
--- them, libcurl in init_by_lua (the master, before any request), and a
--- ValidationError in the phases that serve requests but cannot yield.
--- `transport` is the call's option: "curl" always blocks; "cosocket"
--- insists.
function cosocket.host_for(transport, blocking)
  local phase = ngx.get_phase()
  if transport ~= "cosocket" and (transport == "curl" or phase == "init") then
    return blocking
  end
  if YIELDABLE_PHASES[phase] then
    return cosocket.host
  end
  error(
    errors.new("ValidationError", {
      field = "transport",
      message = (
        "modelgates: a call in nginx's %s phase cannot use cosockets and would block the worker: "
        .. "make it from a timer (ngx.timer.at(0, function() ... end)) or a rewrite, access or content handler, "
        .. 'or pass transport = "curl" to block on purpose'
      ):format(phase),
    }),
    0
  )
end

return cosocket
