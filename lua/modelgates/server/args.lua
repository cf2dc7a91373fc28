-- The local server's command line.

local rules = require("modelgates.server.rules")

local MAX_INTEGER = rules.MAX_INTEGER

local USAGE = [[
usage: modelgates-server [--host 127.0.0.1|::1|localhost] [--port N] [--tls] [--tls-name NAME] [--http2]
                         [--management-key K] [--key K] [--page-size N] [--watch-pid PID] [--verbose]
Prints its base URL, with --tls ca_file=PATH, then management_key=K and key=K (test keys;
by default mg-dev-management-key and mg-dev-normal-key). --verbose also reports TLS
handshakes that clients refused.
]]

local LOOPBACK_BIND = { ["127.0.0.1"] = "127.0.0.1", ["::1"] = "::1", localhost = "127.0.0.1" }

local function integer_option(low, high)
  return function(text)
    local value = text:match("^%d+$") and tonumber(text)
    if value and value >= low and value <= high then
      return value
    end
  end
end

local function key_option(text)
  return text:match("^%S+$")
end

local OPTIONS = {
  ["--host"] = {
    field = "host",
    parse = function(text)
      return LOOPBACK_BIND[text] and text
    end,
    wanted = "127.0.0.1, ::1 or localhost (loopback only)",
  },
  ["--port"] = { field = "port", parse = integer_option(0, 65535), wanted = "a port number (0 picks a free one)" },
  ["--tls"] = { field = "tls" },
  ["--tls-name"] = { field = "tls_name", parse = key_option, wanted = "a host name" },
  ["--http2"] = { field = "http2" },
  ["--management-key"] = { field = "management_key", parse = key_option, wanted = "a key without spaces" },
  ["--key"] = { field = "normal_key", parse = key_option, wanted = "a key without spaces" },
  ["--page-size"] = { field = "page_size", parse = integer_option(1, MAX_INTEGER), wanted = "a positive integer" },
  ["--watch-pid"] = { field = "watch_pid", parse = integer_option(1, MAX_INTEGER), wanted = "a process id" },
  ["--verbose"] = { field = "verbose" },
  ["--help"] = { field = "help" },
}

local function parse_args(argv)
  local options = {
    host = "127.0.0.1",
    port = 0,
    tls = false,
    management_key = "mg-dev-management-key",
    normal_key = "mg-dev-normal-key",
    page_size = 100,
  }
  local index = 1
  while argv[index] ~= nil do
    local flag, inline = argv[index]:match("^(%-%-[^=]+)=(.*)$")
    flag = flag or argv[index]
    local spec = OPTIONS[flag]
    if not spec then
      return nil, "unknown argument: " .. argv[index]
    end
    if spec.parse then
      local text = inline
      if text == nil then
        index = index + 1
        text = argv[index]
      end
      local value = text and spec.parse(text)
      if not value then
        return nil, flag .. " needs " .. spec.wanted
      end
      options[spec.field] = value
    elseif inline then
      return nil, flag .. " takes no value"
    else
      options[spec.field] = true
    end
    index = index + 1
  end
  if options.management_key == options.normal_key then
    return nil, "--key and --management-key must differ"
  end
  return options
end

return { USAGE = USAGE, LOOPBACK_BIND = LOOPBACK_BIND, parse = parse_args }
