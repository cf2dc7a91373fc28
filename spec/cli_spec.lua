-- bin/modelgates-keys run as a real subprocess against the local server:
-- stdout, stderr and the exit status of every command and every error class,
-- through a pipe and on a pseudo-terminal (util-linux script).
local cjson = require("cjson")
local support = require("spec.support")
local shell_quote = support.shell_quote
local write_file = support.write_file
local read_file = support.read_file

-- The interpreter the suite runs on, the module from LUA_PATH/LUA_CPATH as
-- the Makefile exports them.
local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/cli_spec%.lua$") or ""
local COMMAND = support.lua_command .. " " .. shell_quote(ROOT .. "bin/modelgates-keys")

local CLOSED_PORT_URL = "http://127.0.0.1:1/api/v1"
local MISSING_HASH = ("ab"):rep(32)

local function lines(text)
  local result = {}
  for line in text:gmatch("([^\n]*)\n") do
    result[#result + 1] = line
  end
  return result
end

local function tab_fields(line)
  local result = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    result[#result + 1] = field
  end
  return result
end

--- The first `count` fields of the first line of `text`.
local function leading_fields(text, count)
  local fields = tab_fields(lines(text)[1])
  for i = #fields, count + 1, -1 do
    fields[i] = nil
  end
  return fields
end

local function error_body(status, message)
  return ('{"error":{"code":%d,"message":"%s","metadata":null},"user_id":null}'):format(status, message)
end

describe("modelgates-keys", function()
  local handle = support.server()
  local server, keys, dir

  setup(function()
    local mktemp = assert(io.popen("mktemp -d"))
    dir = mktemp:read("*l")
    mktemp:close()
  end)

  teardown(function()
    os.execute("rm -rf " .. shell_quote(dir))
  end)

  before_each(function()
    server = handle.server
    keys = server:client().keys
  end)

  --- Runs the command with `argv`; returns { stdout, stderr, status }.
  --- options: key (default the management key; false for none), key_file
  --- (pass the key by --api-key-file rather than MODELGATES_API_KEY), url
  --- (MODELGATES_BASE_URL, default the server's), stdin (text to read),
  --- tty (stdin and stdout on a pseudo-terminal; stderr still apart).
  local function run(argv, options)
    options = options or {}
    local key = options.key == nil and server.management_key or options.key
    local words = { COMMAND }
    for _, word in ipairs(argv) do
      words[#words + 1] = shell_quote(word)
    end
    -- The key goes through a file sourced by the shell, never the command line.
    local env = {
      "unset MODELGATES_API_KEY MODELGATES_BASE_URL",
      "export MODELGATES_BASE_URL=" .. shell_quote(options.url or server.url),
    }
    if key and options.key_file then
      write_file(dir .. "/key", key .. "\n")
      words[#words + 1] = "--api-key-file " .. shell_quote(dir .. "/key")
    elseif key then
      env[#env + 1] = "export MODELGATES_API_KEY=" .. shell_quote(key)
    end
    write_file(dir .. "/env", table.concat(env, "\n") .. "\n")
    write_file(dir .. "/stdin", options.stdin or "")
    local out, err, status = dir .. "/stdout", dir .. "/stderr", dir .. "/status"
    local inner = ". "
      .. shell_quote(dir .. "/env")
      .. " && exec "
      .. table.concat(words, " ")
      .. " 2>"
      .. shell_quote(err)
    if options.tty then
      os.execute(
        ("script -qec %s /dev/null <%s >%s; echo $? >%s"):format(
          shell_quote(inner),
          shell_quote(dir .. "/stdin"),
          shell_quote(out),
          shell_quote(status)
        )
      )
    else
      -- Pipes on both sides, as in `... | modelgates-keys ... | jq`.
      os.execute(
        ("cat %s | { (%s); echo $? >%s; } | cat >%s"):format(
          shell_quote(dir .. "/stdin"),
          inner,
          shell_quote(status),
          shell_quote(out)
        )
      )
    end
    local guard = package.loaded["spec.secret_guard"]
    if guard then
      guard.record(read_file(out))
      guard.record(read_file(err))
    end
    local result = {
      stdout = read_file(out):gsub("\r\n", "\n"),
      stderr = read_file(err),
      status = tonumber(read_file(status)),
    }
    for _, secret in ipairs({ server.management_key, server.key }) do
      assert.is_nil(result.stdout:find(secret, 1, true), "an API key on stdout")
      assert.is_nil(result.stderr:find(secret, 1, true), "an API key on stderr")
    end
    return result
  end

  local function assert_success(result)
    assert.are.equal(0, result.status, result.stderr)
  end

  --- A failure is one line on stderr, nothing on stdout, and its status. How many attempts the
  --- module made, and in how long, is the retry policy's (spec/units_spec.lua), not the CLI's.
  local function assert_failure(result, status, message)
    assert.are.equal("", result.stdout)
    assert.are.equal(1, #lines(result.stderr), "one line on stderr: " .. result.stderr)
    local line = result.stderr:gsub("; %d+ attempts in [%d.]+ s%)", ")")
    assert.are.equal("modelgates-keys: " .. message .. "\n", line)
    assert.are.equal(status, result.status)
  end

  local function create_key(fields)
    local record = keys.create(fields or { name = "a key" }).data
    server:clear_requests()
    return record
  end

  --- The column of the header `title` (1-based), from a table's first line.
  local function column_of(table_lines, title)
    return assert(table_lines[1]:find(title, 1, true), "no column " .. title)
  end

  describe("current", function()
    it("prints a tab-separated line into a pipe, with the key from MODELGATES_API_KEY", function()
      local result = run({ "current" })
      assert_success(result)
      local label = keys.get_current_key_metadata().data.label
      assert.are.same({ label .. "\tyes\tnone\t-\tnever\t0\tnever" }, lines(result.stdout))
      assert.are.equal("", result.stderr)
      assert.are.equal("Bearer " .. server.management_key, server:requests()[1].headers.authorization)
    end)

    it("says when the key is not a management key", function()
      local result = run({ "current" }, { key = server.key })
      assert_success(result)
      assert.are.equal("no", tab_fields(result.stdout:sub(1, -2))[2])
    end)

    it("prints an aligned table with a header on a terminal", function()
      local result = run({ "current" }, { tty = true })
      assert_success(result)
      local table_lines = lines(result.stdout)
      assert.are.equal(2, #table_lines)
      assert.matches("^LABEL +MANAGEMENT +LIMIT +REMAINING +RESET +USAGE +EXPIRES$", table_lines[1])
      assert.are.equal(column_of(table_lines, "MANAGEMENT"), table_lines[2]:find("yes", 1, true))
      assert.are.equal(column_of(table_lines, "EXPIRES"), table_lines[2]:find("never$"))
    end)

    it("never prints the API key that a server echoes back, in rows or with --json", function()
      for _, argv in ipairs({
        { "current" },
        { "current", "--json" },
        { "get", ("ab"):rep(32) },
        { "get", ("ab"):rep(32), "--json" },
      }) do
        local record = {
          hash = ("ab"):rep(32),
          name = server.management_key,
          label = "Bearer " .. server.management_key,
          is_management_key = true,
        }
        server:fault({ method = "GET", status = 200, body = cjson.encode({ data = record }) })
        local result = run(argv)
        assert_success(result)
        assert.is_nil(result.stdout:find(server.management_key, 1, true), table.concat(argv, " "))
        assert.matches("[API key]", result.stdout, 1, true)
      end
    end)

    it("prints the body as the API returned it with --json, nulls included", function()
      local result = run({ "current", "--json" })
      assert_success(result)
      assert.matches("\n$", result.stdout)
      local body = cjson.decode(result.stdout)
      assert.is_true(body.data.is_management_key)
      assert.are.equal(cjson.null, body.data.limit)
    end)
  end)

  describe("list", function()
    it("prints one line per key with its full hash into a pipe", function()
      local record = create_key({ name = "ci", limit = 50, expires_at = "2027-12-31T23:59:59Z" })
      create_key({ name = "other" })
      local result = run({ "list" })
      assert_success(result)
      local rows = lines(result.stdout)
      assert.are.equal(2, #rows)
      assert.are.same({ record.hash, "ci", "no", "50", "50", "0", "2027-12-31T23:59:59Z" }, tab_fields(rows[2]))
      local request = support.only_request(server)
      assert.are.equal("/api/v1/keys", request.path)
      assert.are.equal("", request.query)
    end)

    it("sends --include-disabled and --workspace", function()
      local record = create_key({ name = "off", workspace_id = "ws-1" })
      keys.update(record.hash, { disabled = true })
      server:clear_requests()
      local result = run({ "list", "--include-disabled", "--workspace", "ws-1" })
      assert_success(result)
      assert.are.same({ record.hash, "off", "yes" }, leading_fields(result.stdout, 3))
      assert.are.equal("include_disabled=true&workspace_id=ws-1", support.only_request(server).query)
    end)

    it("prints an aligned table with short hashes on a terminal", function()
      local record = create_key({ name = "a longer name", limit = 7.5 })
      local result = run({ "list" }, { tty = true })
      assert_success(result)
      local table_lines = lines(result.stdout)
      assert.are.equal(2, #table_lines)
      assert.matches("^HASH +NAME +DISABLED +LIMIT +REMAINING +USAGE +EXPIRES$", table_lines[1])
      assert.matches("^" .. record.hash:sub(1, 12) .. " +a longer name +no +7%.5 +7%.5 +0 +never$", table_lines[2])
      for _, column in ipairs({ { "NAME", "a longer name" }, { "LIMIT", "7.5" }, { "EXPIRES", "never" } }) do
        assert.are.equal(column_of(table_lines, column[1]), table_lines[2]:find(column[2], 1, true))
      end
    end)

    it("aligns names by characters, not bytes", function()
      create_key({ name = "naïve café" })
      create_key({ name = "plain" })
      local table_lines = lines(run({ "list" }, { tty = true }).stdout)
      assert.are.equal(3, #table_lines)
      for _, line in ipairs(table_lines) do
        local at = line:find("DISABLED", 1, true) or line:find(" no ", 1, true) + 1
        local _, continuation_bytes = line:sub(1, at):gsub("[\128-\191]", "")
        assert.are.equal(column_of(table_lines, "DISABLED"), at - continuation_bytes, line)
      end
    end)

    it("turns control characters in names into spaces, in a pipe and on a terminal", function()
      create_key({ name = "tab\tnew\nline\27[31m" })
      assert.are.equal("tab new line [31m", tab_fields(lines(run({ "list" }).stdout)[1])[2])
      assert.matches(" tab new line %[31m +no ", lines(run({ "list" }, { tty = true }).stdout)[2])
    end)

    it("prints the body as the API returned it with --json", function()
      local record = create_key()
      local result = run({ "list", "--json" })
      assert_success(result)
      local body = cjson.decode(result.stdout)
      assert.are.equal(record.hash, body.data[1].hash)
      assert.are.equal(cjson.null, body.data[1].limit)
    end)

    describe("--all", function()
      local function assert_pages_walked()
        local offsets = {}
        for i, request in ipairs(server:requests()) do
          offsets[i] = request.query
        end
        assert.are.same({ "offset=0", "offset=100", "offset=200", "offset=205" }, offsets)
      end

      it("walks every page", function()
        server:seed({ count = 205 })
        local result = run({ "list", "--all" })
        assert_success(result)
        local hashes = {}
        for _, row in ipairs(lines(result.stdout)) do
          hashes[tab_fields(row)[1]] = true
        end
        local count = 0
        for _ in pairs(hashes) do
          count = count + 1
        end
        assert.are.equal(205, count)
        assert_pages_walked()
      end)

      it("prints one JSON array of every record with --json", function()
        server:seed({ count = 205 })
        local result = run({ "list", "--all", "--json" })
        assert_success(result)
        local records = cjson.decode(result.stdout)
        assert.are.equal(205, #records)
        assert.are.equal("seed-key-205", records[1].name)
        assert.are.equal("seed-key-1", records[205].name)
        assert_pages_walked()
      end)

      it("prints an empty JSON array when there are no keys", function()
        local result = run({ "list", "--all", "--json" })
        assert_success(result)
        assert.are.equal("[]\n", result.stdout)
      end)
    end)
  end)

  describe("get", function()
    it("prints the key's line into a pipe", function()
      local record = create_key({ name = "ci", limit = 3 })
      local result = run({ "get", record.hash })
      assert_success(result)
      assert.are.same({ record.hash, "ci", "no", "3", "3", "0", "never" }, tab_fields(lines(result.stdout)[1]))
      assert.are.equal("/api/v1/keys/" .. record.hash, support.only_request(server).path)
    end)

    it("prints a table on a terminal", function()
      local record = create_key({ name = "ci" })
      local result = run({ "get", record.hash }, { tty = true })
      assert_success(result)
      local table_lines = lines(result.stdout)
      assert.matches("^HASH +NAME", table_lines[1])
      assert.matches("^" .. record.hash:sub(1, 12) .. " +ci +no ", table_lines[2])
    end)

    it("prints the body with --json", function()
      local record = create_key()
      local result = run({ "get", record.hash, "--json" })
      assert_success(result)
      assert.are.equal(record.hash, cjson.decode(result.stdout).data.hash)
    end)
  end)

  describe("create", function()
    it("prints the plaintext key alone on stdout and the rest on stderr", function()
      local result = run({
        "create",
        "--name",
        "ci",
        "--limit",
        "50",
        "--limit-reset",
        "monthly",
        "--include-byok-in-limit",
        "--expires-at",
        "2027-12-31T23:59:59Z",
        "--workspace",
        "ws-1",
      })
      assert_success(result)
      assert.are.same({
        name = "ci",
        limit = 50,
        limit_reset = "monthly",
        include_byok_in_limit = true,
        expires_at = "2027-12-31T23:59:59Z",
        workspace_id = "ws-1",
      }, support.raw_json(support.only_request(server).body))
      local hash = server:keys()[1].hash
      assert.are.equal(
        'modelgates-keys: created key "ci", hash ' .. hash .. "; the key is shown only this once\n",
        result.stderr
      )
      local key = result.stdout:match("^([^\n]+)\n$")
      assert.is_not_nil(key, "one line on stdout")
      -- The line is the key itself: a key's hash is its SHA-256.
      write_file(dir .. "/created", key)
      local sha256sum = assert(io.popen("sha256sum " .. shell_quote(dir .. "/created")))
      assert.are.equal(hash, sha256sum:read("*l"):match("^%x+"))
      sha256sum:close()
    end)

    it("takes --include-byok-in-limit with true or false as update does, or alone for true", function()
      for _, case in ipairs({
        { { "--include-byok-in-limit", "false" }, false },
        { { "--include-byok-in-limit", "true" }, true },
        { { "--include-byok-in-limit" }, true },
      }) do
        server:clear_requests()
        local argv = { "create", "--name", "ci" }
        for _, word in ipairs(case[1]) do
          argv[#argv + 1] = word
        end
        assert_success(run(argv))
        assert.are.equal(case[2], support.raw_json(support.only_request(server).body).include_byok_in_limit)
      end
    end)

    it("sends a null limit for --no-limit and turns Unix seconds into RFC 3339", function()
      assert_success(run({ "create", "--name", "ci", "--no-limit", "--expires-at", "1800000000" }))
      local body = support.raw_json(support.only_request(server).body)
      assert.are.equal(support.json_null, body.limit)
      assert.are.equal("2027-01-15T08:00:00Z", body.expires_at)
    end)

    it("prints the body, key included, with --json and nothing on stderr", function()
      local result = run({ "create", "--name", "ci", "--json" })
      assert_success(result)
      local body = cjson.decode(result.stdout)
      assert.are.equal(server:keys()[1].hash, body.data.hash)
      assert.are.equal("string", type(body.key))
      assert.are.equal("", result.stderr)
    end)
  end)

  describe("update", function()
    it("sends every change and prints the updated key", function()
      local record = create_key()
      local result = run({
        "update",
        record.hash,
        "--name",
        "renamed",
        "--disable",
        "--limit",
        "10",
        "--limit-reset",
        "weekly",
        "--include-byok-in-limit",
        "true",
      })
      assert_success(result)
      assert.are.same({
        name = "renamed",
        disabled = true,
        limit = 10,
        limit_reset = "weekly",
        include_byok_in_limit = true,
      }, support.raw_json(support.only_request(server).body))
      assert.are.same({ record.hash, "renamed", "yes", "10", "10" }, leading_fields(result.stdout, 5))
    end)

    it("sends false and nulls for --enable, --no-limit, --no-limit-reset and BOOL false", function()
      local record = create_key({ name = "k", limit = 5, limit_reset = "daily" })
      local result = run({
        "update",
        record.hash,
        "--enable",
        "--no-limit",
        "--no-limit-reset",
        "--include-byok-in-limit",
        "false",
      })
      assert_success(result)
      assert.are.same({
        disabled = false,
        limit = support.json_null,
        limit_reset = support.json_null,
        include_byok_in_limit = false,
      }, support.raw_json(support.only_request(server).body))
      assert.are.equal("none", tab_fields(lines(result.stdout)[1])[4])
    end)

    it("takes --include-byok-in-limit alone for true, as create does, before the hash too", function()
      local record = create_key()
      assert_success(run({ "update", record.hash, "--include-byok-in-limit" }))
      assert.are.same({ include_byok_in_limit = true }, support.raw_json(support.only_request(server).body))
      server:clear_requests()
      assert_success(run({ "update", "--include-byok-in-limit", record.hash }))
      assert.are.same({ include_byok_in_limit = true }, support.raw_json(support.only_request(server).body))
    end)

    it("prints the body with --json", function()
      local record = create_key()
      local result = run({ "update", record.hash, "--name", "n", "--json" })
      assert_success(result)
      assert.are.equal("n", cjson.decode(result.stdout).data.name)
    end)
  end)

  describe("delete", function()
    local function assert_deleted(result, hash)
      assert_success(result)
      assert.are.equal("", result.stdout)
      assert.are.equal("modelgates-keys: deleted key " .. hash .. "\n", result.stderr)
      assert.are.same({}, server:keys())
    end

    it("never asks in a pipe, whatever stdin holds", function()
      local record = create_key()
      assert_deleted(run({ "delete", record.hash }, { stdin = "n\n" }), record.hash)
      assert.are.equal("DELETE", support.only_request(server).method)
    end)

    for _, answer in ipairs({ "y", "Yes" }) do
      it(("asks on a terminal and deletes on %q"):format(answer), function()
        local record = create_key({ name = "leaked" })
        local result = run({ "delete", record.hash }, { tty = true, stdin = answer .. "\n" })
        assert_success(result)
        assert.are.equal(
          'Delete key "leaked" (' .. record.hash .. ")? [y/N] modelgates-keys: deleted key " .. record.hash .. "\n",
          result.stderr
        )
        assert.are.same({}, server:keys())
      end)
    end

    for _, answer in ipairs({ "n", "", "sure" }) do
      it(("asks on a terminal and keeps the key on %q, with status 1"):format(answer), function()
        local record = create_key({ name = "precious" })
        local result = run({ "delete", record.hash }, { tty = true, stdin = answer .. "\n" })
        assert.are.equal(1, result.status)
        assert.are.equal(
          'Delete key "precious" (' .. record.hash .. ")? [y/N] modelgates-keys: not deleted\n",
          result.stderr
        )
        assert.are.equal(1, #server:keys())
        assert.are.equal("GET", support.only_request(server).method)
      end)
    end

    it("does not ask on a terminal with --yes", function()
      local record = create_key()
      assert_deleted(run({ "delete", record.hash, "--yes" }, { tty = true }), record.hash)
    end)

    it("prints the body with --json", function()
      local record = create_key()
      local result = run({ "delete", record.hash, "--json" })
      assert_success(result)
      assert.are.equal('{"deleted":true}\n', result.stdout)
    end)
  end)

  describe("the API key and the server", function()
    it("reads the key from --api-key-file, trimmed", function()
      assert_success(run({ "current" }, { key_file = true }))
      assert.are.equal("Bearer " .. server.management_key, server:requests()[1].headers.authorization)
    end)

    it("takes --server-url over MODELGATES_BASE_URL", function()
      assert_success(run({ "current", "--server-url", server.url }, { url = CLOSED_PORT_URL }))
    end)

    it("takes the common options before the command as well as after it", function()
      local result = run({ "--json", "--server-url", server.url, "current" }, { url = CLOSED_PORT_URL })
      assert_success(result)
      assert.is_true(cjson.decode(result.stdout).data.is_management_key)
      assert.are.equal(1, #server:requests())
    end)

    it("sends http:// to a host it does not know for loopback only with --allow-insecure-http", function()
      -- An IPv4-mapped address: loopback in fact, not by the module's list of loopback hosts.
      local url = server.url:gsub("127%.0%.0%.1", "[::ffff:127.0.0.1]")
      local refused = run({ "current", "--server-url", url })
      assert.are.equal(3, refused.status)
      assert.matches("unless %-%-allow%-insecure%-http%)", refused.stderr)
      assert.are.same({}, server:requests())
      assert_success(run({ "--allow-insecure-http", "current", "--server-url", url }))
      assert.are.equal(1, #server:requests())
    end)

    it("blanks out the key when a server echoes it", function()
      server:fault({ status = 401, body = error_body(401, "Invalid API key " .. server.management_key) })
      assert_failure(run({ "current" }), 4, "UnauthorizedResponseError: Invalid API key [REDACTED] (HTTP 401)")
    end)
  end)

  describe("errors", function()
    -- Arguments refused before anything is sent.
    local refused = {
      { "no command", {}, 2, "a command is required; see 'modelgates-keys --help'" },
      { "an unknown command", { "rotate" }, 2, "unknown command 'rotate'; see 'modelgates-keys --help'" },
      {
        "an unknown option",
        { "list", "--deleted" },
        2,
        "unknown option '--deleted'; see 'modelgates-keys list --help'",
      },
      { "a missing argument", { "get" }, 2, "missing argument 'hash'; see 'modelgates-keys get --help'" },
      { "a missing --name", { "create" }, 2, "missing option '--name'; see 'modelgates-keys create --help'" },
      {
        "a malformed amount",
        { "create", "--name", "x", "--limit", "ten" },
        2,
        "malformed amount 'ten': expected a number of USD; see 'modelgates-keys create --help'",
      },
      {
        "an unknown limit reset",
        { "create", "--name", "x", "--limit-reset", "yearly" },
        2,
        "argument for option '--limit-reset' must be one of 'daily', 'weekly', 'monthly';"
          .. " see 'modelgates-keys create --help'",
      },
      {
        "--enable with --disable",
        { "update", MISSING_HASH, "--enable", "--disable" },
        2,
        "option '--disable' can not be used together with option '--enable'; see 'modelgates-keys update --help'",
      },
      {
        "an update without a change",
        { "update", MISSING_HASH },
        2,
        "update: nothing to change; see 'modelgates-keys update --help'",
      },
      {
        "a negative limit",
        { "create", "--name", "x", "--limit=-1" },
        3,
        "ValidationError: --limit: expected a number >= 0 (or --no-limit), got number",
      },
      {
        "a negative limit, its value apart",
        { "update", MISSING_HASH, "--limit", "-1" },
        3,
        "ValidationError: --limit: expected a number >= 0 (or --no-limit), got number",
      },
      {
        "a time that is not UTC",
        { "create", "--name", "x", "--expires-at", "2027-12-31T23:59:59+02:00" },
        3,
        "ValidationError: --expires-at: expected an RFC 3339 UTC date-time such as"
          .. " 2027-12-31T23:59:59Z, or whole Unix seconds, got string",
      },
      {
        "a server URL that is not http",
        { "list", "--server-url", "ftp://127.0.0.1/" },
        3,
        "ValidationError: --server-url: expected an http:// or https:// URL, got string",
      },
      {
        "http:// to a host that is not loopback",
        { "list", "--server-url", "http://[::ffff:127.0.0.1]:1/api/v1" },
        3,
        "ValidationError: --server-url: expected https:// (http:// only to a loopback host, unless "
          .. "--allow-insecure-http), got string",
      },
    }
    for _, case in ipairs(refused) do
      it(("exits %d on %s and sends nothing"):format(case[3], case[1]), function()
        assert_failure(run(case[2]), case[3], case[4])
        assert.are.same({}, server:requests())
      end)
    end

    it("exits 2 without an API key", function()
      assert_failure(
        run({ "current" }, { key = false }),
        2,
        "no API key: set MODELGATES_API_KEY or give --api-key-file PATH"
      )
    end)

    it("exits 2 on an unreadable --api-key-file", function()
      local path = dir .. "/no-such-file"
      assert_failure(
        run({ "current", "--api-key-file", path }),
        2,
        "--api-key-file: " .. path .. ": No such file or directory"
      )
    end)

    it("exits 4 on an unknown key", function()
      assert_failure(
        run({ "current" }, { key = "mg-not-a-key" }),
        4,
        "UnauthorizedResponseError: Invalid API key (HTTP 401)"
      )
    end)

    it("exits 4 when a normal key manages keys", function()
      assert_failure(
        run({ "list" }, { key = server.key }),
        4,
        "ForbiddenResponseError: Only management keys can manage API keys (HTTP 403)"
      )
    end)

    for _, argv in ipairs({
      { "get", MISSING_HASH },
      { "update", MISSING_HASH, "--disable" },
      { "delete", MISSING_HASH, "--yes" },
    }) do
      it(("exits 5 when %s finds no key"):format(argv[1]), function()
        assert_failure(run(argv), 5, "NotFoundResponseError: API key not found (HTTP 404)")
      end)
    end

    -- Every command meets every answer of the server it cannot use. The
    -- module tries 429s and 5XXs again, after the wait the server asks for:
    -- Retry-After: 0 keeps that quick.
    local commands = {
      { argv = { "current" }, success = 200 },
      { argv = { "list" }, success = 200 },
      { argv = { "get", MISSING_HASH }, success = 200 },
      { argv = { "create", "--name", "x" }, success = 201 },
      { argv = { "update", MISSING_HASH, "--name", "y" }, success = 200 },
      { argv = { "delete", MISSING_HASH, "--yes" }, success = 200 },
    }
    -- No status: the command's success status, with a body that is no answer.
    local answers = {
      {
        status = 400,
        body = error_body(400, "bad input"),
        exit = 3,
        line = "BadRequestResponseError: bad input (HTTP 400)",
      },
      {
        status = 429,
        body = error_body(429, "slow down"),
        exit = 6,
        line = "TooManyRequestsResponseError: slow down (HTTP 429)",
      },
      {
        status = 500,
        body = error_body(500, "it broke"),
        exit = 7,
        line = "InternalServerResponseError: it broke (HTTP 500)",
      },
      {
        status = 502,
        body = "<html>\n<title>Bad Gateway</title>\n</html>",
        exit = 7,
        line = "APIError: Bad Gateway (HTTP 502)",
      },
      {
        body = "[1, 2]",
        exit = 7,
        line = "ResponseValidationError: expected a JSON object in the response body (HTTP %d)",
      },
    }
    for _, command in ipairs(commands) do
      for _, answer in ipairs(answers) do
        local status = answer.status or command.success
        it(("exits %d when %s gets HTTP %d %s"):format(answer.exit, command.argv[1], status, answer.body), function()
          server:fault({ status = status, body = answer.body, headers = { ["Retry-After"] = "0" }, count = 100 })
          assert_failure(run(command.argv), answer.exit, answer.line:format(status))
        end)
      end
    end

    it("exits 8 when it cannot connect", function()
      local result = run({ "current" }, { url = CLOSED_PORT_URL })
      assert_failure(result, 8, result.stderr:match("^modelgates%-keys: (ConnectionError: [^\n]+)\n$"))
    end)
  end)
end)
