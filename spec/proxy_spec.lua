-- Proxies, on every transport, through a real proxy on loopback (spec/proxy_server.lua): https
-- through a CONNECT tunnel, http forwarded, no_proxy, credentials kept secret. Cosockets refuse
-- a proxy with a ValidationError before anything is sent.
local support = require("spec.support")
local shell_quote = support.shell_quote
local errors = require("modelgates.errors")

local PASSWORD = "pr0xy-s3cret-passw0rd"
local CLOSED_PORT_PROXY = "http://127.0.0.1:1"

local function authorized(proxy_url, password)
  return (proxy_url:gsub("^http://", "http://tester:" .. password .. "@"))
end

support.each_transport("proxies", function(it, transport)
  local tls = support.server({ tls = true })
  local plain = support.server()
  local open = support.proxy()
  local guarded = support.proxy({ credentials = "tester:" .. PASSWORD })
  local tunnels = transport.libcurl

  --- `check(pcall(call))` where the transport goes through proxies; elsewhere, the refusal.
  local function through_proxy(call, check)
    if tunnels then
      return check(pcall(call))
    end
    local err = support.raises(errors.ValidationError, call)
    assert.are.equal("proxy", err.field)
    assert.matches("cosocket transport cannot go through a proxy", err.message)
    assert.are.same({}, open.proxy:requests())
    assert.are.same({}, guarded.proxy:requests())
  end

  it("https goes through a CONNECT tunnel: the proxy sees the host and port, never the request", function()
    local client = tls.server:client({ proxy = open.proxy.url })
    through_proxy(client.keys.list, function(ok, page)
      assert.is_true(ok, tostring(page))
      assert.are.same({}, page.data)
      local port = tls.server.url:match(":(%d+)/")
      assert.are.same({ { method = "CONNECT", target = "127.0.0.1:" .. port, auth = "none" } }, open.proxy:requests())
      assert.are.equal("/api/v1/keys", support.only_request(tls.server).path)
    end)
  end)

  it("http to loopback is forwarded, with the proxy's credentials from its URL", function()
    local proxy_url = authorized(guarded.proxy.url, PASSWORD)
    through_proxy(plain.server:client({ proxy = proxy_url }).keys.list, function(ok, err)
      assert.is_true(ok, tostring(err))
      local seen = guarded.proxy:requests()
      assert.are.equal(1, #seen)
      assert.are.equal("GET", seen[1].method)
      assert.are.equal(plain.server.url .. "/keys", seen[1].target)
      assert.are.equal("ok", seen[1].auth)
      assert.is_string(support.only_request(plain.server).headers.authorization)
    end)
  end)

  it("a wrong proxy password: the tunnel refused with 407, not tried again, the password in no text", function()
    local wrong = PASSWORD .. "-wrong"
    local guard = package.loaded["spec.secret_guard"]
    if guard then
      guard.keep_secret(wrong, "a wrong proxy password")
    end
    local lines = {}
    local client = tls.server:client({
      proxy = authorized(guarded.proxy.url, wrong),
      debug = function(line)
        lines[#lines + 1] = line
      end,
    })
    through_proxy(client.keys.list, function(ok, err)
      assert.is_false(ok)
      assert.is_true(err:is(errors.ConnectionError), tostring(err))
      assert.are.equal(407, err.proxy_status)
      assert.is_false(err.transient)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #guarded.proxy:requests())
      assert.are.equal("wrong", guarded.proxy:requests()[1].auth)
      assert.matches("via proxy http://%[REDACTED%]@127%.0%.0%.1:%d+", lines[1])
      for _, text in ipairs({ tostring(err), err.message, table.concat(lines, "\n") }) do
        assert.is_nil(text:find(wrong, 1, true), "the password shows")
      end
      assert.are.same({}, tls.server:requests())
    end)
  end)

  it("a proxy that does not answer is a ConnectionError worth another try, nothing sent", function()
    local client = plain.server:client({ proxy = CLOSED_PORT_PROXY, retries = false })
    through_proxy(client.keys.list, function(ok, err)
      assert.is_false(ok)
      assert.is_true(err:is(errors.ConnectionError), tostring(err))
      assert.is_true(err.transient)
      assert.is_false(err.request_sent)
      assert.are.same({}, plain.server:requests())
    end)
  end)

  -- Nothing goes through a proxy below: the same outcome on every transport.

  it("no_proxy names the hosts reached directly", function()
    for _, exceptions in ipairs({ "127.0.0.1", "example.com, 127.0.0.0/8", "*" }) do
      plain.server:client({ proxy = open.proxy.url, no_proxy = exceptions }).keys.list()
    end
    assert.are.same({}, open.proxy:requests())
    assert.are.equal(3, #plain.server:requests())
  end)

  it("proxy = false connects directly", function()
    plain.server:client({ proxy = false }).keys.list()
    assert.are.equal(1, #plain.server:requests())
  end)

  it("http:// through a proxy that is not on loopback is refused before anything is sent", function()
    local err = support.raises(errors.ValidationError, function()
      plain.server:client({ proxy = "http://10.20.30.40:3128" }).keys.list()
    end)
    assert.are.equal("server_url", err.field)
    assert.matches("when the proxy is not on loopback", err.message)
    assert.are.same({}, plain.server:requests())
  end)

  it("a proxy URL of another scheme, or not a string, is refused and not repeated", function()
    for _, value in ipairs({ "socks5://127.0.0.1:1080", "https://127.0.0.1:3128", "127.0.0.1:3128", 3128, true }) do
      local err = support.raises(errors.ValidationError, function()
        plain.server:client({ proxy = value }).keys.list()
      end)
      assert.are.equal("options.proxy", err.field)
      assert.matches("expected an http:// proxy URL", err.message)
    end
    local err = support.raises(errors.ValidationError, function()
      plain.server:client({ no_proxy = { "127.0.0.1" } }).keys.list()
    end)
    assert.are.equal("options.no_proxy", err.field)
  end)
end)

-- The environment, as curl reads it, in a process of its own (this one's cannot be changed).
if not (rawget(_G, "ngx") or rawget(_G, "vim")) then
  local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/proxy_spec%.lua$") or ""
  local LUA = support.lua_command

  --- Lists the keys in a new process with `environment`; returns what it printed: "ok", or the
  --- error's line.
  local function list_with(environment, server, options)
    options = options or {}
    local function literal(value)
      return type(value) == "string" and ("%q"):format(value) or tostring(value)
    end
    local script = ([[
      local client = require("modelgates").new{ server_url = %q, api_key = %q, ca_file = %s,
        retries = false, proxy = %s, no_proxy = %s }
      local ok, err = pcall(client.keys.list)
      io.write(ok and "ok" or tostring(err))
    ]]):format(
      server.url,
      server.management_key,
      literal(server.ca_file),
      literal(options.proxy),
      literal(options.no_proxy)
    )
    local assignments = {}
    for name, value in pairs(environment) do
      assignments[#assignments + 1] = name .. "=" .. shell_quote(value)
    end
    local printed = support.run_command(
      (
        "cd %s && env -u https_proxy -u HTTPS_PROXY -u http_proxy -u all_proxy "
        .. "-u ALL_PROXY -u no_proxy -u NO_PROXY %s %s -e %s"
      ):format(shell_quote(ROOT ~= "" and ROOT or "."), table.concat(assignments, " "), LUA, shell_quote(script))
    )
    local guard = package.loaded["spec.secret_guard"]
    if guard then
      guard.record(printed)
    end
    return printed
  end

  describe("proxies from the environment", function()
    local tls = support.server({ tls = true })
    local plain = support.server()
    local open = support.proxy()
    local guarded = support.proxy({ credentials = "tester:" .. PASSWORD })

    local function tunnelled()
      local seen = open.proxy:requests()
      return #seen == 1 and seen[1].method == "CONNECT"
    end

    local cases = {
      {
        "https_proxy",
        function()
          return { https_proxy = open.proxy.url }
        end,
        true,
      },
      {
        "HTTPS_PROXY",
        function()
          return { HTTPS_PROXY = open.proxy.url }
        end,
        true,
      },
      {
        "all_proxy",
        function()
          return { all_proxy = open.proxy.url }
        end,
        true,
      },
      {
        "ALL_PROXY",
        function()
          return { ALL_PROXY = open.proxy.url }
        end,
        true,
      },
      {
        "https_proxy without a scheme, as curl reads it",
        function()
          return { https_proxy = "127.0.0.1:" .. open.proxy.port }
        end,
        true,
      },
      {
        "https_proxy with no_proxy naming the host",
        function()
          return { https_proxy = open.proxy.url, no_proxy = "localhost,127.0.0.1" }
        end,
        false,
      },
      {
        "https_proxy with NO_PROXY=*",
        function()
          return { https_proxy = open.proxy.url, NO_PROXY = "*" }
        end,
        false,
      },
      {
        "http_proxy, which https ignores",
        function()
          return { http_proxy = open.proxy.url }
        end,
        false,
      },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. (case[3] and ": through the proxy" or ": directly"), function()
        assert.are.equal("ok", list_with(case[2](), tls.server))
        assert.are.equal(case[3], tunnelled())
        assert.are.equal(1, #tls.server:requests())
      end)
    end

    it("the no_proxy option wins over NO_PROXY, which libcurl does not read either", function()
      local options = { proxy = open.proxy.url, no_proxy = "" }
      assert.are.equal("ok", list_with({ NO_PROXY = "127.0.0.1", no_proxy = "127.0.0.1" }, tls.server, options))
      assert.is_true(tunnelled())
    end)

    it("proxy = false ignores the environment", function()
      assert.are.equal("ok", list_with({ https_proxy = open.proxy.url }, tls.server, { proxy = false }))
      assert.is_false(tunnelled())
    end)

    it("http:// reads http_proxy, never HTTP_PROXY (a CGI server sets it from a request's Proxy header)", function()
      assert.are.equal("ok", list_with({ HTTP_PROXY = open.proxy.url }, plain.server))
      assert.are.same({}, open.proxy:requests())
      assert.are.equal("ok", list_with({ http_proxy = open.proxy.url }, plain.server))
      assert.are.equal("GET", open.proxy:requests()[1].method)
    end)

    it("a variable with another scheme is refused, naming the variable", function()
      local printed = list_with({ https_proxy = "socks5://127.0.0.1:1080" }, tls.server)
      assert.matches("^ValidationError: .*https_proxy: expected an http:// proxy URL", printed)
      assert.are.same({}, tls.server:requests())
    end)

    it("credentials in the variable are used, and a wrong password is in no output", function()
      assert.are.equal("ok", list_with({ https_proxy = authorized(guarded.proxy.url, PASSWORD) }, tls.server))
      local printed = list_with({ https_proxy = authorized(guarded.proxy.url, "not-" .. PASSWORD) }, tls.server)
      assert.matches("^ConnectionError: the proxy refused the tunnel to the server: HTTP 407", printed)
      assert.is_nil(printed:find(PASSWORD, 1, true), "the password shows")
      assert.are.same({ "ok", "wrong" }, { guarded.proxy:requests()[1].auth, guarded.proxy:requests()[2].auth })
    end)
  end)
end
