-- The local server's keys: records by hash plus a doubly linked list, newest first, so that
-- listing pages from the front and deleting anywhere both stay cheap with tens of thousands of
-- keys; and new records as the API makes them.

local cqueues = require("cqueues")
local openssl_digest = require("openssl.digest")
local openssl_rand = require("openssl.rand")
local json = require("modelgates.server.json")

local null = json.null

local DEFAULT_WORKSPACE = "0df9e665-d932-5740-b2c7-b52af166bc11"
local KEY_PREFIX = "sk-mg-v1-"
local USAGE_FIELDS = {
  "usage",
  "usage_daily",
  "usage_weekly",
  "usage_monthly",
  "byok_usage",
  "byok_usage_daily",
  "byok_usage_weekly",
  "byok_usage_monthly",
}

-- One format call per string rather than one per byte: seeding thousands of keys stays quick.
local function to_hex(bytes)
  return string.rep("%02x", #bytes):format(bytes:byte(1, -1))
end

local function sha256_hex(text)
  return to_hex(openssl_digest.new("sha256"):final(text))
end

local function label_of(key)
  return key:sub(1, 12) .. "..." .. key:sub(-3)
end

local function or_null(value)
  if value == nil then
    return null
  end
  return value
end

local function with_zero_usage(record)
  for _, name in ipairs(USAGE_FIELDS) do
    record[name] = 0
  end
  return record
end

-- os.time has whole seconds only; the monotonic clock supplies the fraction the real API shows.
local wall_anchor, monotonic_anchor = os.time(), cqueues.monotime()

local function now()
  return wall_anchor + (cqueues.monotime() - monotonic_anchor)
end

local function timestamp_micro(time)
  local seconds = math.floor(time)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%06d+00:00", math.floor((time - seconds) * 1e6))
end

local function timestamp_seconds(time)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(time))
end

local function new_store()
  return { by_hash = {}, older = {}, newer = {}, newest = nil }
end

local function store_add(store, record)
  local hash, newest = record.hash, store.newest
  store.by_hash[hash] = record
  store.older[hash] = newest
  if newest then
    store.newer[newest] = hash
  end
  store.newest = hash
end

local function store_remove(store, hash)
  local older, newer = store.older[hash], store.newer[hash]
  if newer then
    store.older[newer] = older
  else
    store.newest = older
  end
  if older then
    store.newer[older] = newer
  end
  store.by_hash[hash], store.older[hash], store.newer[hash] = nil, nil, nil
end

local function select_page(store, wanted, offset, size)
  local page, taken, skipped = {}, 0, 0
  local hash = store.newest
  while hash and taken < size do
    local record = store.by_hash[hash]
    if wanted(record) then
      if skipped < offset then
        skipped = skipped + 1
      else
        taken = taken + 1
        page[taken] = record
      end
    end
    hash = store.older[hash]
  end
  return page
end

local function new_record(fields)
  local key = KEY_PREFIX .. to_hex(openssl_rand.bytes(32))
  local record = with_zero_usage({
    hash = sha256_hex(key),
    name = fields.name,
    label = label_of(key),
    disabled = false,
    limit = or_null(fields.limit),
    limit_remaining = or_null(fields.limit),
    limit_reset = or_null(fields.limit_reset),
    include_byok_in_limit = fields.include_byok_in_limit or false,
    created_at = timestamp_micro(now()),
    updated_at = null,
    creator_user_id = or_null(fields.creator_user_id),
    external_user = fields.external and fields.external.user or null,
    workspace_id = fields.workspace_id or DEFAULT_WORKSPACE,
  })
  -- Upstream omits expires_at for a key that never expires rather than sending null.
  if fields.expires_at ~= null then
    record.expires_at = fields.expires_at
  end
  return record, key
end

return {
  DEFAULT_WORKSPACE = DEFAULT_WORKSPACE,
  new = new_store,
  add = store_add,
  remove = store_remove,
  select_page = select_page,
  new_record = new_record,
  label_of = label_of,
  with_zero_usage = with_zero_usage,
  now = now,
  timestamp_seconds = timestamp_seconds,
}
