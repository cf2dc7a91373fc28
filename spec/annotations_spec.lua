-- The LuaCATS annotations in lua/modelgates/types.lua against the API as it
-- is at run time: every public function, option table, response record and
-- error class must be annotated there, and nothing annotated may be gone.
local modelgates = require("modelgates")
local safe = require("modelgates.safe")
local testing = require("modelgates.testing")
local errors = require("modelgates.errors")
local support = require("spec.support")

local TYPES_PATH = debug.getinfo(modelgates.new, "S").source:match("^@(.*/)init%.lua$") .. "types.lua"

--- The type at the start of `text` (a ---@field line after the name): up
--- to the first space outside brackets that neither follows ":", "," or "|"
--- nor precedes "|"; what follows is the description.
local function leading_type(text)
  local depth, last = 0, ""
  for i = 1, #text do
    local char = text:sub(i, i)
    if char:find("[%(%{<]") then
      depth = depth + 1
    elseif char:find("[%)%}>]") then
      depth = depth - 1
    elseif char == " " and depth == 0 and not last:find("[:,|]") and not text:find("^ *|", i) then
      return text:sub(1, i - 1)
    end
    if char ~= " " then
      last = char
    end
  end
  return text
end

--- From the ---@class, ---@field and ---@alias lines: { classes = { [name] =
--- { parent = name|nil, fields = { [name] = { type, optional } } } },
--- aliases = { [name] = true } }. A line that is not a comment ends a class.
local function parse_annotations(path)
  local file = assert(io.open(path, "r"))
  local classes, aliases, current = {}, {}, nil
  for line in file:lines() do
    local name, parent = line:match("^%-%-%-@class ([%w_]+):? *([%w_]*)")
    local field, optional, rest = line:match("^%-%-%-@field ([%w_]+)(%??) (.+)$")
    local alias = line:match("^%-%-%-@alias ([%w_]+)")
    if name then
      current = { parent = parent ~= "" and parent or nil, fields = {} }
      classes[name] = current
    elseif field and current then
      current.fields[field] = { type = leading_type(rest), optional = optional == "?" }
    elseif alias then
      aliases[alias] = true
    elseif not line:match("^%-%-%-") then
      current = nil
    end
  end
  file:close()
  return { classes = classes, aliases = aliases }
end

local annotations = parse_annotations(TYPES_PATH)
local classes = annotations.classes

local function class_fields(name)
  local class = classes[name]
  assert(class, "types.lua has no ---@class " .. name)
  return class.fields
end

--- The names `value` offers: its own fields and those of its metatable's
--- __index table (methods), metamethods aside.
local function public_names(value)
  local names = {}
  local mt = getmetatable(value)
  for _, source in ipairs({ value, mt and type(mt.__index) == "table" and mt.__index or {} }) do
    for name in pairs(source) do
      if not name:find("^__") then
        names[name] = true
      end
    end
  end
  return names
end

--- Every function of `value` is a `fun(` field of class `name`, and every
--- `fun(` field is a function of `value`; with `all_fields`, every field of
--- `value` is annotated too.
local function check_functions(value, name, all_fields)
  local fields = class_fields(name)
  for field in pairs(public_names(value)) do
    if type(value[field]) == "function" then
      local annotated = fields[field]
      assert(
        annotated and annotated.type:find("^fun%("),
        ("%s.%s is a public function without a ---@field %s fun(...) in types.lua"):format(name, field, field)
      )
    elseif all_fields then
      assert(fields[field], ("%s.%s has no ---@field in types.lua"):format(name, field))
    end
  end
  for field, annotated in pairs(fields) do
    if annotated.type:find("^fun%(") then
      assert.are.equal("function", type(value[field]), name .. "." .. field .. " is annotated but not a function")
    end
  end
end

--- The fields of class `name` are exactly the names of the field specs
--- `specs`, optional unless required.
local function check_option_table(name, specs)
  local expected, actual = {}, {}
  for field, spec in pairs(specs) do
    expected[field] = spec.required and "required" or "optional"
  end
  for field, annotated in pairs(class_fields(name)) do
    actual[field] = annotated.optional and "optional" or "required"
  end
  assert.are.same(expected, actual)
end

