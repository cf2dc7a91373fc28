--- Runs functions as coroutines whose module calls share one core.multi and
--- never block one another: the host behind modelgates.gather and
--- modelgates.nvim. It implements the host contract of modelgates.host
--- (perform, sleep, now) for the calls of its runs.
---
--- An event loop drives it; the loop is the part that differs between a
--- plain script and Neovim. A loop is a table with:
---   multi                  the core.multi its transfers run on
---   watch()                called after a transfer was added
---   after(seconds, fn)     a timer; returns an object with stop()
---   defer(fn)              runs fn soon, from the loop, never inside the caller
---   run_until(done)        drives the loop here until done() is true, for a
---                          call that cannot yield
--- and it calls scheduler:transfer_done(id) for each transfer the multi
--- reports finished.
---
--- A call yields to the loop when its coroutine can yield. Where it cannot
--- (inside a pcall or a for iterator on Lua 5.1, a metamethod, a coroutine
--- of the caller's own), it drives the loop in place until its transfer is
--- done; the other runs go on meanwhile.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local host = require("modelgates.host")

local unpack = table.unpack or unpack -- luacheck: ignore 143

local scheduler = {}
local methods = {}
local scheduler_mt = { __index = methods }

local function pack(...)
  return { n = select("#", ...), ... }
end

--- Whether the running coroutine can yield from here. Lua 5.3, 5.4 and
--- LuaJIT say so; 5.2 yields across pcall and iterators; on 5.1 a C
--- function (pcall, gsub, sort) or a for iterator on the stack forbids it.
local can_yield = coroutine.isyieldable
  or (_VERSION == "Lua 5.2" and function()
    local _, is_main = coroutine.running()
    return not is_main
  end)
  or function()
    if not coroutine.running() then
      return false
    end
    local level = 3
    while true do
      local info = debug.getinfo(level, "Sn")
      if not info then
        return true
      end
      if info.what == "C" or info.name == "(for generator)" then
        return false
      end
      level = level + 1
    end
  end

---@param loop table
function scheduler.new(loop)
  return setmetatable({ loop = loop, multi = loop.multi, waiting = {} }, scheduler_mt)
end

local run_methods = {}
local run_mt = { __index = run_methods }

--- Resumes `run` with `...`, as the current run and with this scheduler as
--- the calls' host; reports it when its function has returned or raised.
function methods:resume(run, ...)
  if run.state ~= "running" then
    return
  end
  local previous_host, previous_run = host.ambient, self.current
  host.ambient, self.current = self, run
  local outcome = pack(coroutine.resume(run.co, ...))
  host.ambient, self.current = previous_host, previous_run
  if run.state ~= "running" then
    return
  end
  if coroutine.status(run.co) == "dead" then
    run.state = "done"
    run.on_done(unpack(outcome, 1, outcome.n))
  elseif not run.box then
    -- Nothing would ever resume it.
    run:cancel(errors.new("ValidationError", {
      message = "modelgates: a task yielded outside a module call; only module calls may yield in it",
    }))
  end
end

--- Starts `fn` as a run; `on_done(true, ...)` gets what it returned,
--- `on_done(false, err)` what it raised (or why it was cancelled), once.
function methods:spawn(fn, on_done)
  -- Lua 5.1 makes no coroutine of a C function.
  local co = coroutine.create(function(...)
    return fn(...)
  end)
  local run = setmetatable({ scheduler = self, co = co, on_done = on_done, state = "running" }, run_mt)
  self.loop.defer(function()
    self:resume(run)
  end)
  return run
end

--- The error of a run ended by `cancel`: `err` with what the caller needs
--- to know about the request in flight.
local function cancelled_error(err, request, request_sent)
  err.request_sent, err.requests_sent = request_sent, request_sent and 1 or 0
  if request and request.once and request_sent then
    err.maybe_created = true
  end
  return err
end

--- Waits, in the current run, until `box.done`: by yielding to the loop
--- when the run's coroutine can, else by driving the loop here.
function methods:wait(run, box)
  run.box = box
  if coroutine.running() == run.co and can_yield() then
    coroutine.yield()
  else
    self.loop.run_until(function()
      return box.done
    end)
  end
  run.box = nil
  return unpack(box, 1, 2)
end

local function settle(run, first, second)
  local box = run.box
  box[1], box[2], box.done = first, second, true
  return box
end

--- For the current run to wait on others: returns `wait_until(done)`, which
--- waits (yielding, or driving the loop in place) until `done()` is true,
--- and `wake()`, to be called whenever it may have become so. A run
--- cancelled meanwhile raises what ended it.
function methods:waiter()
  local run = self.current
  local box
  local function wake()
    if box and run.box == box and not box.done then
      settle(run)
      self:continue(run)
    end
  end
  local function wait_until(done)
    while not done() do
      if run.state ~= "running" then
        error(run.ended_by, 0)
      end
      box = {}
      self:wait(run, box)
    end
  end
  return wait_until, wake
end

-- The host contract (modelgates.host).

function methods:perform(_, request)
  local run = self.current
  if run.state ~= "running" then
    return nil, cancelled_error(run.ended_by, request, false)
  end
  local id = self.multi:add(request)
  self.waiting[id], run.transfer, run.request, run.sent = run, id, request, nil
  self.loop.watch()
  return self:wait(run, {})
end

function methods:sleep(seconds)
  local run = self.current
  local box = {}
  run.timer = self.loop.after(seconds, function()
    run.timer = nil
    settle(run)
    self:continue(run)
  end)
  self:wait(run, box)
end

function methods.now()
  return core.now()
end

--- After the box of a run's wait was settled: a run that yielded is
--- resumed from the loop; one that drives the loop itself sees the box.
function methods:continue(run)
  if run.box and coroutine.status(run.co) == "suspended" then
    self.loop.defer(function()
      self:resume(run)
    end)
  end
end

--- Called by the loop for each transfer the multi reports finished.
function methods:transfer_done(id)
  local run = self.waiting[id]
  self.waiting[id] = nil
  local res, err = self.multi:result(id)
  if not run then
    return
  end
  -- A cancel before the run resumes still says what this request did.
  run.transfer, run.sent = nil, res ~= nil or err.request_sent
  settle(run, res, err)
  self:continue(run)
end

--- Ends the run now with `err` (a CancelledError, or a TimeoutError for a
--- deadline): its transfer stops, its timer too, and `on_done(false, err)`
--- is called at once; `err.request_sent` says whether its last request may
--- have reached the server (even one answered but not yet resumed with).
--- A run that had yielded is never resumed again; one that drives the loop
--- itself sees its call fail with `err`, as does any later call it makes.
function run_methods:cancel(err)
  if self.state ~= "running" then
    return false
  end
  local scheduler_of = self.scheduler
  err = err or errors.new("CancelledError", { message = "the call was cancelled" })
  local request_sent = self.sent or false
  if self.transfer then
    request_sent = scheduler_of.multi:cancel(self.transfer)
    scheduler_of.waiting[self.transfer] = nil
    -- libcurl closed the connection: its socket leaves the loop now.
    scheduler_of.loop.watch()
  end
  if self.timer then
    self.timer:stop()
  end
  cancelled_error(err, self.request, request_sent)
  self.state, self.ended_by, self.transfer, self.request, self.timer = "cancelled", err, nil, nil, nil
  if self.box then
    settle(self, nil, err)
  end
  self.on_done(false, err)
  return true
end

--- Whether the run is still going.
function run_methods:running()
  return self.state == "running"
end

--- libcurl checks a transfer's stall limit when it runs: the loop never
--- waits longer than this while transfers are in flight.
local MAX_IDLE_WAIT = 0.25

--- The loop of a plain script over `multi`: the multi's perform waits on
--- libcurl's own sockets, and timers are kept in a list.
local function poll_loop(multi)
  local timers = {}
  -- A queue taken one at a time, so that a run that drives the loop in
  -- place (run_until) takes the rest of it too.
  local ready, next_ready, last_ready = {}, 1, 0
  local loop = { multi = multi }

  function loop.watch() end

  function loop.defer(fn)
    last_ready = last_ready + 1
    ready[last_ready] = fn
  end

  function loop.after(seconds, fn)
    local timer = { at = core.now() + seconds, fn = fn }
    timers[#timers + 1] = timer
    return {
      stop = function()
        timer.fn = nil
      end,
    }
  end

  local function run_ready()
    while ready[next_ready] do
      local fn = ready[next_ready]
      ready[next_ready], next_ready = nil, next_ready + 1
      fn()
    end
  end

  local function fire_due_timers()
    local now, due, kept = core.now(), {}, {}
    for _, timer in ipairs(timers) do
      if timer.fn then
        local list = timer.at <= now and due or kept
        list[#list + 1] = timer
      end
    end
    timers = kept
    -- One timer's callback may stop another of the same batch.
    for _, timer in ipairs(due) do
      if timer.fn then
        timer.fn()
      end
    end
  end

  --- One turn: what is ready runs; unless that was enough for `done()`, the
  --- multi waits for activity, a timer or `max_wait`, whichever comes first.
  local function step(max_wait, done)
    run_ready()
    if done() then
      return
    end
    local wait = max_wait
    local now = core.now()
    for _, timer in ipairs(timers) do
      if timer.fn then
        wait = math.min(wait, timer.at - now)
      end
    end
    if multi:active() > 0 then
      wait = math.min(wait, MAX_IDLE_WAIT)
    end
    local finished = multi:perform(math.max(wait, 0))
    for _, id in ipairs(finished or {}) do
      loop.scheduler:transfer_done(id)
    end
    fire_due_timers()
    run_ready()
  end

  function loop.run_until(done)
    while not done() do
      step(MAX_IDLE_WAIT, done)
    end
  end

  return loop
end

--- A scheduler of its own multi (core.multi's `options`) and a loop that
--- drives it from a plain script: `loop.run_until(done)` runs it here.
function scheduler.poll(options)
  local loop = poll_loop(core.multi(options))
  loop.scheduler = scheduler.new(loop)
  return loop.scheduler
end

--- How many transfers are in flight.
function methods:active()
  return self.multi:active()
end

--- Stops every transfer in flight and frees the multi.
function methods:close()
  self.multi:close()
end

scheduler.can_yield = can_yield

return scheduler
