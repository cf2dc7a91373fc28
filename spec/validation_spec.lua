-- Bad arguments raise a ValidationError naming the field, and nothing is sent.
local modelgates = require("modelgates")
local support = require("spec.support")

local unpack = table.unpack or unpack -- luacheck: ignore 143
local ValidationError = modelgates.errors.ValidationError
local HASH = ("cd"):rep(32)

local cases = {
  -- create
  { "create without a name", "create", { {} }, "body.name" },
  { "create with no table", "create", { "a name" }, "body" },
  { "create with a number for name", "create", { { name = 5 } }, "body.name" },
  { "create with an empty name", "create", { { name = "" } }, "body.name" },
  { "create with a typo (limt)", "create", { { name = "x", limt = 50 } }, "body.limt" },
  { "create with disabled (update only)", "create", { { name = "x", disabled = true } }, "body.disabled" },
  { "create with a negative limit", "create", { { name = "x", limit = -1 } }, "body.limit" },
  { "create with a string limit", "create", { { name = "x", limit = "50" } }, "body.limit" },
  { "create with a NaN limit", "create", { { name = "x", limit = 0 / 0 } }, "body.limit" },
  { "create with an infinite limit", "create", { { name = "x", limit = math.huge } }, "body.limit" },
  { "create with limit_reset yearly", "create", { { name = "x", limit_reset = "yearly" } }, "body.limit_reset" },
  {
    "create with a string boolean",
    "create",
    { { name = "x", include_byok_in_limit = "yes" } },
    "body.include_byok_in_limit",
  },
  {
    "create with expires_at in +01:00",
    "create",
    { { name = "x", expires_at = "2027-12-31T23:59:59+01:00" } },
    "body.expires_at",
  },
  {
    "create with expires_at without a time",
    "create",
    { { name = "x", expires_at = "2027-12-31" } },
    "body.expires_at",
  },
  {
    "create with expires_at in month 13",
    "create",
    { { name = "x", expires_at = "2027-13-01T00:00:00Z" } },
    "body.expires_at",
  },
  {
    "create with expires_at on February 30",
    "create",
    { { name = "x", expires_at = "2027-02-30T00:00:00Z" } },
    "body.expires_at",
  },
  { "create with fractional Unix seconds", "create", { { name = "x", expires_at = 1.5 } }, "body.expires_at" },
  { "create with a numeric workspace_id", "create", { { name = "x", workspace_id = 5 } }, "body.workspace_id" },
  {
    "create with a boolean creator_user_id",
    "create",
    { { name = "x", creator_user_id = false } },
    "body.creator_user_id",
  },
  { "create with external lacking user", "create", { { name = "x", external = {} } }, "body.external.user" },
  {
    "create with an unknown external field",
    "create",
    { { name = "x", external = { user = "u", usr = "u" } } },
    "body.external.usr",
  },
  { "create with a string external", "create", { { name = "x", external = "u" } }, "body.external" },
  { "create with a positional field", "create", { { "x", name = "x" } }, "body.1" },
  -- update
  {
    "update with expires_at (create only)",
    "update",
    { HASH, { expires_at = "2027-12-31T23:59:59Z" } },
    "body.expires_at",
  },
  { "update with workspace_id", "update", { HASH, { workspace_id = "w" } }, "body.workspace_id" },
  { "update with a string disabled", "update", { HASH, { disabled = "no" } }, "body.disabled" },
  { "update with a numeric limit_reset", "update", { HASH, { limit_reset = 5 } }, "body.limit_reset" },
  { "update with null name", "update", { HASH, { name = modelgates.null } }, "body.name" },
  { "update with an empty hash", "update", { "", { name = "x" } }, "hash" },
  { "update without a hash", "update", { nil, { name = "x" } }, "hash" },
  -- get, delete
  { "get with an empty hash", "get", { "" }, "hash" },
  { "get with a numeric hash", "get", { 5 }, "hash" },
  { "get without a hash", "get", {}, "hash" },
  { "delete with a table hash", "delete", { { hash = HASH } }, "hash" },
  -- list
  { "list with a negative offset", "list", { { offset = -1 } }, "params.offset" },
  { "list with a fractional offset", "list", { { offset = 1.5 } }, "params.offset" },
  { "list with a string offset", "list", { { offset = "1" } }, "params.offset" },
  { "list with a string include_disabled", "list", { { include_disabled = "true" } }, "params.include_disabled" },
  { "list with a typo (workspace)", "list", { { workspace = "w" } }, "params.workspace" },
  { "list with a string", "list", { "w" }, "params" },
  -- options, on any operation
  { "a negative timeout", "list", { nil, { timeout = -1 } }, "options.timeout" },
  { "a zero timeout", "list", { nil, { timeout = 0 } }, "options.timeout" },
  { "an option typo (timout)", "list", { nil, { timout = 5 } }, "options.timout" },
  { "CR LF in an extra header", "list", { nil, { headers = { ["X-A"] = "a\r\nX-B: b" } } }, "options.headers.X-A" },
  { "a bad header name", "list", { nil, { headers = { ["X A"] = "a" } } }, "options.headers" },
  { "LF in the user agent", "get", { HASH, { user_agent = "a\nb" } }, "options.user_agent" },
  { "CR LF in the API key", "get_current_key_metadata", { { api_key = "k\r\nX-Injected: 1" } }, "options.api_key" },
  { "NUL in the API key", "get_current_key_metadata", { { api_key = "k\0x" } }, "options.api_key" },
  { "an ftp server_url", "list", { nil, { server_url = "ftp://127.0.0.1/api/v1" } }, "options.server_url" },
  { "a file server_url", "list", { nil, { server_url = "file:///etc/passwd" } }, "options.server_url" },
  { "too many arguments", "get", { HASH, {}, "extra" }, "arguments" },
}

support.each_transport("validation", function(it)
  local handle = support.server()
  local server, keys

  before_each(function()
    server = handle.server
    keys = server:client().keys
  end)

  for _, case in ipairs(cases) do
    local title, operation, args, field = case[1], case[2], case[3], case[4]
    it(title .. " raises a ValidationError for " .. field .. " and sends nothing", function()
      local err = support.raises(ValidationError, keys[operation], unpack(args, 1, 3))
      assert.are.equal(field, err.field)
      assert.matches("modelgates.keys." .. operation .. ": " .. field, err.message, 1, true)
      assert.matches("expected ", err.message, 1, true)
      assert.are.same({}, server:requests())
    end)
  end

  it("never repeats the rejected value in the message", function()
    local err = support.raises(ValidationError, keys.get_current_key_metadata, { api_key = "secret-value\n" })
    assert.is_nil(err.message:find("secret-value", 1, true))
    assert.is_nil(tostring(err):find("secret-value", 1, true))
  end)

  it("checks the options of modelgates.new", function()
    local err = support.raises(ValidationError, modelgates.new, { api_kye = "k" })
    assert.are.equal("options.api_kye", err.field)
    err = support.raises(ValidationError, modelgates.new, { timeout = "10" })
    assert.are.equal("options.timeout", err.field)
    support.raises(ValidationError, modelgates.new, "key")
  end)

  it("accepts the timestamp forms RFC 3339 allows in UTC", function()
    for _, stamp in ipairs({ "2027-12-31T23:59:59Z", "2027-12-31T23:59:59.123Z", "2028-02-29T00:00:00+00:00" }) do
      assert.are.equal(stamp, keys.create({ name = "t", expires_at = stamp }).data.expires_at)
    end
  end)
end)