--- Every field of the record `value` is annotated in class `name`.
local function check_record(value, name)
  local fields = class_fields(name)
  local missing = {}
  for field in pairs(value) do
    if not fields[field] then
      missing[#missing + 1] = field
    end
  end
  table.sort(missing)
  assert.are.same({}, missing, name .. " lacks fields")
end

local function error_class_name(name)
  return name:find("^ModelGates") and name or "ModelGates" .. name
end

describe("the LuaCATS annotations (types.lua)", function()
  local handle = support.server()

  it("annotate every function of modelgates, its clients and their keys", function()
    check_functions(modelgates, "ModelGates", true)
    check_functions(modelgates.keys, "ModelGatesKeys", true)
    local client = modelgates.new()
    check_functions(client, "ModelGatesClient")
    check_functions(client.keys, "ModelGatesKeys", true)
    client:close()
  end)

  it("annotate every function of modelgates.safe and its clients", function()
    check_functions(safe, "ModelGatesSafe", true)
    check_functions(safe.keys, "ModelGatesSafeKeys", true)
    local client = assert(safe.new())
    check_functions(client, "ModelGatesSafeClient", true)
    check_functions(client.keys, "ModelGatesSafeKeys", true)
    client.close()
  end)

  it("annotate every function of modelgates.testing and of its server", function()
    check_functions(testing, "ModelGatesTesting", true)
    check_functions(handle.server, "ModelGatesTestServer")
  end)

  it("annotate modelgates.errors and every error class, with its parent", function()
    check_functions(errors, "ModelGatesErrors", true)
    local names = {}
    for name, class in pairs(errors) do
      if type(class) == "table" and class.name == name then
        names[#names + 1] = name
        local annotated = classes[error_class_name(name)]
        assert(annotated, "types.lua has no ---@class " .. error_class_name(name))
        assert.are.equal(
          class.parent and error_class_name(class.parent.name),
          annotated.parent,
          "the parent class of " .. name
        )
        assert.are.equal(error_class_name(name), class_fields("ModelGatesErrors")[name].type)
      end
    end
    assert.are.equal(13, #names)
    check_functions(errors.ModelGatesError, "ModelGatesError")
  end)

  -- The options, params and bodies are written from modelgates.api by make docs (spec/docs_spec.lua
  -- checks that they are current); the test server's options are annotated by hand.
  it("annotate exactly the options of modelgates.testing.start_server", function()
    check_option_table("ModelGatesTestServerOptions", {
      tls = {},
      tls_name = {},
      http2 = {},
      page_size = {},
      management_key = {},
      key = {},
      command = {},
    })
  end)

  it("annotate every field of the records the operations return", function()
    local keys = handle.server:client().keys
    local created, res = keys.create({
      name = "annotated",
      limit = 1,
      limit_reset = "daily",
      expires_at = "2030-01-01T00:00:00Z",
    })
    check_record(created, "ModelGatesCreatedKeyBody")
    check_record(created.data, "ModelGatesKey")
    check_record(res, "ModelGatesResponse")
    check_record(keys.get_current_key_metadata().data, "ModelGatesCurrentKey")
    check_record(keys.list(), "ModelGatesKeyListBody")
    check_record(keys.delete(created.data.hash), "ModelGatesDeletedBody")
  end)

  it("name only classes that are defined", function()
    local known = {
      string = true,
      number = true,
      integer = true,
      boolean = true,
      table = true,
      any = true,
      ["nil"] = true,
      lightuserdata = true,
      userdata = true,
      fun = true,
      ["function"] = true,
      ["false"] = true,
    }
    for name in pairs(classes) do
      known[name] = true
    end
    for name in pairs(annotations.aliases) do
      known[name] = true
    end
    local unknown = {}
    for class_name, class in pairs(classes) do
      for field, annotated in pairs(class.fields) do
        -- Neither the literals of a union nor the names of parameters.
        local types_only = annotated.type:gsub('"[^"]*"', ""):gsub("[%w_]+%??:", "")
        for word in types_only:gmatch("[%a_][%w_]*") do
          if not known[word] then
            unknown[#unknown + 1] = class_name .. "." .. field .. ": " .. word
          end
        end
      end
    end
    assert.are.same({}, unknown)
  end)
end)
