--- The ModelGates API-key management API, declared once as data and run by
--- the generic engine in modelgates.client. A new endpoint is an entry here.
---
--- Each operation: `method`, `path` (with `{name}` for each path parameter),
--- `path_params` (their order in the Lua call), `query` or `body` (the field
--- specs of its one table argument), `success` (the status that means
--- success), `errors` (the statuses the API documents for it; every 3XX-5XX
--- raises its typed error whatever this says), `returns` (the shape the
--- success body must have: field name -> kind, see modelgates.judge).
---
--- `once` marks an operation that must not reach the server twice (create:
--- a second try could make a second key), `absent_means_done` one whose
--- retry may find its work already done (delete: 404 after a try whose
--- outcome is unknown), with the body that success would have had.
---
--- A field spec: `type` (see modelgates.validate), `required`, `nullable`
--- (modelgates.null is accepted and sent as JSON null), and the type's own
--- settings (`min`, `values`, `fields`).
---
--- `doc` (and an operation's `doc_returns`, `query_class`, `body_class`, an
--- object's `class`, a function's `doc_type`) are for `make docs`
--- (docs/generate.lua), which writes the LuaCATS classes of types.lua and
--- the README's tables from this file: the engine never reads them.

local limit_reset = {
  type = "enum",
  values = { "daily", "weekly", "monthly" },
  nullable = true,
  doc = "when the limit resets; modelgates.null: never",
}
local limit = { type = "number", min = 0, nullable = true, doc = "spending limit in USD; modelgates.null: none" }
local include_byok_in_limit = { type = "boolean", doc = "count BYOK usage against the limit" }
local hash = { "hash" }

