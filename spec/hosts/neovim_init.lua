-- Run inside `nvim --headless` by spec/hosts/neovim_host.lua: loads the
-- module the way a Neovim config does and runs the six operations against
-- the local server (MODELGATES_API_KEY, MODELGATES_BASE_URL). Prints one
-- line, "result=" and a JSON report, then quits; a failure exits with 1.
local root = os.getenv("MODELGATES_TEST_ROOT")
local rock_tree = os.getenv("MODELGATES_TEST_ROCK_TREE")

local function load_module()
  if os.getenv("MODELGATES_TEST_HIDE_CJSON") then
    package.preload.cjson = function()
      error("cjson hidden by the test")
    end
  end
  if rock_tree ~= "" then
    -- What rocks.nvim does with its tree.
    package.path = rock_tree .. "/share/lua/5.1/?.lua;" .. rock_tree .. "/share/lua/5.1/?/init.lua;" .. package.path
    package.cpath = rock_tree .. "/lib/lua/5.1/?.so;" .. package.cpath
  else
    -- The README's lines for an init.lua without a plugin manager, as
    -- printed, with this checkout for /path/to/lua-modelgates.
    local readme = assert(io.open(root .. "/README.md"))
    local lines = assert(
      readme:read("*a"):match("<!%-%- doc%-test: host spec/hosts/neovim_init%.lua %-%->\n```lua\n(.-)```"),
      "no init.lua lines in the README"
    )
    readme:close()
    assert(loadstring((lines:gsub("/path/to/lua%-modelgates", function()
      return root
    end)), "README.md"))()
  end
  return require("modelgates")
end

local function run()
  local modelgates = load_module()
  local keys = modelgates.keys
  local current = keys.get_current_key_metadata()
  local created = keys.create({ name = "from-neovim", limit = 5 })
  local page = keys.list({ include_disabled = true })
  local fetched = keys.get(created.data.hash)
  local updated = keys.update(created.data.hash, { disabled = true, limit = modelgates.null })
  local deleted = keys.delete(created.data.hash)
  local missing_ok, missing = pcall(keys.get, created.data.hash)
  return {
    json = modelgates.null == vim.NIL and "vim.json" or "cjson",
    source = debug.getinfo(modelgates.new, "S").source,
    is_management_key = current.data.is_management_key,
    created_limit = created.data.limit,
    listed = #page.data,
    fetched_name = fetched.data.name,
    updated_disabled = updated.data.disabled,
    updated_has_limit = updated.data.limit ~= nil,
    deleted = deleted.deleted,
    missing = not missing_ok and missing.name or "no error",
  }
end

dofile(root .. "/spec/hosts/neovim_report.lua")(run)
