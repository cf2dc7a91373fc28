-- modelgates.gather and the scheduler under it: many calls at once on one
-- core.multi, with the engine's promises intact.
local modelgates = require("modelgates")
local scheduler = require("modelgates.scheduler")
local core = require("modelgates.core")
local support = require("spec.support")

local errors = modelgates.errors

describe("modelgates.gather", function()
  local handle = support.server()
  local server, client

  before_each(function()
    server = handle.server
    client = server:client({ retries = { max_attempts = 3, initial_interval = 0.01, jitter = false } })
  end)

  local function create_key(name)
    local hash = client.keys.create({ name = name or "a key" }).data.hash
    server:clear_requests()
    return hash
  end

  --- `count` tasks, each a keys.get of `hash`.
  local function gets(hash, count)
    local tasks = {}
    for i = 1, count do
      tasks[i] = function()
        return client.keys.get(hash).data.name
      end
    end
    return tasks
  end

  it("returns each task's values in the order of the tasks, with their count", function()
    local hash = create_key("ordered")
    local results = modelgates.gather({
      function()
        return 1, nil, client.keys.get(hash).data.name
      end,
      function()
        return
      end,
      function()
        return client.keys.list().data[1].hash, "two"
      end,
    })
    assert.are.same({ ok = true, n = 3, 1, nil, "ordered" }, results[1])
    assert.are.same({ ok = true, n = 0 }, results[2])
    assert.are.same({ ok = true, n = 2, hash, "two" }, results[3])
  end)

  it("keeps one task's failure to that task, untouched", function()
    local hash = create_key()
    local raised = setmetatable({}, {
      __tostring = function()
        return "a table of the task's own"
      end,
    })
    local results = modelgates.gather({
      function()
        error("a plain string", 0)
      end,
      function()
        return client.keys.get("no-such-hash")
      end,
      function()
        error(raised)
      end,
      function()
        return client.keys.get(hash).data.hash
      end,
    })
    assert.are.same({ ok = false, error = "a plain string" }, results[1])
    assert.is_false(results[2].ok)
    assert.is_true(results[2].error:is(errors.NotFoundResponseError))
    assert.are.equal(404, results[2].error.status_code)
    assert.are.equal(raised, results[3].error)
    assert.are.same({ ok = true, n = 1, hash }, results[4])
  end)

  it("runs the calls at the same time, never more than `concurrency`", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.2, count = 12 })
    local results = modelgates.gather(gets(hash, 12), { concurrency = 4 })
    for i = 1, 12 do
      assert.is_true(results[i].ok)
    end
    assert.are.equal(4, server:stats().max_in_flight)
    assert.are.equal(12, #server:requests())
  end)

  it("runs every task at once with a concurrency of at least their number", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.2, count = 10 })
    modelgates.gather(gets(hash, 10), { concurrency = 50 })
    assert.are.equal(10, server:stats().max_in_flight)
  end)

  it("reuses connections between the calls of a gather", function()
    local hash = create_key()
    local before = server:stats().connections
    local results = modelgates.gather(gets(hash, 30), { concurrency = 1 })
    assert.are.equal(30, #results)
    assert.are.equal(1, server:stats().connections - before)
    before = server:stats().connections
    modelgates.gather(gets(hash, 40), { concurrency = 4 })
    assert.is_true(server:stats().connections - before <= 4)
  end)

  it("caps the connections to one host with max_host_connections", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.1, count = 8 })
    local before = server:stats().connections
    local results = modelgates.gather(gets(hash, 8), { concurrency = 8, max_host_connections = 2 })
    for i = 1, 8 do
      assert.is_true(results[i].ok)
    end
    assert.are.equal(2, server:stats().max_in_flight)
    assert.is_true(server:stats().connections - before <= 2)
  end)

  it("runs the calls of several clients, and never the clients' blocking transport", function()
    local hash = create_key()
    client:close()
    local other = server:client()
    local results = modelgates.gather({
      function()
        return client.keys.get(hash).data.hash
      end,
      function()
        return other.keys.get_current_key_metadata().data.is_management_key
      end,
      function()
        local count = 0
        for _ in other.keys.each() do
          count = count + 1
        end
        return count
      end,
    })
    assert.are.same({ ok = true, n = 1, hash }, results[1])
    assert.are.same({ ok = true, n = 1, true }, results[2])
    assert.are.same({ ok = true, n = 1, 1 }, results[3])
    assert.is_nil(client.transport)
    assert.is_nil(other.transport)
  end)

  it("lets a call inside pcall or a coroutine of the task's own run alongside the others", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.2, count = 3 })
    local results = modelgates.gather({
      function()
        return pcall(client.keys.get, hash)
      end,
      function()
        return coroutine.wrap(function()
          return client.keys.get(hash).data.hash
        end)()
      end,
      function()
        return client.keys.get(hash).data.hash
      end,
    })
    assert.is_true(results[1][1])
    assert.are.equal(hash, results[2][1])
    assert.are.equal(hash, results[3][1])
    assert.are.equal(3, server:stats().max_in_flight)
  end)

  it("retries inside a task, waiting on a timer while the other tasks go on", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, status = 503, count = 2 })
    local results = modelgates.gather({
      function()
        local body, res = client.keys.get(hash)
        return body.data.hash, res.attempts
      end,
      function()
        return client.keys.list().data[1].hash
      end,
    })
    assert.are.same({ ok = true, n = 2, hash, 3 }, results[1])
    assert.are.same({ ok = true, n = 1, hash }, results[2])
  end)

  it("never sends a create twice, and marks the one whose outcome is unknown", function()
    server:fault({ method = "POST", path = "/api/v1/keys", drop = "before_response", count = 1 })
    local tasks = {}
    for i = 1, 3 do
      tasks[i] = function()
        return client.keys.create({ name = "k" .. i }).data.hash
      end
    end
    local results = modelgates.gather(tasks)
    local failed = {}
    for _, result in ipairs(results) do
      if not result.ok then
        failed[#failed + 1] = result.error
      end
    end
    assert.are.equal(1, #failed)
    assert.is_true(failed[1]:is(errors.ConnectionError))
    assert.is_true(failed[1].maybe_created)
    assert.are.equal(3, #server:requests())
  end)

  it("ends the tasks still running at its timeout with a TimeoutError, the others kept", function()
    local hash = create_key()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 3, count = 1 })
    local started = core.now()
    local after_the_call = false
    local results = modelgates.gather({
      function()
        client.keys.get(hash)
        after_the_call = true
      end,
      function()
        return client.keys.list().data[1].hash
      end,
      function()
        return client.keys.create({ name = "in flight" })
      end,
    }, { timeout = 0.5, concurrency = 2 })
    assert.is_true(core.now() - started < 2.5)
    assert.is_true(results[1].error:is(errors.TimeoutError))
    assert.are.equal("gather_timeout", results[1].error.limit)
    assert.is_true(results[1].error.request_sent)
    assert.are.same({ ok = true, n = 1, hash }, results[2])
    assert.is_true(results[3].ok or results[3].error.limit ~= "gather_timeout")
    assert.is_false(after_the_call)
  end)

  it("ends a task at its timeout even when its retry wait falls due in the same turn", function()
    local host = require("modelgates.host")
    local results = modelgates.gather({
      function()
        host.current():sleep(0.1)
      end,
      -- Holds the loop past both the wait and the timeout.
      function()
        core.sleep(0.3)
      end,
    }, { timeout = 0.2 })
    assert.are.equal("gather_timeout", results[1].error.limit)
    assert.are.same({ ok = true, n = 0 }, results[2])
  end)

  it("refuses tasks that are not functions, and bad options, before anything runs", function()
    local ran = false
    local function task()
      ran = true
    end
    local err = support.raises(errors.ValidationError, modelgates.gather, { task, "not a function" })
    assert.are.equal("tasks[2]", err.field)
    support.raises(errors.ValidationError, modelgates.gather, "tasks")
    support.raises(errors.ValidationError, modelgates.gather, { task }, { concurrency = 0 })
    support.raises(errors.ValidationError, modelgates.gather, { task }, { timeout = -1 })
    support.raises(errors.ValidationError, modelgates.gather, { task }, { concurency = 2 })
    assert.is_false(ran)
    assert.are.equal(0, #server:requests())
  end)

  it("ends a task that yields outside a module call with a ValidationError", function()
    local results = modelgates.gather({
      function()
        coroutine.yield("mine")
      end,
    })
    assert.is_true(results[1].error:is(errors.ValidationError))
  end)

  it("returns an empty array for no tasks", function()
    assert.are.same({}, modelgates.gather({}))
  end)
end)

describe("a run's cancel", function()
  local handle = support.server()

  --- Drives the loop of `runs` until `done()`, for 10 s at most.
  local function run_until(runs, done)
    local started = core.now()
    runs.loop.run_until(function()
      assert(core.now() - started < 10, "the loop did not get there in 10 s")
      return done()
    end)
  end

  local function slow_get(server)
    local client = server:client({ retries = false })
    local hash = client.keys.create({ name = "slow" }).data.hash
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 2, count = 1 })
    return client, hash
  end

  it("ends the call in flight with a CancelledError, reported once, and nothing of the run after", function()
    local server = handle.server
    local client, hash = slow_get(server)
    local runs = scheduler.poll()
    local reports, after_the_call = {}, false
    local run = runs:spawn(function()
      client.keys.get(hash)
      after_the_call = true
    end, function(...)
      reports[#reports + 1] = { ... }
    end)
    runs.loop.after(0.2, function()
      run:cancel()
    end)
    run_until(runs, function()
      return #reports > 0
    end)
    -- Time for a wrongly resumed run to do more.
    runs.loop.after(0.3, function() end)
    run_until(runs, function()
      return runs:active() == 0
    end)
    runs:close()
    assert.are.equal(1, #reports)
    assert.is_false(reports[1][1])
    assert.is_true(reports[1][2]:is(errors.CancelledError))
    assert.is_true(reports[1][2].request_sent)
    assert.is_false(after_the_call)
    assert.is_false(run:running())
    assert.is_false(run:cancel())
  end)

  it("marks a cancelled create that was sent as maybe created", function()
    local server = handle.server
    server:fault({ method = "POST", path = "/api/v1/keys", delay = 2, count = 1 })
    local client = server:client({ retries = false })
    local runs = scheduler.poll()
    local report
    local run = runs:spawn(function()
      client.keys.create({ name = "cancelled" })
    end, function(ok, err)
      report = { ok, err }
    end)
    runs.loop.after(0.2, function()
      run:cancel()
    end)
    run_until(runs, function()
      return report ~= nil
    end)
    runs:close()
    assert.is_true(report[2]:is(errors.CancelledError))
    assert.is_true(report[2].maybe_created)
  end)

  it("says a create was sent when it is cancelled after its answer came, before the run resumed", function()
    local server = handle.server
    local client = server:client({ retries = false })
    local runs = scheduler.poll()
    local report
    local run = runs:spawn(function()
      client.keys.create({ name = "answered" })
    end, function(ok, err)
      report = { ok, err }
    end)
    run_until(runs, function()
      return runs:active() > 0
    end)
    -- What the loop does when the transfer ends, then a cancel in the same turn.
    local started, finished = core.now(), nil
    while not finished and core.now() - started < 10 do
      finished = runs.multi:perform(0.05)
    end
    runs:transfer_done(finished[1])
    assert.is_true(run:cancel())
    runs:close()
    assert.is_true(report[2]:is(errors.CancelledError))
    assert.is_true(report[2].request_sent)
    assert.is_true(report[2].maybe_created)
    assert.are.equal(1, #server:keys())
  end)

  it("raises the CancelledError in a run that drives the loop itself, and in its later calls", function()
    local server = handle.server
    local client, hash = slow_get(server)
    local runs = scheduler.poll()
    local caught, later, reports = nil, nil, 0
    -- A coroutine of the run's own cannot yield to the loop on any Lua.
    local run = runs:spawn(function()
      coroutine.wrap(function()
        local _, err = pcall(client.keys.get, hash)
        caught = err
        _, later = pcall(client.keys.list)
      end)()
    end, function()
      reports = reports + 1
    end)
    runs.loop.after(0.2, function()
      run:cancel()
    end)
    run_until(runs, function()
      return later ~= nil
    end)
    runs:close()
    assert.is_true(caught:is(errors.CancelledError))
    assert.is_true(later:is(errors.CancelledError))
    assert.are.equal(1, reports)
  end)
end)

describe("core.multi", function()
  local handle = support.server()

  local function request(server, path)
    return {
      method = "GET",
      url = server.url .. path,
      timeout = 10,
      headers = { "Authorization: Bearer " .. server.management_key },
    }
  end

  it("runs transfers to their answers, each reported once", function()
    local server = handle.server
    local multi = core.multi()
    local first = multi:add(request(server, "/key"))
    local second = multi:add(request(server, "/keys/absent"))
    local done = {}
    local started = core.now()
    while multi:active() > 0 and core.now() - started < 10 do
      for _, id in ipairs(multi:perform(0.1) or {}) do
        done[#done + 1] = id
      end
    end
    table.sort(done)
    assert.are.same({ first, second }, done)
    assert.are.equal(200, multi:result(first).status)
    assert.are.equal(404, multi:result(second).status)
    assert.has_error(function()
      multi:result(first)
    end)
    multi:close()
    assert.has_error(function()
      multi:add(request(server, "/key"))
    end)
  end)

  it("is collected, and closed, with transfers in flight", function()
    local server = handle.server
    server:fault({ path = "/api/v1/key", delay = 1, count = 3 })
    local multi = core.multi()
    for _ = 1, 3 do
      multi:add(request(server, "/key"))
    end
    multi:perform(0.05)
    local closed = core.multi()
    closed:add(request(server, "/key"))
    closed:perform(0.05)
    closed:close()
    closed:close()
    multi = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.are.equal(0, #server:client().keys.list().data)
  end)

  it("checks its options and arguments", function()
    assert.has_error(function()
      core.multi({ max_host_connections = -1 })
    end)
    assert.has_error(function()
      core.multi({ max_host_connections = 1.5 })
    end)
    assert.has_error(function()
      core.multi("fast")
    end)
    local multi = core.multi()
    assert.has_error(function()
      multi:add("GET /")
    end)
    assert.has_error(function()
      multi:add({ method = "GET" })
    end)
    assert.has_error(function()
      multi:cancel(1)
    end)
    assert.has_error(function()
      multi:socket_action(3, true, false)
    end)
    assert.has_error(function()
      core.multi({ events = true }):perform(0)
    end)
    multi:close()
  end)
end)

describe("modelgates.gather over https with HTTP/2", function()
  local handle = support.server({ tls = true, http2 = true })

  it("multiplexes the calls on one connection (ALPN h2), with a per-host cap of 1", function()
    local server = handle.server
    local client = server:client()
    local hash = client.keys.create({ name = "multiplexed" }).data.hash
    client:close()
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.3, count = 6 })
    local before = server:stats().connections
    local tasks = {}
    for i = 1, 6 do
      tasks[i] = function()
        return client.keys.get(hash).data.name
      end
    end
    local results = modelgates.gather(tasks, { concurrency = 6, max_host_connections = 1 })
    for i = 1, 6 do
      assert.are.same({ ok = true, n = 1, "multiplexed" }, results[i])
    end
    assert.are.equal(1, server:stats().connections - before)
    assert.are.equal(6, server:stats().max_in_flight)
  end)
end)

describe("a gather inside a task", function()
  local handle = support.server()

  it("runs its tasks alongside the outer tasks, on the same loop", function()
    local server = handle.server
    local client = server:client()
    local hash = client.keys.create({ name = "nested" }).data.hash
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 0.3, count = 4 })
    local function get()
      return client.keys.get(hash).data.name
    end
    local results = modelgates.gather({
      get,
      function()
        local inner = modelgates.gather({ get, get, get })
        return inner[1][1], inner[2][1], inner[3][1]
      end,
    })
    assert.are.same({ ok = true, n = 1, "nested" }, results[1])
    assert.are.same({ ok = true, n = 3, "nested", "nested", "nested" }, results[2])
    assert.are.equal(4, server:stats().max_in_flight)
  end)

  it("ends the inner tasks at the inner timeout, and the outer ones go on", function()
    local server = handle.server
    local client = server:client()
    local hash = client.keys.create({ name = "late" }).data.hash
    server:fault({ path = "/api/v1/keys/" .. hash, delay = 1, count = 1 })
    local results = modelgates.gather({
      function()
        local inner = modelgates.gather({
          function()
            return client.keys.get(hash)
          end,
        }, { timeout = 0.2 })
        return inner[1].error.limit
      end,
      function()
        return #client.keys.list().data
      end,
    })
    assert.are.same({ ok = true, n = 1, "gather_timeout" }, results[1])
    assert.are.same({ ok = true, n = 1, 1 }, results[2])
  end)
end)
