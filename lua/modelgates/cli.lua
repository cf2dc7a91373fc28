--- modelgates-keys, the command-line tool over modelgates (docs/cli.md).
--- `main(argv)` returns the exit status; bin/modelgates-keys only calls it.
---
--- Data goes to stdout, everything meant for a person to stderr, so that
--- scripts can capture stdout: the plaintext key of `create`, the rows of
--- `list`, the body of `--json`.

local argparse = require("argparse")
local cjson = require("cjson")
local modelgates = require("modelgates")

local errors = modelgates.errors

local PROGRAM = "modelgates-keys"

local cli = {}

-- Documented in the README: scripts branch on them.
local exit_status = {
  ok = 0,
  failure = 1,
  usage = 2,
  validation = 3,
  authentication = 4,
  not_found = 5,
  rate_limited = 6,
  server = 7,
  network = 8,
}

-- The first class an error is an instance of decides, so every status-specific
-- type comes before APIError. A 400 is the server's own argument check.
local status_by_error = {
  { errors.ValidationError, exit_status.validation },
  { errors.BadRequestResponseError, exit_status.validation },
  { errors.UnauthorizedResponseError, exit_status.authentication },
  { errors.ForbiddenResponseError, exit_status.authentication },
  { errors.NotFoundResponseError, exit_status.not_found },
  { errors.TooManyRequestsResponseError, exit_status.rate_limited },
  { errors.APIError, exit_status.server },
  { errors.ResponseValidationError, exit_status.server },
  { errors.ConnectionError, exit_status.network },
}

--- A failure of the tool itself, as opposed to one raised by modelgates.
local function fail(status, message)
  error({ exit_status = status, message = message }, 0)
end

-- Lua cannot call isatty(3); test(1) can, and it inherits our descriptors.
local function is_terminal(fd)
  local status = os.execute("test -t " .. fd)
  return status == true or status == 0 -- 5.2+ return true; 5.1 the status
end

-- Names and server messages come from others: a control character could split
-- a row or an error line, or send escape sequences to the terminal.
local function one_line(text)
  return (text:gsub("%c", " "))
end

--- The text of one value in a table cell.
local function cell(value, absent)
  if value == nil then
    return absent or "-"
  end
  if type(value) == "boolean" then
    return value and "yes" or "no"
  end
  if type(value) == "number" then
    return ("%.10g"):format(value)
  end
  return one_line(tostring(value))
end

local record_columns = {
  { title = "HASH", field = "hash", terminal_width = 12 },
  { title = "NAME", field = "name" },
  { title = "DISABLED", field = "disabled" },
  { title = "LIMIT", field = "limit", absent = "none" },
  { title = "REMAINING", field = "limit_remaining" },
  { title = "USAGE", field = "usage" },
  { title = "EXPIRES", field = "expires_at", absent = "never" },
}

-- The current key's metadata has no hash, name or disabled flag.
local current_columns = {
  { title = "LABEL", field = "label" },
  { title = "MANAGEMENT", field = "is_management_key" },
  { title = "LIMIT", field = "limit", absent = "none" },
  { title = "REMAINING", field = "limit_remaining" },
  { title = "RESET", field = "limit_reset", absent = "never" },
  { title = "USAGE", field = "usage" },
  { title = "EXPIRES", field = "expires_at", absent = "never" },
}

--- The command's API key, once read: what goes out is written without it.
local current_api_key

--- `text` with every occurrence of `api_key` blanked out.
local function without_key(text, api_key)
  if not api_key then
    return text
  end
  return (text:gsub(api_key:gsub("%W", "%%%0"), "[API key]"))
end

--- Writes data to stdout, without the API key: a server may echo it in any
--- field of a response.
local function write_out(...)
  io.stdout:write(without_key(table.concat({ ... }), current_api_key))
end

local function display_width(text)
  local _, continuation_bytes = text:gsub("[\128-\191]", "")
  return #text - continuation_bytes
end

