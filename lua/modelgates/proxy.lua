--- Which proxy a request goes through. The rules are curl's, read here
--- rather than by libcurl, so that the client knows its proxy: to refuse a
--- key sent in clear across a network, to redact the proxy's password, and
--- to refuse a proxy where the transport cannot use one.
---
--- The `proxy` option wins; `proxy = false` means none, the environment
--- ignored. Otherwise, for a server URL of scheme S, the first set of
--- S_proxy, then (for https only) S_PROXY in upper case, then all_proxy,
--- ALL_PROXY; curl never reads HTTP_PROXY in upper case, which a CGI
--- server sets from a request's "Proxy:" header. The `no_proxy` option, or
--- else no_proxy or NO_PROXY, lists the hosts reached directly.

local proxy = {}

--- The scheme, the host (lower case, an IPv6 address without brackets) and
--- the user info of an absolute URL.
function proxy.split_url(url)
  local scheme, authority = url:match("^(%a+)://([^/?#]*)")
  local userinfo, host_port = authority:match("^(.*)@(.-)$")
  host_port = host_port or authority
  local host = host_port:match("^%[(.-)%]") or host_port:gsub(":%d*$", "")
  return scheme:lower(), host:lower(), userinfo
end

local function ipv4_number(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then
    return nil
  end
  local number = 0
  for _, part in ipairs({ a, b, c, d }) do
    part = tonumber(part)
    if part > 255 then
      return nil
    end
    number = number * 256 + part
  end
  return number
end

local function is_ip_address(host)
  return ipv4_number(host) ~= nil or host:find(":", 1, true) ~= nil
end

--- Whether an entry of a no_proxy list names `host`: a name names itself
--- and the names under it ("example.com" and ".example.com" both name
--- api.example.com); an address names itself, and an IPv4 network in CIDR
--- form ("10.0.0.0/8") the addresses in it.
local function entry_names(entry, host)
  local network, bits = entry:match("^([%d.]+)/(%d+)$")
  if network then
    local address, base = ipv4_number(host), ipv4_number(network)
    bits = tonumber(bits)
    if not (address and base and bits <= 32) then
      return false
    end
    local size = 2 ^ (32 - bits)
    return math.floor(address / size) == math.floor(base / size)
  end
  entry = entry:lower():match("^%[(.*)%]$") or entry:lower()
  entry = entry:gsub("^%.", ""):gsub("%.$", "")
  if host == entry then
    return true
  end
  return not is_ip_address(host) and host:sub(-#entry - 1) == "." .. entry
end

--- Whether `host` is in the comma- or space-separated `list`; "*" alone
--- (not as an entry among others, as curl reads it) names every host.
function proxy.bypasses(list, host)
  if list:match("^%s*(.-)%s*$") == "*" then
    return true
  end
  host = host:gsub("%.$", "")
  for entry in list:gmatch("[^,%s]+") do
    if entry_names(entry, host) then
      return true
    end
  end
  return false
end

--- The proxy for a request to `server_url`: its URL, with "http://" added
--- where an environment variable left the scheme out as curl allows, and
--- the option or variable it came from; nil when there is none.
--- `read(name)` returns the option `name` if given, `read(name, true)` the
--- environment variable `name`, nil for unset or empty.
function proxy.choose(server_url, read)
  local chosen = read("proxy")
  if chosen == false then
    return nil
  end
  local scheme, host = proxy.split_url(server_url)
  local source = "proxy"
  if chosen == nil then
    local names = { scheme .. "_proxy", "all_proxy", "ALL_PROXY" }
    if scheme ~= "http" then
      table.insert(names, 2, scheme:upper() .. "_PROXY")
    end
    for _, name in ipairs(names) do
      chosen = read(name, true)
      if chosen ~= nil then
        source = name
        break
      end
    end
    if chosen == nil then
      return nil
    end
  end
  local exceptions = read("no_proxy")
  if exceptions == nil then
    exceptions = read("no_proxy", true) or read("NO_PROXY", true)
  end
  if exceptions and proxy.bypasses(exceptions, host) then
    return nil
  end
  return chosen, source
end

--- The URL with its scheme, as curl reads "host:port" in a variable.
function proxy.with_scheme(url)
  if url:find("^%a[%w+.-]*://") then
    return url
  end
  return "http://" .. url
end

local BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(text)
  local out = {}
  for at = 1, #text, 3 do
    local a, b, c = text:byte(at, at + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local digits = {}
    for i = 4, 1, -1 do
      digits[i] = n % 64 + 1
      n = math.floor(n / 64)
    end
    out[#out + 1] = BASE64:sub(digits[1], digits[1])
      .. BASE64:sub(digits[2], digits[2])
      .. (b and BASE64:sub(digits[3], digits[3]) or "=")
      .. (c and BASE64:sub(digits[4], digits[4]) or "=")
  end
  return table.concat(out)
end

local function percent_decoded(text)
  return (text:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

--- What of a proxy URL is secret, in every form it may be echoed in: the
--- user info as written, the password as written and decoded, and the
--- Basic credentials libcurl sends to the proxy. The user name alone is
--- not: it is a name, and redacting a short one would mangle every message.
function proxy.secrets(url)
  local _, _, userinfo = proxy.split_url(url)
  if not userinfo or userinfo == "" then
    return {}
  end
  local user, password = userinfo:match("^([^:]*):(.*)$")
  -- libcurl sends "user:" when the URL gives no password.
  local found = { userinfo, base64(percent_decoded(user and userinfo or userinfo .. ":")) }
  if password and password ~= "" then
    found[#found + 1] = password
    found[#found + 1] = percent_decoded(password)
  end
  if not user then
    found[#found + 1] = percent_decoded(userinfo)
  end
  return found
end

--- The proxy URL as it may be shown: without its user info.
function proxy.shown(url)
  -- Up to the last "@" before the path, as split_url reads it.
  return (url:gsub("^(%a[%w+.-]*://)[^/]*@", "%1[REDACTED]@"))
end

return proxy
