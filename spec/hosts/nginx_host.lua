-- A real nginx with its Lua module requires the module before the fork and
-- uses it in content handlers and in ngx.timer.at callbacks; the spec calls
-- that nginx over loopback. Two configurations: spec/hosts/nginx.conf, and
-- the README's own example as it is printed there.
local core = require("modelgates.core")
local support = require("spec.support")
local process = require("spec.hosts.process")

local PORT_TRIES = 5
local START_SECONDS = 10
local WAIT_SECONDS = 10

-- What the README's example leaves to the rest of nginx.conf.
local README_PRELUDE = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
pid nginx.pid;
error_log error.log warn;
events {}
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
  return README_PRELUDE .. example:gsub("/path/to/lua%-modelgates", "@ROOT@"):gsub("127%.0%.0%.1:8080", "127.0.0.1:@PORT@")
end

--- Describes an nginx run with `template` (@ROOT@ and @PORT@ filled in) in a
--- directory of its own, with the local server's URL and management key in
--- its environment; nginx is ready once `probe_path` answers.
local function nginx_with(template, probe_path)
  local handle = support.server()
  local transport = core.transport()
  local nginx = {}

  function nginx.error_log()
    return process.read_file(nginx.prefix .. "/error.log")
  end

  function nginx.get(path)
    local res, err = transport:perform({ method = "GET", url = nginx.base_url .. path, timeout = 20 })
    assert(res, err and err.message)
    return res
  end

  -- nginx cannot report a port of the kernel's choice: a random one is
  -- tried, and another if it is taken.
  local function start()
    for _ = 1, PORT_TRIES do
      local port = random_port()
      process.write_file(nginx.prefix .. "/nginx.conf", (template:gsub("@(%u+)@", { ROOT = process.root, PORT = port })))
      nginx.process = process.spawn({
        "nginx", "-p", nginx.prefix, "-c", nginx.prefix .. "/nginx.conf", "-e", nginx.prefix .. "/error.log",
      }, { MODELGATES_API_KEY = nginx.server.management_key, MODELGATES_BASE_URL = nginx.server.url }, 120)
      nginx.base_url = "http://127.0.0.1:" .. port
      local deadline = core.now() + START_SECONDS
      while nginx.process:running() and core.now() < deadline do
        if transport:perform({ method = "GET", url = nginx.base_url .. probe_path, timeout = 5 }) then return end
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
    if nginx.process then nginx.process:stop() end
    transport:close()
    if nginx.prefix then process.remove_dir(nginx.prefix) end
  end)

  after_each(function()
    assert.is_nil(nginx.error_log():find("[error]", 1, true), nginx.error_log())
  end)

  return nginx
end

--- The keys of `server`, once there are `count` of them.
local function wait_for_keys(server, count)
  local deadline = core.now() + WAIT_SECONDS
  repeat
    local keys = server:keys()
    if #keys >= count then return keys end
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

  it("creates a key in an ngx.timer.at callback", function()
    local res = nginx.get("/keys/create-later?name=later")
    assert.are.equal("scheduled\n", res.body)
    assert.are.equal("later", wait_for_keys(nginx.server, 1)[1].name)
  end)
end)
