-- The quickstart: every operation once, printed readably.
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/5.4/?.so;;' MODELGATES_API_KEY=... lua5.4 examples/quickstart.lua
--
-- from a checkout, after `make` (which builds build/5.4/); with the rock
-- installed, `MODELGATES_API_KEY=... lua5.4 examples/quickstart.lua`.
--
-- Run by `make demo` against the bundled local server (examples/demo.lua),
-- which hands it a client's keys table.
local modelgates = require("modelgates")

local given = ...
local keys = type(given) == "table" and given or modelgates.keys

--- The plaintext key is a secret: show only enough to recognise it.
local function mask(secret)
  return secret:sub(1, 9) .. ("*"):rep(8) .. secret:sub(-3)
end

local function show(title, record)
  print(
    ("%-28s %s  name=%q  limit=%s  reset=%s  disabled=%s"):format(
      title,
      record.hash:sub(1, 12),
      record.name,
      tostring(record.limit or "none"),
      tostring(record.limit_reset or "never"),
      tostring(record.disabled)
    )
  )
end

local created = keys.create({
  name = "quickstart",
  limit = 50,
  limit_reset = "monthly",
  include_byok_in_limit = true,
  expires_at = os.time() + 30 * 24 * 3600,
})
show("created", created.data)
print(("%-28s %s (shown once; store it now)"):format("plaintext key", mask(created.key)))

local page = keys.list({ include_disabled = true })
print(("%-28s %d key(s) on the first page"):format("listed", #page.data))

local fetched, res = keys.get(created.data.hash)
show(("got (HTTP %d)"):format(res.status), fetched.data)

local updated = keys.update(created.data.hash, { disabled = true, limit = modelgates.null })
show("updated: disabled, no limit", updated.data)

local deleted = keys.delete(created.data.hash)
print(("%-28s deleted=%s"):format("deleted", tostring(deleted.deleted)))

local ok, err = pcall(keys.get, created.data.hash)
print(("%-28s %s"):format("get after delete", ok and "still there?!" or tostring(err)))

-- Many calls at once: five keys made, then removed, each five in one gather.
local function all_of(tasks)
  local values = {}
  for i, result in ipairs(modelgates.gather(tasks, { concurrency = 5 })) do
    if not result.ok then
      error(result.error, 0)
    end
    values[i] = result[1]
  end
  return values
end
local creates = {}
for i = 1, 5 do
  creates[i] = function()
    return keys.create({ name = "batch-" .. i }).data.hash
  end
end
local deletes = {}
for i, hash in ipairs(all_of(creates)) do
  deletes[i] = function()
    return keys.delete(hash).deleted
  end
end
print(("%-28s %d keys created, then %d deleted, five at once"):format("gather", #creates, #all_of(deletes)))

local me = keys.get_current_key_metadata().data
print(
  ("%-28s label=%s  management=%s  limit_remaining=%s"):format(
    "current key",
    me.label,
    tostring(me.is_management_key),
    tostring(me.limit_remaining or "unlimited")
  )
)
