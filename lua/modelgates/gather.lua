--- modelgates.gather: many module calls at once from a plain Lua script, on
--- one thread. Each task is a run of a scheduler with the poll loop
--- (modelgates.scheduler), whose connections are reused within the gather.

local errors = require("modelgates.errors")
local validate = require("modelgates.validate")
local scheduler = require("modelgates.scheduler")
local host = require("modelgates.host")

local CONTEXT = "modelgates.gather"

local option_specs = {
  concurrency = { type = "integer", min = 1 },
  timeout = { type = "number", min = 0, exclusive = true },
  max_host_connections = { type = "integer", min = 0 },
}

--- Tasks in flight at once unless `concurrency` says otherwise.
local DEFAULT_CONCURRENCY = 16

local function timeout_error(seconds)
  return errors.new("TimeoutError", {
    limit = "gather_timeout",
    message = ("%s: the task did not finish within options.timeout (%g s)"):format(CONTEXT, seconds),
  })
end

--- What task i did, as gather returns it.
local function result_of(ok, ...)
  if ok then
    return { ok = true, n = select("#", ...), ... }
  end
  return { ok = false, error = (...) }
end

local function check_tasks(tasks)
  if type(tasks) ~= "table" then
    validate.fail(CONTEXT, "tasks", "an array of functions", tasks)
  end
  local count = 0
  for _ in pairs(tasks) do
    count = count + 1
  end
  for i = 1, count do
    if type(tasks[i]) ~= "function" then
      validate.fail(CONTEXT, ("tasks[%d]"):format(i), "a function", tasks[i])
    end
  end
  return count
end

--- Runs the tasks as runs of `runs_of`, at most `concurrency` at once;
--- `wait_until(done)` waits for them, `wake()` is called as each ends.
local function run_tasks(runs_of, tasks, count, concurrency, timeout, wait_until, wake)
  local results, runs = {}, {}
  local next_task, in_flight = 1, 0

  local expired = false
  local function start_tasks()
    while not expired and in_flight < concurrency and next_task <= count do
      local i = next_task
      next_task, in_flight = i + 1, in_flight + 1
      runs[i] = runs_of:spawn(tasks[i], function(...)
        in_flight, runs[i] = in_flight - 1, nil
        results[i] = result_of(...)
        start_tasks()
        wake()
      end)
    end
  end

  -- A timer, so that a task that drives the loop itself meets it too.
  local alarm = timeout
    and runs_of.loop.after(timeout, function()
      expired = true
      for i = 1, count do
        if runs[i] then
          runs[i]:cancel(timeout_error(timeout))
        end
      end
    end)
  start_tasks()
  wait_until(function()
    return in_flight == 0
  end)
  if alarm then
    alarm:stop()
  end
  for i = 1, count do
    results[i] = results[i] or { ok = false, error = timeout_error(timeout) }
  end
  return results
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
  local on = host.current()
  -- A host with threads of its own (OpenResty's) runs the tasks on them.
  if on.gather then
    return on:gather(
      tasks,
      count,
      { concurrency = concurrency, timeout = options.timeout, result_of = result_of, timeout_error = timeout_error }
    )
  end
  -- Inside a run (of a gather, of modelgates.nvim) the tasks are runs of the
  -- same scheduler, on its multi: the gather never holds up its host.
  if on.waiter then
    return run_tasks(on, tasks, count, concurrency, options.timeout, on:waiter())
  end
  local runs_of = scheduler.poll({ max_host_connections = options.max_host_connections })
  local results = run_tasks(runs_of, tasks, count, concurrency, options.timeout, runs_of.loop.run_until, function() end)
  runs_of:close()
  return results
end

return gather
