-- One request to the local server, from its headers to the last byte of the answer: routing,
-- authorization, the log, faults, compression and framing.

local cqueues = require("cqueues")
local http_headers = require("http.headers")
local json = require("modelgates.server.json")
local api = require("modelgates.server.api")
local control = require("modelgates.server.control")
local faults = require("modelgates.server.faults")
local compression = require("modelgates.server.compression")

local fail = json.fail
local API_ROUTES, CONTROL_ROUTES = api.routes, control.routes
local NO_FAULT, take_fault, fault_skips_operation, faulted_answer =
  faults.NONE, faults.take, faults.skips_operation, faults.answer
local encoded_body = compression.encoded_body

-- Returns the handler, or nil with the matched route (405) or nil alone (404).
local function route(routes, request)
  for _, entry in ipairs(routes) do
    local segment = request.path:match(entry.pattern)
    if segment then
      request.segment = segment
      return entry.methods[request.method], entry
    end
  end
end

local function dispatch(self, routes, request, authorize)
  local handler, entry = route(routes, request)
  if not entry then
    return fail(404, "Not found")
  end
  if not handler then
    return fail(405, "Method not allowed")
  end
  local status, body = authorize(self, request, entry)
  if status then
    return status, body
  end
  return handler(self, request)
end

local function bearer_token(headers)
  local value = headers:get("authorization")
  return value and value:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
end

local function authorize_api(self, request, entry)
  local token = bearer_token(request.headers)
  if not token then
    return fail(401, "No auth credentials found")
  end
  local kind = self.key_kinds[token]
  if not kind then
    return fail(401, "Invalid API key")
  end
  if entry.management and kind ~= "management" then
    return fail(403, "Only management keys can manage API keys")
  end
  request.api_key, request.key_kind = token, kind
end

local function authorize_control()
  return nil
end

local function log_entry(request)
  local headers = {}
  for name, value in request.headers:each() do
    if name == ":authority" then
      name = "host"
    end
    if name:sub(1, 1) ~= ":" then
      headers[name] = headers[name] and headers[name] .. ", " .. value or value
    end
  end
  return { method = request.method, path = request.path, query = request.query, headers = headers, body = request.body }
end

-- Bypasses HTTP's orderly end so that the client sees the connection die mid-exchange.
local function hard_close(stream)
  local socket = stream.connection:take_socket()
  if socket then
    socket:close()
  end
end

local function send(stream, status, body, encoding, fault)
  if fault.delay then
    cqueues.sleep(fault.delay)
  end
  if fault.drop == "before_response" then
    return hard_close(stream)
  end
  local headers = http_headers.new()
  headers:append(":status", tostring(status))
  headers:append("content-type", "application/json")
  headers:append("vary", "accept-encoding")
  if encoding then
    headers:append("content-encoding", encoding)
  end
  for name, value in pairs(fault.headers) do
    headers:upsert(name, value)
  end
  if fault.chunked then
    headers:append("transfer-encoding", "chunked")
  else
    headers:append("content-length", tostring(#body))
  end
  if not stream:write_headers(headers, false) then
    return
  end
  if fault.drop == "after_headers" then
    return hard_close(stream)
  end
  -- Always two writes: the halves are where mid_body and body_delay cut in, and with chunked
  -- they make a body of more than one chunk.
  local half = math.floor(#body / 2)
  if not stream:write_chunk(body:sub(1, half), false) then
    return
  end
  if fault.drop == "mid_body" then
    return hard_close(stream)
  end
  if fault.body_delay then
    cqueues.sleep(fault.body_delay)
  end
  stream:write_chunk(body:sub(half + 1), true)
end

local function on_stream(self, stream)
  local headers = stream:get_headers()
  if not headers then
    return
  end
  -- Without this, a client that sends "Expect: 100-continue" waits a second before the body.
  if headers:get("expect") == "100-continue" then
    stream:write_continue()
  end
  local body = stream:get_body_as_string()
  if not body then
    return
  end
  local path, query = (headers:get(":path") or ""):match("^([^?]*)%??(.*)$")
  local request = { method = headers:get(":method"), path = path, query = query, headers = headers, body = body }
  if path:match("^/__control/") then
    local status, text = dispatch(self, CONTROL_ROUTES, request, authorize_control)
    return send(stream, status, request.method == "HEAD" and "" or text, nil, NO_FAULT)
  end
  -- Connections are counted at their first API request, so that a test's own control
  -- connections never blur how many connections the client under test opened.
  if not self.api_connections[stream.connection] then
    self.api_connections[stream.connection] = true
    self.stats.connections = self.stats.connections + 1
  end
  local stats = self.stats
  stats.requests = stats.requests + 1
  stats.in_flight = stats.in_flight + 1
  stats.max_in_flight = math.max(stats.max_in_flight, stats.in_flight)
  self.log[#self.log + 1] = log_entry(request)
  local fault = take_fault(self, request) or NO_FAULT
  local status, text, commit = dispatch(self, API_ROUTES, request, authorize_api)
  if commit and not fault_skips_operation(fault) then
    commit()
  end
  status, text = faulted_answer(fault, status, text)
  local sent, encoding = encoded_body(request, text, fault)
  stats.body_bytes_sent = stats.body_bytes_sent + #sent
  send(stream, status, sent, encoding, fault)
  stats.in_flight = stats.in_flight - 1
end

return { on_stream = on_stream }
