-- Run inside `nvim --headless` by spec/hosts/neovim_host.lua: module calls
-- through modelgates.nvim against the local server, which the spec set up
-- (MODELGATES_API_KEY, MODELGATES_BASE_URL, the hashes below and their
-- faults). Prints one line, "result=" and a JSON report, then quits; a
-- failure exits with 1.
local root = os.getenv("MODELGATES_TEST_ROOT")
vim.opt.runtimepath:prepend(root)
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

local modelgates = require("modelgates")
local core = require("modelgates.core")
local nvim = require("modelgates.nvim")

local hashes = vim.json.decode(os.getenv("MODELGATES_TEST_HASHES"))
local control = core.transport()

local function now_ms()
  return vim.loop.hrtime() / 1e6
end

local function wait_for(what, done)
  assert(vim.wait(10000, done, 5), "timed out waiting for " .. what)
end

--- The local server's count of connections and requests.
local function stats()
  local res = assert(control:perform({
    method = "GET",
    url = os.getenv("MODELGATES_TEST_SERVER_ROOT") .. "/__control/stats",
    timeout = 10,
  }))
  return vim.json.decode(res.body)
end

--- What a callback received, as plain values.
local function outcome_of(err, ...)
  return {
    error = err ~= nil and (type(err) == "table" and err.name or tostring(err)) or nil,
    status = type(err) == "table" and err.status_code or nil,
    limit = type(err) == "table" and err.limit or nil,
    maybe_created = type(err) == "table" and err.maybe_created or nil,
    values = { ... },
  }
end

--- Runs `fn` with modelgates.nvim and waits for its callback.
local function run_and_wait(what, fn)
  local outcome
  nvim.run(fn, function(...)
    outcome = outcome_of(...)
  end)
  wait_for(what, function()
    return outcome ~= nil
  end)
  return outcome
end

local report = {}

local function never_freezes()
  local ticks, callback = 0, nil
  local ticker = vim.loop.new_timer()
  ticker:start(100, 100, function()
    ticks = ticks + 1
  end)
  local started = now_ms()
  nvim.run(function()
    return modelgates.keys.get(hashes.slow).data.hash
  end, function(err, hash)
    callback = {
      error = err and tostring(err),
      hash = hash,
      ticks = ticks,
      getcwd = pcall(vim.fn.getcwd),
      elapsed_ms = now_ms() - started,
    }
  end)
  report.run_returned_ms = now_ms() - started
  wait_for("the slow call", function()
    return callback ~= nil
  end)
  ticker:stop()
  ticker:close()
  report.slow = callback
end

local function three_at_once()
  local finished = {}
  local started = now_ms()
  for _ = 1, 3 do
    nvim.run(function()
      return modelgates.keys.get(hashes.trio).data.hash
    end, function(err)
      finished[#finished + 1] = { error = err and tostring(err), ms = now_ms() - started }
    end)
  end
  wait_for("three runs", function()
    return #finished == 3
  end)
  report.three = finished
end

local function gathers_inside_a_run()
  local ticks = 0
  local ticker = vim.loop.new_timer()
  ticker:start(100, 100, function()
    ticks = ticks + 1
  end)
  local started = now_ms()
  local function get()
    return modelgates.keys.get(hashes.gathered).data.name
  end
  report.gathered = run_and_wait("a gather inside a run", function()
    local names = {}
    for i, result in ipairs(modelgates.gather({ get, get, get })) do
      names[i] = result[1]
    end
    return names
  end)
  report.gathered.ms, report.gathered.ticks = now_ms() - started, ticks
  ticker:stop()
  ticker:close()
end

local function reuses_connections()
  run_and_wait("a first list", function()
    return modelgates.keys.list()
  end)
  local before = stats().connections
  report.second_run = run_and_wait("a second list", function()
    return #modelgates.keys.list().data
  end)
  report.connections_opened_by_second_run = stats().connections - before
end

local function cancels()
  local calls, after_the_call, err = 0, false, nil
  local handle = nvim.run(function()
    modelgates.keys.get(hashes.cancel)
    after_the_call = true
  end, function(e)
    calls = calls + 1
    err = e
  end)
  vim.wait(200)
  report.cancel_returned = handle:cancel()
  wait_for("the cancelled run's callback", function()
    return calls > 0
  end)
  -- The server answers the cancelled call at 2 s: nothing of the run may follow.
  vim.wait(2300)
  report.cancel = {
    calls = calls,
    error = err.name,
    request_sent = err.request_sent,
    after_the_call = after_the_call,
    running = handle:running(),
    cancel_again = handle:cancel(),
  }
end

local function errors_reach_the_callback()
  report.not_found = run_and_wait("a 404", function()
    return modelgates.keys.get("no-such-hash")
  end)
  report.invalid = run_and_wait("a ValidationError", function()
    return modelgates.keys.create({ name = 5 })
  end)
  report.plain = run_and_wait("a plain error", function()
    error("plain", 0)
  end)
  report.values = run_and_wait("several values", function()
    return 1, nil, "three"
  end)
end

local function retries_and_limits()
  report.retried = run_and_wait("a retried call", function()
    local _, res = modelgates.keys.get(hashes.retry)
    return res.attempts
  end)
  local impatient = modelgates.new({ timeout = 0.3, retries = false })
  report.timeout = run_and_wait("a timeout", function()
    return impatient.keys.get(hashes.late)
  end)
  local stall_watcher = modelgates.new({ stall_timeout = 0.3, retries = false })
  report.stall = run_and_wait("a stall", function()
    return stall_watcher.keys.get(hashes.stall)
  end)
  report.each = run_and_wait("a walk", function()
    local count = 0
    for _ in modelgates.keys.each() do
      count = count + 1
    end
    return count
  end)
end

local function notifies_without_a_callback()
  local notified = {}
  local notify = vim.notify
  vim.notify = function(message, level)
    notified[#notified + 1] = { message = message, level = level }
  end
  nvim.run(function()
    return modelgates.keys.get("no-such-hash")
  end)
  wait_for("the notification", function()
    return #notified > 0
  end)
  vim.notify = notify
  report.notified = notified[1]
  report.notified.error_level = notified[1].level == vim.log.levels.ERROR
end

--- The README's user command, run as printed.
local function readme_user_command()
  local file = assert(io.open(root .. "/README.md"))
  local readme = file:read("*a")
  file:close()
  local example = assert(readme:match("A user command that lists every key.-```lua\n(.-)```"), "no example")
  assert(loadstring(example, "README.md"))()
  local from = vim.api.nvim_get_current_buf()
  vim.cmd("ModelGatesKeys")
  wait_for("the scratch buffer", function()
    return vim.api.nvim_get_current_buf() ~= from
  end)
  report.user_command = {
    buftype = vim.bo.buftype,
    lines = vim.api.nvim_buf_get_lines(0, 0, -1, false),
  }
end

dofile(root .. "/spec/hosts/neovim_report.lua")(function()
  never_freezes()
  three_at_once()
  gathers_inside_a_run()
  reuses_connections()
  cancels()
  errors_reach_the_callback()
  retries_and_limits()
  notifies_without_a_callback()
  readme_user_command()
  return report
end)
