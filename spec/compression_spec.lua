-- Compressed responses, on every transport: the libcurl ones ask for them and decode them, with
-- max_response_bytes counting decoded bytes; cosockets never ask, and refuse an encoded body.
local support = require("spec.support")
local errors = require("modelgates.errors")

local MIB = 1024 * 1024

--- The peak resident memory of this process since the last reset, in KiB, and a reset of it:
--- Linux only (nil elsewhere).
local function peak_kib()
  local status = io.open("/proc/self/status", "r")
  if not status then
    return nil
  end
  local text = status:read("*a")
  status:close()
  return tonumber(text:match("VmHWM:%s*(%d+)"))
end

local function reset_peak()
  local file = io.open("/proc/self/clear_refs", "w")
  if not file then
    return false
  end
  local ok = file:write("5")
  file:close()
  return ok ~= nil
end

support.each_transport("compressed responses", function(it, transport)
  local handle = support.server()
  local asks = transport.libcurl

  local function accept_encoding()
    return support.only_request(handle.server).headers["accept-encoding"]
  end

  it(asks and "a page comes gzipped and decodes to the same keys" or "a page is asked for uncompressed", function()
    local seeded = handle.server:seed({ count = 60 })
    local page, res = handle.server:client().keys.list()
    assert.are.equal(60, #page.data)
    local by_hash = {}
    for _, key in ipairs(seeded) do
      by_hash[key.hash] = key
    end
    for _, key in ipairs(page.data) do
      assert.are.same(by_hash[key.hash].name, key.name)
      assert.are.same(by_hash[key.hash].created_at, key.created_at)
    end
    local sent = handle.server:stats().body_bytes_sent
    if asks then
      assert.matches("gzip", accept_encoding())
      assert.are.equal("gzip", res.headers["content-encoding"])
      -- The wire carried the gzip, the caller got the JSON.
      assert.is_true(sent * 4 < #res.body, ("%d bytes sent for %d decoded"):format(sent, #res.body))
    else
      assert.is_nil(accept_encoding())
      assert.are.equal(#res.body, sent)
    end
  end)

  it("compression = false asks for none, and the body comes as it is", function()
    local created = handle.server:client().keys.create({ name = "plain" })
    handle.server:clear_requests()
    local record, res = handle.server:client({ compression = false }).keys.get(created.data.hash)
    assert.are.equal("plain", record.data.name)
    assert.is_nil(accept_encoding())
    assert.is_nil(res.headers["content-encoding"])
  end)

  it("a small body whose gzip is longer than max_response_bytes, decoded within it, is read", function()
    local created = handle.server:client().keys.create({ name = "small" })
    local _, plain = handle.server:client({ compression = false }).keys.delete(created.data.hash)
    local again = handle.server:client().keys.create({ name = "small" })
    local before = handle.server:stats().body_bytes_sent
    local deleted, res = handle.server:client({ max_response_bytes = #plain.body }).keys.delete(again.data.hash)
    assert.is_true(deleted.deleted)
    assert.are.equal(#plain.body, #res.body)
    if asks then
      assert.is_true(handle.server:stats().body_bytes_sent - before > #plain.body, "the gzip is the longer")
    end
  end)

  it(
    asks and "a body that decodes past max_response_bytes stops there" or "a body past max_response_bytes stops",
    function()
      handle.server:seed({ count = 20 })
      local _, whole = handle.server:client().keys.list()
      local err = support.raises(errors.ResponseValidationError, function()
        handle.server:client({ max_response_bytes = #whole.body - 1 }).keys.list()
      end)
      assert.are.equal("max_response_bytes", err.limit)
    end
  )

  it(
    asks and "a compression bomb stops at max_response_bytes, memory flat"
      or "an encoded body, never asked for, is refused",
    function()
      handle.server:fault({ inflate_to = 64 * MIB })
      local measured = asks and reset_peak() and peak_kib()
      local err = support.raises(errors.ResponseValidationError, function()
        handle.server:client({ max_response_bytes = MIB }).keys.list()
      end)
      if asks then
        assert.are.equal("max_response_bytes", err.limit)
        if measured then
          local grown = peak_kib() - measured
          assert.is_true(grown < 16 * 1024, ("the peak grew by %d KiB"):format(grown))
        end
      else
        assert.matches("no encoding was asked for", err.message)
      end
      assert.are.equal(1, err.attempts)
    end
  )

  it("an encoded error body, never asked for, keeps its status's typed error", function()
    handle.server:fault({ status = 503, inflate_to = 1024, count = 10 })
    local err = support.raises(errors.APIError, function()
      handle.server:client({ compression = false, retries = false }).keys.list()
    end)
    assert.are.equal(503, err.status_code)
  end)

  it("an encoded body after compression = false is refused with what was wrong", function()
    handle.server:fault({ inflate_to = 64 * 1024 })
    local err = support.raises(errors.ResponseValidationError, function()
      handle.server:client({ compression = false }).keys.list()
    end)
    assert.matches("encoded %(Content%-Encoding%), though no encoding was asked for", err.message)
  end)
end)
