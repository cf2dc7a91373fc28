-- A small HTTP proxy on loopback for the proxy specs, run on lua5.1 (cqueues) like the local
-- server: CONNECT tunnels for https, absolute-form requests forwarded for http, Basic
-- authentication if MODELGATES_PROXY_AUTHORIZATION holds the expected header value. It reaches
-- loopback targets only, and writes one line per request to the log file:
--   <method> <target> auth=<ok|missing|wrong|none>
-- Usage: lua5.1 spec/proxy_server.lua LOG_FILE WATCH_PID (prints its URL, then serves).
local cqueues = require("cqueues")
local socket = require("cqueues.socket")

local log_path, watch_pid = arg[1], tonumber(arg[2])
local expected_authorization = os.getenv("MODELGATES_PROXY_AUTHORIZATION")
local IO_TIMEOUT = 30

local function log(method, target, auth)
  local file = assert(io.open(log_path, "a"))
  file:write(method, " ", target, " auth=", auth, "\n")
  file:close()
end

local function is_loopback(host)
  return host == "127.0.0.1" or host == "localhost" or host == "::1"
end

local function read_head(con)
  local request_line = con:read("*l")
  if not request_line then
    return nil
  end
  local headers = {}
  while true do
    local line = con:read("*l")
    if not line or line:gsub("\r$", "") == "" then
      break
    end
    headers[#headers + 1] = line:gsub("\r$", "")
  end
  return request_line:gsub("\r$", ""), headers
end

local function header_value(headers, wanted)
  for _, line in ipairs(headers) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name and name:lower() == wanted then
      return value
    end
  end
end

local function authorization_state(headers)
  local given = header_value(headers, "proxy-authorization")
  if not expected_authorization then
    return given and "unexpected" or "none"
  end
  if not given then
    return "missing"
  end
  return given == expected_authorization and "ok" or "wrong"
end

local function answer(con, status_line)
  con:write(
    "HTTP/1.1 ",
    status_line,
    '\r\nProxy-Authenticate: Basic realm="test"\r\n',
    "Content-Length: 0\r\nConnection: close\r\n\r\n"
  )
  con:flush()
  con:close()
end

-- Copies until either side ends, then ends both.
local function pipe(cq, a, b)
  local function copy(from, to)
    while true do
      local data = from:read(-65536)
      if not data then
        break
      end
      to:write(data)
      to:flush()
    end
    pcall(to.shutdown, to, "w")
  end
  local done = 0
  local function side(from, to)
    copy(from, to)
    done = done + 1
    if done == 2 then
      a:close()
      b:close()
    end
  end
  cq:wrap(side, a, b)
  cq:wrap(side, b, a)
end

local function connect(host, port)
  local upstream = socket.connect({ host = host, port = tonumber(port) })
  upstream:setmode("bn", "bn")
  upstream:settimeout(IO_TIMEOUT)
  local ok = upstream:connect(IO_TIMEOUT)
  return ok and upstream or nil
end

local function serve(cq, con)
  con:setmode("bn", "bn")
  con:settimeout(IO_TIMEOUT)
  local request_line, headers = read_head(con)
  if not request_line then
    return con:close()
  end
  local method, target = request_line:match("^(%u+) (%S+) HTTP/1%.1$")
  local auth = authorization_state(headers)
  log(method or "?", target or request_line, auth)
  if auth == "missing" or auth == "wrong" then
    return answer(con, "407 Proxy Authentication Required")
  end
  local host, port, path
  if method == "CONNECT" then
    host, port = target:match("^%[?([^%]]+)%]?:(%d+)$")
  elseif target then
    host, port, path = target:match("^http://%[?([^%]/]-)%]?:(%d+)(/.*)$")
  end
  if not (host and is_loopback(host)) then
    return answer(con, "403 Forbidden")
  end
  local upstream = connect(host, port)
  if not upstream then
    return answer(con, "502 Bad Gateway")
  end
  if method == "CONNECT" then
    con:write("HTTP/1.1 200 Connection established\r\n\r\n")
  else
    local lines = { method .. " " .. path .. " HTTP/1.1" }
    for _, line in ipairs(headers) do
      local name = line:match("^([^:]+):"):lower()
      if name ~= "proxy-authorization" and name ~= "proxy-connection" and name ~= "connection" then
        lines[#lines + 1] = line
      end
    end
    -- One request per upstream connection: the rest of this one is piped, unframed.
    lines[#lines + 1] = "Connection: close"
    upstream:write(table.concat(lines, "\r\n"), "\r\n\r\n")
  end
  con:flush()
  upstream:flush()
  pipe(cq, con, upstream)
end

local function main()
  local cq = cqueues.new()
  local listener = socket.listen({ host = "127.0.0.1", port = 0 })
  assert(listener:listen())
  local _, _, port = listener:localname()
  io.stdout:write("http://127.0.0.1:", port, "\n")
  io.stdout:flush()
  cq:wrap(function()
    -- Not listener:clients(): Lua 5.1 cannot yield inside a for loop's iterator.
    while true do
      local con = listener:accept()
      if con then
        cq:wrap(serve, cq, con)
      end
    end
  end)
  cq:wrap(function()
    while os.execute("kill -0 " .. watch_pid .. " 2>/dev/null") == 0 do
      cqueues.sleep(0.5)
    end
    os.exit(0)
  end)
  while true do
    local ok, err = cq:step()
    if not ok then
      io.stderr:write("proxy: ", tostring(err), "\n")
    end
  end
end

main()
