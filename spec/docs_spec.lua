-- The README's and docs/cli.md's fenced blocks run as printed. Each lua, sh and nginx block is
-- marked on the line before it with how it is proven:
--   <!-- doc-test: run -->               run here against the local server, placeholders filled
--   <!-- doc-test: host SPEC_FILE -->    run as printed by that host spec (Neovim, nginx)
--   <!-- doc-test: fragment: REASON -->  not run, for the reason given
-- so that a block that drifts from the code fails a test, and none goes unproven by accident.
local support = require("spec.support")
local read_file = support.read_file
local write_file = support.write_file
local shell_quote = support.shell_quote

local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/docs_spec%.lua$") or ""
-- The blocks run elsewhere: the checkout's path must not depend on the directory.
if ROOT:sub(1, 1) ~= "/" then
  ROOT = assert(os.getenv("PWD"), "PWD") .. "/" .. ROOT
end
local DOCUMENTS = { "README.md", "docs/cli.md" }
local CHECKED_LANGUAGES = { lua = true, sh = true, nginx = true }

--- The fenced blocks of a document: { document, line, language, code, marker }.
local function blocks_of(document)
  local lines = {}
  for line in (read_file(ROOT .. document) .. "\n"):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  local blocks, i = {}, 1
  while i <= #lines do
    local language = lines[i]:match("^```(%w+)$")
    if language then
      local block = { document = document, line = i, language = language, marker = lines[i - 1] }
      local code = {}
      i = i + 1
      while lines[i] ~= "```" do
        assert(lines[i], document .. ":" .. block.line .. ": a block that never closes")
        code[#code + 1] = lines[i]
        i = i + 1
      end
      block.code = table.concat(code, "\n") .. "\n"
      blocks[#blocks + 1] = block
    end
    i = i + 1
  end
  return blocks
end

local run_command = support.run_command

describe("the parts of types.lua and the README that make docs writes from modelgates.api", function()
  it("are current", function()
    local output, status =
      run_command(("cd %s && %s docs/generate.lua --check"):format(shell_quote(ROOT), support.lua_command))
    assert.are.equal(0, status, output)
  end)
end)

describe("the documents' fenced blocks", function()
  local handle = support.server()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. shell_quote(dir .. "/bin")))
    -- modelgates-keys on PATH, on the suite's interpreter, as the rock installs it.
    write_file(
      dir .. "/bin/modelgates-keys",
      ('#!/bin/sh\nexec %s %s "$@"\n'):format(support.lua_command, shell_quote(ROOT .. "bin/modelgates-keys"))
    )
    os.execute("chmod +x " .. shell_quote(dir .. "/bin/modelgates-keys"))
  end)

  teardown(function()
    if dir then
      os.execute("rm -rf " .. shell_quote(dir))
    end
  end)

  --- The environment a reader has: a key, and the server it belongs to.
  local function environment()
    local server = handle.server
    return ("MODELGATES_API_KEY=%s MODELGATES_BASE_URL=%s MY_KEY=%s PATH=%s"):format(
      shell_quote(server.management_key),
      shell_quote(server.url),
      shell_quote(server.management_key),
      shell_quote(dir .. "/bin:" .. os.getenv("PATH"))
    )
  end

  local runners = {
    lua = function(block)
      write_file(dir .. "/block.lua", block.code)
      return run_command(
        ("cd %s && %s %s %s"):format(
          shell_quote(ROOT),
          environment(),
          support.lua_command,
          shell_quote(dir .. "/block.lua")
        )
      )
    end,
    sh = function(block)
      -- The placeholder of the key a reader exports is the server's key.
      local code = block.code:gsub("(export MODELGATES_API_KEY=)%.%.%.", function(assignment)
        return assignment .. handle.server.management_key
      end)
      write_file(dir .. "/block.sh", "set -eu -o pipefail\n" .. code)
      return run_command(
        ("cd %s && %s bash %s"):format(shell_quote(dir), environment(), shell_quote(dir .. "/block.sh"))
      )
    end,
  }

  for _, document in ipairs(DOCUMENTS) do
    for _, block in ipairs(blocks_of(document)) do
      if CHECKED_LANGUAGES[block.language] then
        local where = ("%s:%d (%s)"):format(block.document, block.line, block.language)
        local how = (block.marker or ""):match("^<!%-%- doc%-test: (.-) %-%->$")

        it(where .. " says how it is proven", function()
          assert.is_string(how, where .. ": no <!-- doc-test: ... --> line before it")
          local host = how:match("^host (%S+)$")
          local reason = how:match("^fragment: (.+)$")
          assert.is_true(how == "run" or host ~= nil or reason ~= nil, where .. ": unknown doc-test: " .. how)
          if host then
            -- The host spec, or what it runs, reads this very block from the document.
            local text = read_file(ROOT .. host)
            assert.is_truthy(
              text:find(block.document, 1, true) or text:find("doc%-test: host " .. host, 1, true),
              host .. " does not read " .. block.document
            )
          end
          if how == "run" then
            assert.is_function(runners[block.language], "no runner for " .. block.language)
          end
        end)

        if how == "run" then
          it(where .. " runs as printed", function()
            handle.server:seed({ count = 3, workspace_id = "ws-1" })
            local output, status = runners[block.language](block)
            local guard = package.loaded["spec.secret_guard"]
            if guard then
              guard.record(output)
            end
            assert.are.equal(0, status, where .. " failed:\n" .. output)
          end)
        end
      end
    end
  end
end)