return {
  default_server_url = "https://modelgates.ai/api/v1",

  operations = {
    get_current_key_metadata = {
      doc = "Metadata of the key the call is made with.",
      doc_returns = { class = "ModelGatesCurrentKeyBody", text = "`{ data = current key }`" },
      method = "GET",
      path = "/key",
      success = 200,
      errors = { 401, 500 },
      returns = { data = "object" },
    },
    list = {
      doc = "One page of keys, newest first. Management key.",
      doc_returns = { class = "ModelGatesKeyListBody", text = "`{ data = { key, ... } }` (one page, newest first)" },
      method = "GET",
      path = "/keys",
      success = 200,
      errors = { 400, 401, 429, 500 },
      query_class = "ModelGatesListParams",
      query = {
        include_disabled = { type = "boolean", doc = "include disabled keys (default false); sent as true/false" },
        offset = {
          type = "integer",
          min = 0,
          max = 2 ^ 53,
          nullable = true,
          doc = "keys to skip; modelgates.null sends none",
        },
        workspace_id = { type = "string", doc = "the workspace (default: the default one)" },
      },
      returns = { data = "key_records" },
    },
    create = {
      doc = "Creates a key; the body's `key` is the plaintext, returned this once.",
      doc_returns = { class = "ModelGatesCreatedKeyBody", text = "`{ data = key, key = plaintext }`" },
      method = "POST",
      path = "/keys",
      success = 201,
      errors = { 400, 401, 403, 429, 500 },
      once = true,
      body_class = "ModelGatesCreateBody",
      body = {
        name = { type = "string", required = true, doc = "the key's name" },
        limit = limit,
        limit_reset = limit_reset,
        include_byok_in_limit = include_byok_in_limit,
        expires_at = {
          type = "timestamp",
          nullable = true,
          doc = "RFC 3339 in UTC (Z or +00:00) or whole Unix seconds, sent as 2027-12-31T23:59:59Z; "
            .. "modelgates.null: never",
        },
        workspace_id = { type = "string", doc = "the key's workspace (default: the default one)" },
        creator_user_id = { type = "string", nullable = true, doc = "the user the key is made for" },
        external = {
          type = "object",
          class = "ModelGatesExternal",
          doc = "an external user's key",
          fields = {
            user = { type = "string", required = true, doc = "the external user" },
            api_key = { type = "string", doc = "their own key" },
          },
        },
      },
      returns = { data = "key_record", key = "string" },
    },
    get = {
      doc = "One key by hash.",
      doc_returns = { class = "ModelGatesKeyBody", text = "`{ data = key }`" },
      method = "GET",
      path = "/keys/{hash}",
      path_params = hash,
      success = 200,
      errors = { 401, 404, 429, 500 },
      returns = { data = "key_record" },
    },
    update = {
      doc = "Changes a key; absent fields stay as they are, modelgates.null removes one.",
      doc_returns = { class = "ModelGatesKeyBody", text = "`{ data = key }`" },
      method = "PATCH",
      path = "/keys/{hash}",
      path_params = hash,
      success = 200,
      errors = { 400, 401, 404, 429, 500 },
      body_class = "ModelGatesUpdateBody",
      body = {
        name = { type = "string", doc = "a new name" },
        disabled = { type = "boolean", doc = "disable or enable the key" },
        limit = limit,
        limit_reset = limit_reset,
        include_byok_in_limit = include_byok_in_limit,
      },
      returns = { data = "key_record" },
    },
    delete = {
      doc = "Deletes a key.",
      doc_returns = { class = "ModelGatesDeletedBody", text = "`{ deleted = true }`" },
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
    api_key = { type = "header_value", doc = "the API key; else MODELGATES_API_KEY, read at each call" },
    server_url = {
      type = "url",
      doc = "http:// or https:// base URL; else MODELGATES_BASE_URL, else https://modelgates.ai/api/v1",
    },
    allow_insecure_http = {
      type = "boolean",
      doc = "allow http:// to a host that is not loopback, or through a proxy that is not (default false)",
    },
    timeout = {
      type = "number",
      min = 0,
      exclusive = true,
      doc = "seconds for the whole call, retries and waits included (default 60)",
    },
    connect_timeout = { type = "number", min = 0, exclusive = true, doc = "seconds to connect (default 10)" },
    stall_timeout = {
      type = "number",
      min = 0,
      exclusive = true,
      doc = "seconds without a byte sent or received (default 30)",
    },
    retries = {
      type = "object",
      class = "ModelGatesRetries",
      disabled_by_false = true,
      doc = "when to try again (see Failure semantics); false: never",
      fields = {
        max_attempts = { type = "integer", min = 1, max = 1000, doc = "tries in all, the first included (default 4)" },
        initial_interval = { type = "number", min = 0, doc = "seconds before the second try (default 0.5)" },
        max_interval = {
          type = "number",
          min = 0,
          doc = "the longest wait, the server's hint included (default 30)",
        },
        exponent = { type = "number", min = 1, doc = "each next wait is this many times the last (default 1.5)" },
        max_elapsed = {
          type = "number",
          min = 0,
          exclusive = true,
          doc = "no try starts later than this many seconds after the first",
        },
        jitter = {
          type = "boolean",
          doc = "scale each computed wait by a random factor in [0.5, 1] (default true)",
        },
      },
    },
    user_agent = {
      type = "header_value",
      doc = "sent before the module's own lua-modelgates/VERSION (...), which stays",
    },
    headers = {
      type = "headers",
      doc = "extra request headers, name -> value; a call's replace the client's of the same name, whatever the case",
    },
    ca_file = { type = "string", doc = "CA certificates (PEM) to verify the server with (verification is always on)" },
    ca_path = { type = "string", doc = "a directory of CA certificates" },
    -- The C core counts bytes in 32 bits.
    max_response_bytes = {
      type = "integer",
      min = 1,
      max = 2 ^ 32 - 1,
      doc = "a larger response body stops the transfer and raises ResponseValidationError (default 16 MiB); "
        .. "decoded bytes: a compressed body stops as it inflates past it",
    },
    debug = {
      type = "function",
      doc_type = "fun(line: string)",
      doc = "called with one line per attempt, outcome and wait; the Authorization header and proxy "
        .. "credentials are redacted and bodies are never shown",
    },
    compression = {
      type = "boolean",
      doc = "ask for compressed responses (every encoding the linked libcurl decodes) and decode them "
        .. "(default true); never over OpenResty's cosockets",
    },
    proxy = {
      type = "proxy_url",
      doc = "http://[user:password@]host:port; false: none, the environment ignored; unset: the environment's, "
        .. "as curl reads it (see Proxies); not over cosockets",
    },
    no_proxy = {
      type = "host_list",
      doc = "hosts reached without the proxy, comma-separated; else no_proxy or NO_PROXY",
    },
    transport = {
      type = "enum",
      values = { "curl", "cosocket" },
      doc = "OpenResty only: cosockets (the default where the phase allows them) or libcurl, which blocks "
        .. "the worker",
    },
  },
}
