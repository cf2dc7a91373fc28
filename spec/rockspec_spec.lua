-- The rockspec installs every Lua module and compiles every C source of
-- the repository: a file added to one but not the other would be missing
-- only from LuaRocks installs.
local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/rockspec_spec%.lua$") or ""

local function read_file(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("*a")
  file:close()
  return text
end

local function list_files(pattern)
  local pipe = assert(io.popen("cd '" .. (ROOT == "" and "." or ROOT) .. "' && ls " .. pattern))
  local files = {}
  for line in pipe:lines() do files[#files + 1] = line end
  pipe:close()
  table.sort(files)
  return files
end

local function sorted(list)
  table.sort(list)
  return list
end

describe("rockspec/modelgates-dev-1.rockspec", function()
  local rockspec = read_file(ROOT .. "rockspec/modelgates-dev-1.rockspec")

  it("installs every module of lua/modelgates under its name", function()
    local installed = {}
    for name, path in rockspec:gmatch('%["(modelgates[%w_.]*)"%]%s*=%s*"(lua/[%w_/]+%.lua)"') do
      local expected = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
      assert.are.equal(expected, name)
      installed[#installed + 1] = path
    end
    assert.are.same(list_files("lua/modelgates/*.lua"), sorted(installed))
  end)

  it("compiles every C source of the core", function()
    local sources = {}
    for path in rockspec:match("sources%s*=%s*(%b{})"):gmatch('"([^"]+)"') do sources[#sources + 1] = path end
    assert.are.same(list_files("src/*.c"), sorted(sources))
  end)
end)