--- A terminal gets a header and aligned columns with short hashes; a pipe
--- gets one tab-separated line per object, full hashes and no header, for
--- cut, awk and `while read`.
local function print_rows(objects, columns)
  local terminal = is_terminal(1)
  local rows = {}
  if terminal then
    rows[1] = {}
    for i, column in ipairs(columns) do
      rows[1][i] = column.title
    end
  end
  for _, object in ipairs(objects) do
    local row = {}
    for i, column in ipairs(columns) do
      local text = cell(object[column.field], column.absent)
      row[i] = terminal and column.terminal_width and text:sub(1, column.terminal_width) or text
    end
    rows[#rows + 1] = row
  end
  local separator = "\t"
  if terminal then
    separator = "  "
    for i = 1, #columns - 1 do
      local width = 0
      for _, row in ipairs(rows) do
        width = math.max(width, display_width(row[i]))
      end
      for _, row in ipairs(rows) do
        row[i] = row[i] .. (" "):rep(width - display_width(row[i]))
      end
    end
  end
  for _, row in ipairs(rows) do
    write_out(table.concat(row, separator), "\n")
  end
end

--- The body exactly as the server sent it, for jq.
local function print_body(res)
  write_out(res.body, res.body:find("\n$") and "" or "\n")
end

local function show(args, res, objects, columns)
  if args.json then
    return print_body(res)
  end
  print_rows(objects, columns)
end

--- The fields of `args` named in `names`: argparse stores every option under
--- the API's field name (see `target`), so a request is a selection.
local function pick(args, names)
  local fields = {}
  for _, name in ipairs(names) do
    fields[name] = args[name]
  end
  return fields
end

local function set_null(result, target)
  result[target] = modelgates.null
end

local function usd(text)
  local value = tonumber(text)
  if value then
    return value
  end
  return nil, ("malformed amount '%s': expected a number of USD"):format(text)
end

-- Whole Unix seconds as well, for `--expires-at $(date -d +30days +%s)`;
-- modelgates turns them into RFC 3339.
local function expiry(text)
  return text:find("^%d+$") and tonumber(text) or text
end

local function limit_options(command, default_note)
  command:mutex(
    command:option("--limit"):argname("USD"):convert(usd):description("Spending limit in USD" .. default_note),
    command:flag("--no-limit"):target("limit"):action(set_null):description("No spending limit")
  )
end

local LIMIT_RESETS = { "daily", "weekly", "monthly" }

--- One form for create and update: the flag alone means true (see
--- with_values_joined, which writes it as --include-byok-in-limit=true).
local function byok_option(command)
  command
    :option("--include-byok-in-limit")
    :argname("BOOL")
    :choices({ "true", "false" })
    :convert({ ["true"] = true, ["false"] = false })
    :description("Count BYOK usage against the limit (the flag alone: true)")
end

local commands = {
  {
    name = "current",
    summary = "Show the key in use: its label, limit and usage.",
    run = function(keys, args)
      local body, res = keys.get_current_key_metadata()
      show(args, res, { body.data }, current_columns)
    end,
  },
  {
    name = "list",
    summary = "List the keys of a workspace, the most recent first.",
    configure = function(command)
      command:flag("--include-disabled"):description("Include disabled keys")
      command
        :option("--workspace")
        :argname("ID")
        :target("workspace_id")
        :description("The workspace's keys (default: the default workspace)")
      command:flag("--all"):description("Walk every page, not only the first 100 keys")
    end,
    run = function(keys, args)
      local params = pick(args, { "include_disabled", "workspace_id" })
      if not args.all then
        local body, res = keys.list(params)
        return show(args, res, body.data, record_columns)
      end
      local records = {}
      for record in keys.each(params) do
        records[#records + 1] = record
      end
      if not args.json then
        return print_rows(records, record_columns)
      end
      -- No single body holds every page: the records go out as one array.
      local encoded = {}
      for i, record in ipairs(records) do
        encoded[i] = cjson.encode(record)
      end
      write_out("[", table.concat(encoded, ","), "]\n")
    end,
  },
  {
    name = "get",
    summary = "Show one key.",
    configure = function(command)
      command:argument("hash"):description("The key's hash")
    end,
    run = function(keys, args)
      local body, res = keys.get(args.hash)
      show(args, res, { body.data }, record_columns)
    end,
  },
  {
    name = "create",
    summary = "Create a key; its plaintext is printed once, alone on stdout.",
    configure = function(command)
      command:option("--name"):count(1):description("The key's name")
      limit_options(command, " (default: none)")
      command:option("--limit-reset"):choices(LIMIT_RESETS):description("When the limit resets (default: never)")
      byok_option(command)
      command
        :option("--expires-at")
        :argname("TIME")
        :convert(expiry)
        :description("Expiry, RFC 3339 in UTC (2027-12-31T23:59:59Z) or Unix seconds")
      command:option("--workspace"):argname("ID"):target("workspace_id"):description("The key's workspace")
    end,
    run = function(keys, args)
      local body, res = keys.create(
        pick(args, { "name", "limit", "limit_reset", "include_byok_in_limit", "expires_at", "workspace_id" })
      )
      if args.json then
        return print_body(res)
      end
      io.stderr:write(
        ('%s: created key "%s", hash %s; the key is shown only this once\n'):format(
          PROGRAM,
          cell(body.data.name),
          body.data.hash
        )
      )
      write_out(body.key, "\n")
    end,
  },
  {
    name = "update",
    summary = "Change a key's name, state, limit or limit reset.",
    configure = function(command)
      command:argument("hash"):description("The key's hash")
      command:option("--name"):description("A new name")
      command:mutex(
        command:flag("--disable"):target("disabled"):action("store_true"):description("Disable the key"),
        command:flag("--enable"):target("disabled"):action("store_false"):description("Enable the key")
      )
      limit_options(command, "")
      command:mutex(
        command:option("--limit-reset"):choices(LIMIT_RESETS):description("When the limit resets"),
        command:flag("--no-limit-reset"):target("limit_reset"):action(set_null):description("The limit never resets")
      )
      byok_option(command)
    end,
    run = function(keys, args)
      local changes = pick(args, { "name", "disabled", "limit", "limit_reset", "include_byok_in_limit" })
      if next(changes) == nil then
        fail(exit_status.usage, "update: nothing to change; see 'modelgates-keys update --help'")
      end
      local body, res = keys.update(args.hash, changes)
      show(args, res, { body.data }, record_columns)
    end,
  },
  {
    name = "delete",
    summary = "Delete a key; asks first on a terminal unless --yes.",
    configure = function(command)
      command:argument("hash"):description("The key's hash")
      command:flag("-y --yes"):description("Do not ask for confirmation")
    end,
    run = function(keys, args)
      -- A script has no one to answer: only a person at a terminal is asked.
      if not args.yes and is_terminal(0) then
        local record = keys.get(args.hash).data
        io.stderr:write(('Delete key "%s" (%s)? [y/N] '):format(cell(record.name), record.hash))
        local answer = (io.stdin:read("*l") or ""):lower():match("^%s*(.-)%s*$")
        if answer ~= "y" and answer ~= "yes" then
          fail(exit_status.failure, "not deleted")
        end
      end
      local _, res = keys.delete(args.hash)
      if args.json then
        return print_body(res)
      end
      io.stderr:write(("%s: deleted key %s\n"):format(PROGRAM, one_line(args.hash)))
    end,
  },
}

local COMMON_OPTIONS = "Also --json, --api-key-file PATH, --server-url URL, --allow-insecure-http, "
  .. "before or after the command (see modelgates-keys --help)."

local function build_parser()
  local parser = argparse(PROGRAM, "Manage ModelGates API keys."):command_target("command"):epilog(
    "The API key comes from MODELGATES_API_KEY or --api-key-file, never from an argument. "
      .. "The options above go before or after the command. See docs/cli.md."
  )
  -- The parent's: argparse takes them before the command or after it.
  parser:flag("--json"):description("Print the API's JSON body instead of a table")
  parser
    :option("--api-key-file")
    :argname("PATH")
    :description("Read the API key from PATH (default: MODELGATES_API_KEY)")
  parser:option("--server-url"):argname("URL"):description("The API's base URL (default: MODELGATES_BASE_URL)")
  parser:flag("--allow-insecure-http"):description("Allow http:// to a host that is not loopback")
  local name_of = { [parser] = PROGRAM }
  for _, spec in ipairs(commands) do
    local command = parser:command(spec.name, spec.summary):epilog(COMMON_OPTIONS)
    name_of[command] = PROGRAM .. " " .. spec.name
    if spec.configure then
      spec.configure(command)
    end
  end
  -- argparse would print the whole usage and exit 1; the status must say "usage".
  parser.error = function(failed, message)
    fail(exit_status.usage, ("%s; see '%s --help'"):format(message, name_of[failed]))
  end
  return parser
end

local commands_by_name = {}
for _, spec in ipairs(commands) do
  commands_by_name[spec.name] = spec
end

--- Not from an argument: arguments show up in `ps` and in shell history.
local function read_api_key(path)
  local key = os.getenv("MODELGATES_API_KEY")
  if path then
    local file, open_error = io.open(path, "rb")
    if not file then
      fail(exit_status.usage, "--api-key-file: " .. open_error)
    end
    key = file:read("*a"):match("^%s*(.-)%s*$")
    file:close()
  end
  if key == nil or key == "" then
    fail(exit_status.usage, "no API key: set MODELGATES_API_KEY or give --api-key-file PATH")
  end
  return key
end

local function status_of(err)
  if errors.is_error(err) then
    for _, rule in ipairs(status_by_error) do
      if err:is(rule[1]) then
        return rule[2]
      end
    end
  elseif type(err) == "table" and err.exit_status then
    return err.exit_status
  end
  return exit_status.failure
end

--- The flag or argument each field of the module's ValidationErrors comes
--- from, and what the module's words are in the tool's.
local FLAG_OF_FIELD = {
  ["body.name"] = "--name",
  ["body.limit"] = "--limit",
  ["body.limit_reset"] = "--limit-reset",
  ["body.include_byok_in_limit"] = "--include-byok-in-limit",
  ["body.expires_at"] = "--expires-at",
  ["body.workspace_id"] = "--workspace",
  ["body.disabled"] = "--disable/--enable",
  ["params.workspace_id"] = "--workspace",
  ["params.include_disabled"] = "--include-disabled",
  server_url = "--server-url",
  ["options.server_url"] = "--server-url",
  api_key = "the API key",
  hash = "HASH",
}
-- The flag that sends modelgates.null for a field's flag, where there is one.
local NULL_FLAG_OF = { ["--limit"] = "--no-limit", ["--limit-reset"] = "--no-limit-reset" }

--- A ValidationError's message as the tool's: "--limit: expected a number
--- >= 0 (or --no-limit), got number" rather than the module's field names.
local function in_cli_words(err)
  local flag = FLAG_OF_FIELD[err.field]
  if not flag then
    return tostring(err)
  end
  local field_pattern = err.field:gsub("%p", "%%%0")
  local null_flag = NULL_FLAG_OF[flag]
  local message = err.message
    :gsub("^[^:]+: " .. field_pattern .. ": ", flag .. ": ")
    :gsub(" or modelgates%.null", null_flag and (" (or " .. null_flag .. ")") or "")
    :gsub("allow_insecure_http = true", "--allow-insecure-http")
  return err.name .. ": " .. message
end

--- The error line. A server or a proxy may echo the key it was given: it is
--- blanked out whatever the source.
local function error_line(err, api_key)
  local text
  if type(err) == "table" and err.exit_status then
    text = err.message
  elseif errors.is_error(err) and err:is(errors.ValidationError) then
    text = in_cli_words(err)
  else
    text = tostring(err)
  end
  return ("%s: %s\n"):format(PROGRAM, without_key(one_line(text), api_key))
end

--- The values argparse would misread, joined to their option: a negative
--- number, which it takes for an option ("--limit -1" becomes "--limit=-1",
--- so that the module refuses the value itself, with what it expected), and
--- the optional true/false of --include-byok-in-limit, which alone means
--- true (so that it never takes the next argument, a hash, for its value).
local NUMBER_OPTIONS = { ["--limit"] = true }
local BOOLEAN_OPTIONS = { ["--include-byok-in-limit"] = true }

local function with_values_joined(argv)
  local joined, i = {}, 1
  while argv[i] ~= nil do
    local word, following = argv[i], argv[i + 1]
    if NUMBER_OPTIONS[word] and tostring(following):find("^%-[%d.]") then
      joined[#joined + 1] = word .. "=" .. following
      i = i + 2
    elseif BOOLEAN_OPTIONS[word] then
      local value = (following == "true" or following == "false") and following or nil
      joined[#joined + 1] = word .. "=" .. (value or "true")
      i = i + (value and 2 or 1)
    else
      joined[#joined + 1] = word
      i = i + 1
    end
  end
  return joined
end

--- Runs the command line `argv` (a list of strings) and returns the exit status.
---@param argv string[]
---@return integer
function cli.main(argv)
  local api_key
  local ok, err = pcall(function()
    local args = build_parser():parse(with_values_joined(argv))
    api_key = read_api_key(args.api_key_file)
    current_api_key = api_key
    local client = modelgates.new({
      api_key = api_key,
      server_url = args.server_url,
      allow_insecure_http = args.allow_insecure_http or nil,
    })
    commands_by_name[args.command].run(client.keys, args)
  end)
  if ok then
    return exit_status.ok
  end
  io.stderr:write(error_line(err, api_key))
  return status_of(err)
end

return cli
