--- modelgates.gather: many module calls at once from a plain Lua script, on
--- one thread. Each task is a function run as a coroutine (modelgates.
--- scheduler); the loop here drives their transfers with core.multi's
--- perform, which waits on libcurl's own sockets, and runs the retry waits
--- as timers.

local core = require("modelgates.core")
local errors = require("modelgates.errors")
local validate = require("modelgates.validate")
local scheduler = require("modelgates.scheduler")

local CONTEXT = "modelgates.gather"

local option_specs = {
  concurrency = { type = "integer", min = 1 },
  timeout = { type = "number", min = 0, exclusive = true },
  max_host_connections = { type = "integer", min = 0 },
}

--- Tasks in flight at once unless `concurrency` says otherwise.
local DEFAULT_CONCURRENCY = 16

--- libcurl checks a transfer's stall limit when it runs: the loop never
--- waits longer than this while transfers are in flight.
local MAX_IDLE_WAIT = 0.25

--- A loop (see modelgates.scheduler) over `multi`, driven by `step`.
local function poll_loop(multi)
  local timers, ready = {}, {}
  local loop = { multi = multi }

  function loop.watch() end

  function loop.defer(fn) ready[#ready + 1] = fn end

  function loop.after(seconds, fn)
    local timer = { at = core.now() + seconds, fn = fn }
    timers[#timers + 1] = timer
    return { stop = function() timer.fn = nil end }
  end

  local function run_ready()
    while #ready > 0 do
      local batch = ready
      ready = {}
      for _, fn in ipairs(batch) do fn() end
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
    for _, timer in ipairs(due) do timer.fn() end
  end

  --- One turn: what is ready runs; unless that was enough for `done()`, the
  --- multi waits for activity, a timer or `max_wait`, whichever comes first.
  local function step(max_wait, done)
    run_ready()
    if done() then return end
    local wait = max_wait
    local now = core.now()
    for _, timer in ipairs(timers) do
      if timer.fn then wait = math.min(wait, timer.at - now) end
    end
    if multi:active() > 0 then wait = math.min(wait, MAX_IDLE_WAIT) end
    local done = multi:perform(math.max(wait, 0))
    for _, id in ipairs(done or {}) do loop.scheduler:transfer_done(id) end
    fire_due_timers()
    run_ready()
  end

  function loop.run_until(done)
    while not done() do step(MAX_IDLE_WAIT, done) end
  end

  return loop
end

local function timeout_error(seconds)
  return errors.new("TimeoutError", {
    limit = "gather_timeout",
    message = ("%s: the task did not finish within options.timeout (%g s)"):format(CONTEXT, seconds),
  })
end

local function check_tasks(tasks)
  if type(tasks) ~= "table" then validate.fail(CONTEXT, "tasks", "an array of functions", tasks) end
  local count = 0
  for _ in pairs(tasks) do count = count + 1 end
  for i = 1, count do
    if type(tasks[i]) ~= "function" then
      validate.fail(CONTEXT, ("tasks[%d]"):format(i), "a function", tasks[i])
    end
  end
  return count
end

--- Runs every task of `tasks` (an array of functions) as a coroutine in
--- which module calls are written as usual and run at the same time.
--- Returns an array in the order of `tasks`: `{ ok = true, n = ..., ... }`
--- with what task i returned, or `{ ok = false, error = err }` with what it
--- raised, untouched.
---@param tasks function[]
---@param options? ModelGatesGatherOptions
---@return ModelGatesGatherResult[]
local function gather(tasks, options)
  local count = check_tasks(tasks)
  options = validate.fields(option_specs, options, CONTEXT, "options.")
  local concurrency = options.concurrency or DEFAULT_CONCURRENCY
  local multi = core.multi({ max_host_connections = options.max_host_connections })
  local loop = poll_loop(multi)
  local runs_of = scheduler.new(loop)
  loop.scheduler = runs_of
  local results, runs = {}, {}
  local next_task, in_flight = 1, 0

  local expired = false
  local function start_tasks()
    while not expired and in_flight < concurrency and next_task <= count do
      local i = next_task
      next_task, in_flight = i + 1, in_flight + 1
      runs[i] = runs_of:spawn(tasks[i], function(ok, ...)
        in_flight, runs[i] = in_flight - 1, nil
        if ok then
          results[i] = { ok = true, n = select("#", ...), ... }
        else
          results[i] = { ok = false, error = (...) }
        end
        start_tasks()
      end)
    end
  end

  -- A timer, so that a task that drives the loop itself meets it too.
  if options.timeout then
    loop.after(options.timeout, function()
      expired = true
      for i = 1, count do
        if runs[i] then runs[i]:cancel(timeout_error(options.timeout)) end
      end
    end)
  end
  start_tasks()
  loop.run_until(function() return in_flight == 0 end)
  multi:close()
  for i = 1, count do
    results[i] = results[i] or { ok = false, error = timeout_error(options.timeout) }
  end
  return results
end

return gather
