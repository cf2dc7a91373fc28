-- A real nginx with its Lua module requires the module before the fork and
-- uses it in content handlers and in ngx.timer.at callbacks; the spec calls
-- that nginx over loopback. Two configurations: spec/hosts/nginx.conf, and
-- the README's own example as it is printed there.
local core = require("modelgates.core")
local testing = require("modelgates.testing")
local support = require("spec.support")
local process = require("spec.hosts.process")

local PORT_TRIES = 5
local START_SECONDS = 10
local WAIT_SECONDS = 10

-- What the README's complete example leaves to how nginx is started.
local README_PRELUDE = [[
daemon off;
pid nginx.pid;
error_log error.log warn;
]]

local function random_port()
  local source = assert(io.open("/dev/urandom", "rb"))
  local high, low = source:read(2):byte(1, 2)
  source:close()
  return 20000 + (high * 256 + low) % 40000
end

local function readme_nginx_example()
  local readme = process.read_file(process.root .. "/README.md")
  local example = assert(readme:match("## OpenResty\n.-```nginx\n(.-)```"), "no nginx example in the README")
  -- Its load_module lines are comments for Debian's nginx, which loads them
  -- from /etc/nginx/modules-enabled; nginx -c with a file of its own does not.
  example = example:gsub("\n# (load_module [^\n]+)", "\n%1")
  return README_PRELUDE
    .. example:gsub("/path/to/lua%-modelgates", "@ROOT@"):gsub("127%.0%.0%.1:8080", "127.0.0.1:@PORT@")
end

--- Describes an nginx run with `template` (@ROOT@, @PORT@ and what
--- `placeholders(nginx)`, if given, returns filled in) in a directory of
--- its own, with the URL and management key of a local server (of
--- `server_options`) in its environment; nginx is ready once `probe_path`
--- answers.
local function nginx_with(template, probe_path, placeholders, server_options)
  local handle = support.server(server_options)
  local transport = core.transport()
  local nginx = {}

  function nginx.error_log()
    return process.read_file(nginx.prefix .. "/error.log")
  end

  function nginx.get_with_timeout(path, seconds)
    local res, err = transport:perform({ method = "GET", url = nginx.base_url .. path, timeout = seconds })
    assert(res, err and err.message)
    return res
  end

  function nginx.get(path)
    return nginx.get_with_timeout(path, 20)
  end

  -- nginx cannot report a port of the kernel's choice: a random one is
  -- tried, and another if it is taken.
  local function start()
    local values = placeholders and placeholders(nginx) or {}
    values.ROOT = process.root
    for _ = 1, PORT_TRIES do
      local port = random_port()
      values.PORT = port
      process.write_file(nginx.prefix .. "/nginx.conf", (template:gsub("@([%u_]+)@", values)))
      nginx.process = process.spawn({
        "nginx",
        "-p",
        nginx.prefix,
        "-c",
        nginx.prefix .. "/nginx.conf",
        "-e",
        nginx.prefix .. "/error.log",
      }, { MODELGATES_API_KEY = nginx.server.management_key, MODELGATES_BASE_URL = nginx.server.url }, 120)
      nginx.base_url = "http://127.0.0.1:" .. port
      local deadline = core.now() + START_SECONDS
      while nginx.process:running() and core.now() < deadline do
        if transport:perform({ method = "GET", url = nginx.base_url .. probe_path, timeout = 5 }) then
          return
        end
        core.sleep(0.05)
      end
      local output = nginx.process:stop()
      if not nginx.error_log():find("Address already in use", 1, true) then
        error("nginx did not start: " .. output .. nginx.error_log())
      end
    end
    error("nginx found no free port in " .. PORT_TRIES .. " tries")
  end

  setup(function()
    nginx.server = handle.server
    nginx.prefix = process.temp_dir()
    start()
  end)

  teardown(function()
    if nginx.process then
      nginx.process:stop()
    end
    transport:close()
    if nginx.prefix then
      process.remove_dir(nginx.prefix)
    end
  end)

  local log_mark = 0
  before_each(function()
    log_mark = #nginx.error_log()
  end)

  -- A test that makes nginx log an error on purpose says so.
  after_each(function()
    local written = nginx.error_log():sub(log_mark + 1)
    if not nginx.error_log_expected then
      assert.is_nil(written:find("[error]", 1, true), written)
    end
    nginx.error_log_expected = false
  end)

  return nginx
end

--- The keys of `server`, once there are `count` of them.
local function wait_for_keys(server, count)
  local deadline = core.now() + WAIT_SECONDS
  repeat
    local keys = server:keys()
    if #keys >= count then
      return keys
    end
    core.sleep(0.05)
  until core.now() > deadline
  error("timed out waiting for " .. count .. " keys")
end

