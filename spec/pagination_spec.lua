-- keys.each walks every page of list.
local support = require("spec.support")

local function collect(iterator)
  local hashes, seen_twice = {}, false
  local seen = {}
  for key in iterator do
    seen_twice = seen_twice or seen[key.hash] ~= nil
    seen[key.hash] = true
    hashes[#hashes + 1] = key.hash
  end
  return hashes, seen_twice
end

local function offsets(server)
  local found = {}
  for _, request in ipairs(server:requests()) do
    found[#found + 1] = request.query:match("offset=(%d+)")
  end
  return table.concat(found, ",")
end

support.each_transport("keys.each with the API's page of 100", function(it)
  local handle = support.server()

  it("yields all 250 keys over three pages, newest first, and stops at the empty page after them", function()
    local server = handle.server
    server:seed({ count = 250 })
    local listed = {}
    for _, record in ipairs(server:keys()) do
      listed[record.hash] = true
    end
    local hashes, seen_twice = collect(server:client().keys.each())
    assert.are.equal(250, #hashes)
    assert.is_false(seen_twice)
    for _, hash in ipairs(hashes) do
      assert.is_true(listed[hash])
    end
    assert.are.equal("0,100,200,250", offsets(server))
  end)
end)

support.each_transport("keys.each with a page size of 2", function(it)
  local handle = support.server({ page_size = 2 })
  local server, keys

  before_each(function()
    server = handle.server
    keys = server:client().keys
  end)

  it("does not stop at a short page: the server's page size is not the client's to know", function()
    server:seed({ count = 5 })
    assert.are.equal(5, #collect(keys.each()))
    assert.are.equal("0,2,4,5", offsets(server))
  end)

  it("stops at a page with nothing new, from a server that ignores the offset", function()
    local same_page = ('{"data":[{"hash":"%s"},{"hash":"%s"}]}'):format(("a"):rep(64), ("b"):rep(64))
    server:fault({ path = "/api/v1/keys", count = 3, body = same_page })
    assert.are.equal(2, #collect(keys.each()))
    assert.are.equal("0,2", offsets(server))
  end)

  it("asks for one more, empty page after a full last page", function()
    server:seed({ count = 6 })
    assert.are.equal(6, #collect(keys.each()))
    assert.are.equal("0,2,4,6", offsets(server))
  end)

  it("yields nothing for no keys", function()
    assert.are.equal(0, #collect(keys.each()))
    assert.are.equal("0", offsets(server))
  end)

  it("passes include_disabled and workspace_id and starts at the given offset", function()
    server:seed({ count = 3, workspace_id = "ws", disabled = true })
    server:seed({ count = 2, workspace_id = "ws" })
    assert.are.equal(2, #collect(keys.each({ workspace_id = "ws" })))
    server:clear_requests()
    assert.are.equal(4, #collect(keys.each({ workspace_id = "ws", include_disabled = true, offset = 1 })))
    assert.are.equal("1,3,5", offsets(server))
    assert.matches("include_disabled=true", server:requests()[1].query, 1, true)
    assert.matches("workspace_id=ws", server:requests()[1].query, 1, true)
  end)

  it("never yields a hash twice when a key is created while it walks", function()
    server:seed({ count = 5 })
    local hashes, created = {}, false
    local seen_twice = false
    for key in keys:each() do
      if not created then
        keys.create({ name = "arrived during the walk" })
        created = true
      end
      seen_twice = seen_twice or hashes[key.hash] ~= nil
      hashes[key.hash] = true
    end
    assert.is_false(seen_twice)
    -- The new key went to the front: the walk still saw every older key.
    local count = 0
    for _ in pairs(hashes) do
      count = count + 1
    end
    assert.are.equal(5, count)
  end)

  it("checks its arguments before the first request", function()
    local modelgates = require("modelgates")
    support.raises(modelgates.errors.ValidationError, keys.each, { offset = -2 })
    assert.are.same({}, server:requests())
  end)
end)
