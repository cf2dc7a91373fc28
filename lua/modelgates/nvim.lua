--- modelgates.nvim: module calls that never freeze Neovim.
---
---     require("modelgates.nvim").run(function()
---       return modelgates.keys.list().data
---     end, function(err, keys) ... end)
---
--- `run` runs a function as a coroutine (modelgates.scheduler) whose module
--- calls go through one core.multi driven by Neovim's own libuv loop: a
--- socket poll for each file descriptor libcurl asks for and one timer for
--- libcurl's timeouts, as curl's multi-uv example does. No thread, no child
--- process, no busy polling. The function runs, and the callback is called,
--- from vim.schedule, where vim.api and vim.fn may be used.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local scheduler = require("modelgates.scheduler")

assert(rawget(_G, "vim") and vim.schedule, "modelgates.nvim runs inside Neovim only")
local uv = vim.uv or vim.loop

local unpack = table.unpack or unpack -- luacheck: ignore 143

---@class ModelGatesNvim
local nvim = {}

--- How often the transfers in flight are checked for a stall limit: driven
--- by events, libcurl runs a transfer only when its socket or timer fires.
local STALL_CHECK_MS = 250
--- A call that cannot yield (inside a coroutine of the caller's own) waits
--- with vim.wait, which keeps the loop running; this bounds one such wait.
local IN_PLACE_WAIT_MS = 24 * 3600 * 1000

--- The loop over Neovim's libuv, made at the first run and shared by all.
local function uv_loop()
  local multi = core.multi({ events = true })
  local loop = { multi = multi }
  local polls = {}
  local curl_timer = uv.new_timer()
  local stall_timer = uv.new_timer()

  local function finish(ids)
    for _, id in ipairs(ids or {}) do
      loop.scheduler:transfer_done(id)
    end
    loop.watch()
  end

  local function on_timeout()
    finish(multi:socket_action())
  end

  --- Applies what libcurl asked for since the last call: polls started,
  --- changed or stopped (before libcurl closes the fd), and its timer.
  function loop.watch()
    local changes, timer_ms = multi:take_events()
    for _, change in ipairs(changes) do
      local fd, what = change[1], change[2]
      local poll = polls[fd]
      if what == "remove" then
        if poll then
          poll:stop()
          poll:close()
          polls[fd] = nil
        end
      else
        if not poll then
          poll = assert(uv.new_socket_poll(fd))
          polls[fd] = poll
        end
        poll:start(what == "in" and "r" or what == "out" and "w" or "rw", function(_, events)
          events = events or ""
          finish(multi:socket_action(fd, events:find("r") ~= nil, events:find("w") ~= nil))
        end)
      end
    end
    if timer_ms then
      curl_timer:stop()
      if timer_ms >= 0 then
        curl_timer:start(timer_ms, 0, on_timeout)
      end
    end
    if multi:active() > 0 then
      if not stall_timer:is_active() then
        stall_timer:start(STALL_CHECK_MS, STALL_CHECK_MS, on_timeout)
      end
    else
      stall_timer:stop()
    end
  end

  function loop.after(seconds, fn)
    local timer = uv.new_timer()
    timer:start(math.ceil(seconds * 1000), 0, function()
      timer:close()
      fn()
    end)
    return {
      stop = function()
        if not timer:is_closing() then
          timer:stop()
          timer:close()
        end
      end,
    }
  end

  loop.defer = vim.schedule

  function loop.run_until(done)
    while not done() do
      vim.wait(IN_PLACE_WAIT_MS, done, 10)
    end
  end

  loop.scheduler = scheduler.new(loop)
  return loop.scheduler
end

local shared

---@class ModelGatesNvimRun
local run_methods = {}
local run_mt = { __index = run_methods }

--- Ends the run now: its callback gets a CancelledError (with
--- `maybe_created` for a create that may have been sent) and nothing else
--- of the run happens later. Returns false when the run had already ended.
---@return boolean
function run_methods:cancel()
  return self.run:cancel(errors.new("CancelledError", { message = "modelgates.nvim: the run was cancelled" }))
end

--- Whether the run is still going.
---@return boolean
function run_methods:running()
  return self.run:running()
end

local function report(err)
  vim.notify("modelgates: " .. tostring(err), vim.log.levels.ERROR)
end

--- Runs `fn` as a coroutine whose module calls never block the editor, and
--- returns at once with a handle (`:cancel()`, `:running()`). When `fn`
--- returns, `callback(nil, ...)` gets its values; when it raises,
--- `callback(err)` gets the error object untouched. The callback runs
--- from vim.schedule; without one, a failure is shown with vim.notify.
---@param fn function
---@param callback? fun(err: any, ...: any)
---@return ModelGatesNvimRun
function nvim.run(fn, callback)
  if type(fn) ~= "function" then
    error(errors.new("ValidationError", { field = "fn", message = "modelgates.nvim.run: fn: expected a function" }), 2)
  end
  if callback ~= nil and type(callback) ~= "function" then
    error(
      errors.new("ValidationError", {
        field = "callback",
        message = "modelgates.nvim.run: callback: expected a function or nothing",
      }),
      2
    )
  end
  shared = shared or uv_loop()
  local run = shared:spawn(fn, function(ok, ...)
    local outcome = { n = select("#", ...), ... }
    vim.schedule(function()
      if callback then
        if ok then
          callback(nil, unpack(outcome, 1, outcome.n))
        else
          callback(outcome[1])
        end
      elseif not ok then
        report(outcome[1])
      end
    end)
  end)
  return setmetatable({ run = run }, run_mt)
end

return nvim