describe("inside nginx (spec/hosts/nginx.conf)", function()
  local nginx = nginx_with(process.read_file(process.root .. "/spec/hosts/nginx.conf"), "/ready")

  it("calls the API from a content handler with the client made before the fork", function()
    local res = nginx.get("/current")
    assert.are.equal(200, res.status, nginx.error_log())
    assert.are.equal("string", type(res.body:match("^(.+)\n$")))
    local request = support.only_request(nginx.server)
    assert.are.equal("/api/v1/key", request.path)
    assert.are.equal("Bearer " .. nginx.server.management_key, request.headers.authorization)
  end)

  it("creates, reads, changes, lists and deletes a key from a content handler", function()
    local res = nginx.get("/lifecycle?name=from-nginx")
    assert.are.equal(200, res.status, nginx.error_log())
    assert.are.equal("from-nginx nil true 0\n", res.body)
    assert.are.same({}, nginx.server:keys())
  end)

  it("gives the handler the typed error of a failed call", function()
    local res = nginx.get("/missing?hash=" .. ("ab"):rep(32))
    assert.are.equal(404, res.status, nginx.error_log())
    assert.are.equal("NotFoundResponseError\n", res.body)
  end)

  it("calls the API from an ngx.timer.at callback", function()
    local res = nginx.get("/timer?name=from-timer")
    assert.are.equal(200, res.status, nginx.error_log())
    local keys = nginx.server:keys()
    assert.are.equal(1, #keys)
    assert.are.equal("from-timer", keys[1].name)
    assert.are.equal(keys[1].hash .. "\n", res.body)
  end)
end)

describe("inside nginx (the README's example)", function()
  local nginx = nginx_with(readme_nginx_example(), "/keys/count")

  it("counts the keys in a content handler", function()
    nginx.server:seed({ count = 3 })
    local res = nginx.get("/keys/count")
    assert.are.equal(200, res.status, nginx.error_log())
    assert.are.equal("3\n", res.body)
  end)

  it("makes two calls at once with ngx.thread.spawn", function()
    nginx.server:seed({ count = 2 })
    local res = nginx.get("/keys/both")
    assert.are.equal(200, res.status, nginx.error_log())
    assert.matches("^.+ sees 2 keys\n$", res.body)
  end)

  it("creates a key in an ngx.timer.at callback", function()
    local res = nginx.get("/keys/create-later?name=later")
    assert.are.equal("scheduled\n", res.body)
    assert.are.equal("later", wait_for_keys(nginx.server, 1)[1].name)
  end)
end)

--- GETs `urls` all at once (core.multi); each answer with the seconds it took.
local function fetch_at_once(urls)
  local multi = core.multi()
  local started, index_of, answers = core.now(), {}, {}
  for i, url in ipairs(urls) do
    index_of[multi:add({ method = "GET", url = url, timeout = 30 })] = i
  end
  while multi:active() > 0 and core.now() - started < 30 do
    for _, id in ipairs(multi:perform(0.01) or {}) do
      local res, err = multi:result(id)
      answers[index_of[id]] = {
        status = res and res.status,
        body = res and res.body or tostring(err),
        seconds = core.now() - started,
      }
    end
  end
  multi:close()
  return answers
end

describe("inside nginx on cosockets (spec/hosts/nginx_cosocket.conf, one worker)", function()
  -- One management key for every server, the one nginx's calls send.
  local management_key = "mg-test-mgmt-nginx-" .. tostring(random_port())
  local trusted = support.server({ tls = true, management_key = management_key })
  local untrusted = support.server({ tls = true, management_key = management_key })
  -- Its certificate names another host than the loopback address, so no
  -- client can verify it here, the suite's control calls included.
  local misnamed, dns
  -- nginx resolves host names with its `resolver`: a dnsmasq on loopback
  -- answers "localhost" (the name the servers' certificates carry).
  local dns_port = random_port()
  setup(function()
    misnamed = testing.start_server({ tls = true, tls_name = "elsewhere.example" })
    dns = process.spawn({
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--port=" .. dns_port,
      "--address=/localhost/127.0.0.1",
      "--user=root",
    }, {}, 600)
  end)
  teardown(function()
    if misnamed then
      misnamed:stop()
    end
    if dns then
      dns:stop()
    end
  end)
  local nginx = nginx_with(
    process.read_file(process.root .. "/spec/hosts/nginx_cosocket.conf"),
    "/ready",
    function(self)
      -- Both CAs are trusted, so that the misnamed server fails on its name alone.
      local ca_file = self.prefix .. "/trusted.pem"
      process.write_file(ca_file, process.read_file(trusted.server.ca_file) .. process.read_file(misnamed.ca_file))
      return { CA_FILE = ca_file, DNS_PORT = dns_port }
    end,
    { management_key = management_key }
  )

  --- The server's URL with the host name its certificate carries.
  local function by_name(url)
    return (url:gsub("^https://127%.0%.0%.1:", "https://localhost:"))
  end

  local function slow_key(delay, count)
    local server = nginx.server
    local hash = server:client().keys.create({ name = "slow" }).data.hash
    server:fault({ path = "/api/v1/keys/" .. hash, delay = delay, count = count })
    return hash
  end

  it("answers another location at once while a call waits 2 s", function()
    local hash = slow_key(2, 1)
    local answers = fetch_at_once({ nginx.base_url .. "/call?hash=" .. hash, nginx.base_url .. "/ready" })
    assert.are.equal(200, answers[1].status, answers[1].body)
    assert.are.equal("slow\n", answers[1].body)
    assert.is_true(answers[1].seconds >= 2)
    assert.are.equal(204, answers[2].status)
    assert.is_true(answers[2].seconds < 0.1, ("/ready took %.3f s"):format(answers[2].seconds))
  end)

  it("runs 10 calls at once in about one latency", function()
    local hash = slow_key(1, 10)
    local urls = {}
    for i = 1, 10 do
      urls[i] = nginx.base_url .. "/call?hash=" .. hash
    end
    local answers = fetch_at_once(urls)
    for i = 1, 10 do
      assert.are.equal("slow\n", answers[i].body)
      assert.is_true(answers[i].seconds < 2.5, ("call %d took %.3f s"):format(i, answers[i].seconds))
    end
  end)

  for _, how in ipairs({ "gather", "threads" }) do
    it("runs calls at once inside one request with " .. how, function()
      local hash = slow_key(1, 5)
      local started = core.now()
      local res = nginx.get(("/many?how=%s&n=5&hash=%s"):format(how, hash))
      assert.are.equal("slow,slow,slow,slow,slow\n", res.body)
      assert.is_true(core.now() - started < 2.5)
      assert.are.equal(5, nginx.server:stats().max_in_flight)
    end)
  end

  it("keeps one connection for 1,000 sequential calls", function()
    local before = nginx.server:stats().connections
    assert.are.equal("done\n", nginx.get("/sequential?n=1000").body)
    assert.are.equal(1, nginx.server:stats().connections - before)
  end)

  it("calls over https with the trusted CA, and refuses a wrong name or an unknown CA before sending", function()
    nginx.error_log_expected = true
    assert.are.equal("keys 0\n", nginx.get("/https?url=" .. by_name(trusted.server.url)).body)
    assert.are.equal(1, #trusted.server:requests())
    -- Debian's lua-nginx-module (0.10.23) says why only when the handshake did not complete at once
    -- (openresty/lua-nginx-module#2506); otherwise the module says what that means.
    local lost = "^ConnectionError: TLS handshake failed: the connection closed right after it, as "
      .. "lua%-nginx%-module reports a certificate that did not verify"
    local wrong_name = nginx.get("/https?url=" .. by_name(misnamed.url)).body
    if not wrong_name:find(lost) then
      assert.matches("^ConnectionError: TLS handshake failed: certificate host mismatch", wrong_name)
    end
    local unknown_ca = nginx.get("/https?url=" .. by_name(untrusted.server.url)).body
    if not unknown_ca:find(lost) then
      assert.matches("^ConnectionError: TLS handshake failed: %d+: unable to verify the first certificate", unknown_ca)
    end
    assert.are.same({}, untrusted.server:requests())
  end)

  it("says that a host name needs nginx's resolver directive", function()
    nginx.error_log_expected = true
    local url = trusted.server.url:gsub("^https://127%.0%.0%.1:", "https://modelgates.test:")
    local answer = nginx.get("/no-resolver?url=" .. url).body
    assert.matches(
      "^ConnectionError: cannot resolve the server's host name: nginx needs a `resolver` directive",
      answer
    )
    assert.are.same({}, trusted.server:requests())
  end)

  it('blocks on purpose with transport = "curl"', function()
    assert.are.equal("keys 0\n", nginx.get("/https?transport=curl&url=" .. nginx.server.url).body)
    assert.are.equal(1, #nginx.server:requests())
  end)

  it("calls from init_by_lua with libcurl, and from a timer on cosockets", function()
    assert.matches("^label ", nginx.get("/init").body)
    assert.matches("^label ", nginx.get("/timer").body)
  end)

  it("refuses a call from log_by_lua with a ValidationError that names the phase and the way out", function()
    nginx.get("/log-phase")
    local deadline = core.now() + WAIT_SECONDS
    local result
    repeat
      result = nginx.get("/log-phase-result").body
    until result ~= "nil\n" or core.now() > deadline
    assert.matches("^ValidationError: modelgates: a call in nginx's log phase", result)
    assert.matches("ngx.timer.at", result, 1, true)
  end)

  it("runs the suite's shared cases (support.shared_spec_files: operations to proxies) on cosockets", function()
    -- The fault cases make nginx log refused connections and timeouts.
    nginx.error_log_expected = true
    local out = os.tmpname()
    os.execute("chmod 666 " .. process.shell_quote(out))
    local res = nginx.get_with_timeout("/cases?out=" .. out, 600)
    local report = process.read_file(out)
    os.remove(out)
    local passed = select(2, report:gsub("\nok %d+", ""))
    local failed = {}
    for line in report:gmatch("not ok [^\n]+") do
      failed[#failed + 1] = line
    end
    assert.are.same({}, failed, report)
    assert.matches("# exit 0\n$", report)
    assert.is_true(passed > 200, "only " .. passed .. " cases passed")
    assert.are.equal(200, res.status)
  end)
end)
