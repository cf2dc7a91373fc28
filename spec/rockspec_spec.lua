-- The rockspec installs every Lua module and compiles every C source of
-- the repository: a file added to one but not the other would be missing
-- only from LuaRocks installs.
local support = require("spec.support")
local read_file = support.read_file
local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/rockspec_spec%.lua$") or ""

local function list_files(pattern)
  local pipe = assert(io.popen("cd '" .. (ROOT == "" and "." or ROOT) .. "' && ls " .. pattern))
  local files = {}
  for line in pipe:lines() do
    files[#files + 1] = line
  end
  pipe:close()
  table.sort(files)
  return files
end

local function sorted(list)
  table.sort(list)
  return list
end

--- The rockspec's variables, as LuaRocks reads it: Lua assignments run in
--- an environment of their own.
local function load_rockspec(path)
  local text, env = read_file(path), {}
  local chunk
  if setfenv then
    chunk = assert(loadstring(text, "@" .. path))
    setfenv(chunk, env)
  else
    chunk = assert(load(text, "@" .. path, "t", env))
  end
  chunk()
  return env
end

describe("rockspec/modelgates-dev-1.rockspec and rockspec/modelgates-testing-dev-1.rockspec", function()
  local rockspec = load_rockspec(ROOT .. "rockspec/modelgates-dev-1.rockspec")
  local testing = load_rockspec(ROOT .. "rockspec/modelgates-testing-dev-1.rockspec")
  local modules = rockspec.build.modules

  it("install every module of lua/modelgates under its name, each in one rock", function()
    local installed = {}
    for _, spec in ipairs({ rockspec, testing }) do
      for name, path in pairs(spec.build.modules) do
        if type(path) == "string" then
          local expected = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
          assert.are.equal(expected, name)
          installed[#installed + 1] = path
        end
      end
    end
    assert.are.same(list_files("lua/modelgates/*.lua lua/modelgates/*/*.lua"), sorted(installed))
  end)

  it("keep the test server out of the runtime rock, and its dependencies in the testing rock", function()
    assert.is_nil(modules["modelgates.server"])
    assert.is_nil(modules["modelgates.testing"])
    assert.is_nil(rockspec.build.install.bin["modelgates-server"])
    assert.are.equal("bin/modelgates-server", testing.build.install.bin["modelgates-server"])
    -- Every rock the server and the testing module require, by the name LuaRocks knows it by.
    local rock_of = {
      cqueues = "cqueues",
      http = "http",
      openssl = "luaossl",
      cjson = "lua-cjson",
      zlib = "lua-zlib",
      modelgates = "modelgates",
    }
    local declared = {}
    for _, dependency in ipairs(testing.dependencies) do
      declared[dependency:match("^(%S+)")] = true
    end
    for _, file in ipairs(list_files("lua/modelgates/server/*.lua lua/modelgates/testing.lua")) do
      for name in read_file(ROOT .. file):gmatch('require%(?%s*"([%w_]+)') do
        assert.is_true(declared[rock_of[name] or "?"] or false, file .. " requires " .. name .. ", undeclared")
      end
    end
  end)

  it("compiles every C source of the core", function()
    assert.are.same(list_files("src/*.c"), sorted(modules["modelgates.core"].sources))
  end)
end)
