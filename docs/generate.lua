-- `make docs`: writes what modelgates.api (lua/modelgates/api.lua) already says into the places
-- people and editors read it, so that it is kept in one place:
--   lua/modelgates/types.lua  the LuaCATS classes of the options, the operations' params and
--                             bodies, and ModelGatesKeys (the operations)
--   README.md                 the tables of options, operations and their fields
-- Each goes between a "make docs" begin line and an end line; the rest of both files is written
-- by hand. With --check it writes nothing, and exits 1 naming each file that is not current
-- (spec/docs_spec.lua runs that in `make test`).
--
--   lua docs/generate.lua [--check]     (from the repository's root, with lua/ on package.path)

local api = require("modelgates.api")

local sorted_names = require("modelgates.validate").sorted_names
local argument_names = require("modelgates.client").argument_names

--- The operations by path, then by method as a resource's life goes: as the API reference lists
--- them, and with no list here to keep in step with modelgates.api.
local METHOD_RANK = { GET = 1, POST = 2, PUT = 3, PATCH = 4, DELETE = 5 }
local OPERATION_ORDER = sorted_names(api.operations)
table.sort(OPERATION_ORDER, function(a, b)
  local op_a, op_b = api.operations[a], api.operations[b]
  if op_a.path ~= op_b.path then
    return op_a.path < op_b.path
  end
  return METHOD_RANK[op_a.method] < METHOD_RANK[op_b.method]
end)

---------------------------------------------------------------------------------------------------
-- LuaCATS

local LUACATS_TYPES = {
  string = "string",
  header_value = "string",
  url = "string",
  host_list = "string",
  boolean = "boolean",
  number = "number",
  integer = "integer",
  timestamp = "string|integer",
  headers = "table<string, string>",
  proxy_url = "string|false",
}

local function luacats_type(spec)
  local text
  if spec.type == "enum" then
    text = '"' .. table.concat(spec.values, '"|"') .. '"'
  elseif spec.type == "object" then
    text = assert(spec.class, "an object spec needs a class") .. (spec.disabled_by_false and "|false" or "")
  elseif spec.type == "function" then
    text = assert(spec.doc_type, "a function spec needs a doc_type")
  else
    text = assert(LUACATS_TYPES[spec.type], "no LuaCATS type for " .. spec.type)
  end
  return spec.nullable and text .. "|ModelGatesNull" or text
end

local function doc_of(spec, name)
  return assert(spec.doc, "modelgates.api: no doc for " .. name)
end

--- A class of the field specs `specs`, and the classes of its object fields after it.
local function luacats_class(lines, name, specs)
  local nested = {}
  lines[#lines + 1] = "---@class " .. name
  for _, field in ipairs(sorted_names(specs)) do
    local spec = specs[field]
    lines[#lines + 1] = ("---@field %s%s %s %s"):format(
      field,
      spec.required and "" or "?",
      luacats_type(spec),
      doc_of(spec, name .. "." .. field)
    )
    if spec.type == "object" then
      nested[#nested + 1] = spec
    end
  end
  for _, spec in ipairs(nested) do
    lines[#lines + 1] = ""
    luacats_class(lines, spec.class, spec.fields)
  end
end

--- Each argument's LuaCATS declaration; path parameters are strings.
local function signature(op)
  local declarations = {
    params = "params?: " .. tostring(op.query_class),
    body = "body: " .. tostring(op.body_class),
    options = "options?: ModelGatesOptions",
  }
  local parameters = {}
  for i, name in ipairs(argument_names(op)) do
    parameters[i] = declarations[name] or (name .. ": string")
  end
  return table.concat(parameters, ", ")
end

local function luacats_block()
  local lines = {}
  luacats_class(lines, "ModelGatesOptions", api.options)
  for _, name in ipairs(OPERATION_ORDER) do
    local op = api.operations[name]
    for _, part in ipairs({ { op.query, op.query_class }, { op.body, op.body_class } }) do
      if part[1] then
        lines[#lines + 1] = ""
        luacats_class(lines, part[2], part[1])
      end
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "---@class ModelGatesKeys"
  for _, name in ipairs(OPERATION_ORDER) do
    local op = api.operations[name]
    lines[#lines + 1] = ("---%s Errors: %s."):format(op.doc, table.concat(op.errors, ", "))
    lines[#lines + 1] = ("---@field %s fun(%s): %s, ModelGatesResponse"):format(
      name,
      signature(op),
      op.doc_returns.class
    )
  end
  lines[#lines + 1] = "---Every key of every page: `for key in keys.each{ include_disabled = true } do ... end`."
  lines[#lines + 1] = ("---@field each fun(params?: %s, options?: ModelGatesOptions): fun(): ModelGatesKey|nil"):format(
    api.operations.list.query_class
  )
  return table.concat(lines, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------------
-- README

local README_TYPES = {
  string = "string",
  header_value = "string",
  url = "string",
  host_list = "string",
  boolean = "boolean",
  headers = "table",
  ["function"] = "function",
  timestamp = "string or integer",
  proxy_url = "string or `false`",
}

local function readme_type(spec)
  local text
  if spec.type == "number" or spec.type == "integer" then
    text = spec.type == "integer" and "integer" or "number"
    if spec.min then
      text = ("%s %s %s"):format(text, spec.exclusive and ">" or ">=", tostring(spec.min))
    end
  elseif spec.type == "enum" then
    text = '`"' .. table.concat(spec.values, '"`, `"') .. '"`'
  elseif spec.type == "object" then
    text = spec.disabled_by_false and "table or `false`" or "table"
  else
    text = assert(README_TYPES[spec.type], "no README type for " .. spec.type)
  end
  if spec.nullable then
    text = text .. " or `modelgates.null`"
  end
  return text
end

local function field_table(specs, first_column)
  local lines = { ("| %s | type | meaning |"):format(first_column), "|---|---|---|" }
  local function add(prefix, field_specs)
    for _, field in ipairs(sorted_names(field_specs)) do
      local spec = field_specs[field]
      lines[#lines + 1] = ("| `%s%s` | %s%s | %s |"):format(
        prefix,
        field,
        readme_type(spec),
        spec.required and ", required" or "",
        spec.doc
      )
      if spec.type == "object" then
        add(prefix .. field .. ".", spec.fields)
      end
    end
  end
  add("", specs)
  return lines
end

local function readme_options_block()
  return table.concat(field_table(api.options, "option"), "\n") .. "\n"
end

local function readme_operations_block()
  local lines = { "| function | HTTP | returns | documented errors |", "|---|---|---|---|" }
  for _, name in ipairs(OPERATION_ORDER) do
    local op = api.operations[name]
    local arguments = signature(op):gsub(": [%w_]+", ""):gsub("%?", "?")
    local http = ("`%s %s`"):format(op.method, op.path) .. (op.success ~= 200 and (" → " .. op.success) or "")
    lines[#lines + 1] = ("| `%s(%s)` | %s | %s | %s |"):format(
      name,
      arguments,
      http,
      op.doc_returns.text,
      table.concat(op.errors, ", ")
    )
  end
  lines[#lines + 1] = "| `each(params?, options?)` | `GET /keys` per page | an iterator over every key | as `list` |"
  for _, name in ipairs(OPERATION_ORDER) do
    local op = api.operations[name]
    for _, part in ipairs({ { op.query, "params" }, { op.body, "body" } }) do
      if part[1] then
        lines[#lines + 1] = ""
        lines[#lines + 1] = ("**`%s` %s**:"):format(name, part[2])
        lines[#lines + 1] = ""
        for _, line in ipairs(field_table(part[1], "field")) do
          lines[#lines + 1] = line
        end
      end
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------------
-- Writing

--- `text` with what stands between the begin and end lines of `name` replaced by `block`.
local function replaced(text, path, name, block, comment)
  local begin_line = comment[1] .. " BEGIN make docs: " .. name .. comment[2]
  local end_line = comment[1] .. " END make docs: " .. name .. comment[2]
  local from = assert(text:find(begin_line .. "\n", 1, true), path .. ": no line " .. begin_line)
  local to = assert(text:find("\n" .. end_line, from, true), path .. ": no line " .. end_line)
  return text:sub(1, from + #begin_line) .. block .. text:sub(to + 1)
end

local TARGETS = {
  {
    path = "lua/modelgates/types.lua",
    comment = { "--", " (docs/generate.lua, from modelgates.api; do not edit by hand)" },
    blocks = { { "classes", luacats_block } },
  },
  {
    path = "README.md",
    comment = { "<!--", " (docs/generate.lua, from modelgates.api; do not edit by hand) -->" },
    blocks = { { "options", readme_options_block }, { "operations", readme_operations_block } },
  },
}

local check = arg and arg[1] == "--check"
local stale = {}
for _, target in ipairs(TARGETS) do
  local file = assert(io.open(target.path, "rb"))
  local text = file:read("*a")
  file:close()
  local generated = text
  for _, block in ipairs(target.blocks) do
    generated = replaced(generated, target.path, block[1], block[2](), target.comment)
  end
  if generated ~= text then
    stale[#stale + 1] = target.path
    if not check then
      file = assert(io.open(target.path, "wb"))
      file:write(generated)
      file:close()
    end
  end
end
if check and #stale > 0 then
  io.stderr:write("not current, run make docs: ", table.concat(stale, ", "), "\n")
  os.exit(1)
end
