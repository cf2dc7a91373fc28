--- The ModelGates API-key management API, declared once as data and run by
--- the generic engine in modelgates.client. A new endpoint is an entry here.
---
--- Each operation: `method`, `path` (with `{name}` for each path parameter),
--- `path_params` (their order in the Lua call), `query` or `body` (the field
--- specs of its one table argument), `success` (the status that means
--- success), `errors` (the statuses the API documents for it; every 3XX-5XX
--- raises its typed error whatever this says), `returns` (the shape the
--- success body must have: field name -> kind, see modelgates.client).
---
--- `once` marks an operation that must not reach the server twice (create:
--- a second try could make a second key), `absent_means_done` one whose
--- retry may find its work already done (delete: 404 after a try whose
--- outcome is unknown), with the body that success would have had.
---
--- A field spec: `type` (see modelgates.validate), `required`, `nullable`
--- (modelgates.null is accepted and sent as JSON null), and the type's own
--- settings (`min`, `values`, `fields`).

local limit_reset = { type = "enum", values = { "daily", "weekly", "monthly" }, nullable = true }
local limit = { type = "number", min = 0, nullable = true }
local hash = { "hash" }

return {
  default_server_url = "https://modelgates.ai/api/v1",

  operations = {
    get_current_key_metadata = {
      method = "GET",
      path = "/key",
      success = 200,
      errors = { 401, 500 },
      returns = { data = "object" },
    },
    list = {
      method = "GET",
      path = "/keys",
      success = 200,
      errors = { 400, 401, 429, 500 },
      query = {
        include_disabled = { type = "boolean" },
        offset = { type = "integer", min = 0, max = 2 ^ 53, nullable = true },
        workspace_id = { type = "string" },
      },
      returns = { data = "key_records" },
    },
    create = {
      method = "POST",
      path = "/keys",
      success = 201,
      errors = { 400, 401, 403, 429, 500 },
      once = true,
      body = {
        name = { type = "string", required = true },
        limit = limit,
        limit_reset = limit_reset,
        include_byok_in_limit = { type = "boolean" },
        expires_at = { type = "timestamp", nullable = true },
        workspace_id = { type = "string" },
        creator_user_id = { type = "string", nullable = true },
        external = {
          type = "object",
          fields = {
            user = { type = "string", required = true },
            api_key = { type = "string" },
          },
        },
      },
      returns = { data = "key_record", key = "string" },
    },
    get = {
      method = "GET",
      path = "/keys/{hash}",
      path_params = hash,
      success = 200,
      errors = { 401, 404, 429, 500 },
      returns = { data = "key_record" },
    },
    update = {
      method = "PATCH",
      path = "/keys/{hash}",
      path_params = hash,
      success = 200,
      errors = { 400, 401, 404, 429, 500 },
      body = {
        name = { type = "string" },
        disabled = { type = "boolean" },
        limit = limit,
        limit_reset = limit_reset,
        include_byok_in_limit = { type = "boolean" },
      },
      returns = { data = "key_record" },
    },
    delete = {
      method = "DELETE",
      path = "/keys/{hash}",
      path_params = hash,
      success = 200,
      errors = { 401, 404, 429, 500 },
      returns = { deleted = "boolean" },
      absent_means_done = { deleted = true },
    },
  },

  --- When a failed try is tried again. `statuses`: answers worth another
  --- try; `refused_statuses`: those that prove the request was not
  --- processed (so even a `once` operation is tried again). Which
  --- transport failures are worth another try, the transport says
  --- (`transient`, see modelgates.host).
  retry = {
    statuses = { [408] = true, [429] = true, [500] = true, [502] = true, [503] = true, [504] = true },
    refused_statuses = { [429] = true },
  },

  --- What a client has unless its options say otherwise.
  defaults = {
    timeout = 60,
    connect_timeout = 10,
    stall_timeout = 30,
    retries = { max_attempts = 4, initial_interval = 0.5, max_interval = 30, exponent = 1.5, jitter = true },
  },

  --- Options of modelgates.new{} and of every call (a call's override the
  --- client's).
  options = {
    api_key = { type = "header_value" },
    server_url = { type = "url" },
    allow_insecure_http = { type = "boolean" },
    timeout = { type = "number", min = 0, exclusive = true },
    connect_timeout = { type = "number", min = 0, exclusive = true },
    stall_timeout = { type = "number", min = 0, exclusive = true },
    retries = {
      type = "object",
      disabled_by_false = true,
      fields = {
        max_attempts = { type = "integer", min = 1, max = 1000 },
        initial_interval = { type = "number", min = 0 },
        max_interval = { type = "number", min = 0 },
        exponent = { type = "number", min = 1 },
        max_elapsed = { type = "number", min = 0, exclusive = true },
        jitter = { type = "boolean" },
      },
    },
    user_agent = { type = "header_value" },
    headers = { type = "headers" },
    ca_file = { type = "string" },
    ca_path = { type = "string" },
    -- The C core counts bytes in 32 bits.
    max_response_bytes = { type = "integer", min = 1, max = 2 ^ 32 - 1 },
    debug = { type = "function" },
    --- Ask for compressed responses (default true).
    compression = { type = "boolean" },
    --- "http://[user:password@]host:port", or false for none with the
    --- environment ignored; unset, the environment's, as curl reads it
    --- (modelgates.proxy).
    proxy = { type = "proxy_url" },
    --- Hosts reached without the proxy, comma-separated, as in no_proxy.
    no_proxy = { type = "host_list" },
    --- In OpenResty: "cosocket" (the default where the phase allows it) or
    --- "curl" (blocks the worker); elsewhere only "curl" works.
    transport = { type = "enum", values = { "curl", "cosocket" } },
  },
}
