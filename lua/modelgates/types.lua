---@meta
-- LuaCATS annotations for the whole public API, in one place that
-- lua-language-server reads (it is never loaded at run time).

---@class ModelGatesOptions
---@field api_key? string the API key; else MODELGATES_API_KEY at each call
---@field server_url? string e.g. "https://modelgates.ai/api/v1"; else MODELGATES_BASE_URL, else that default
---@field timeout? number seconds for the whole call (default: none)
---@field connect_timeout? number seconds to connect (default: libcurl's 300)
---@field user_agent? string put before the module's own User-Agent
---@field headers? table<string, string> extra request headers
---@field ca_file? string CA certificates (PEM) to verify the server with
---@field ca_path? string a directory of CA certificates
---@field max_response_bytes? integer a larger response body is an error (default 16 MiB)
---@field page_size? integer the server's page size, which `each` steps by (default 100)

---@class ModelGatesResponse
---@field status integer the HTTP status
---@field headers table<string, string> response headers, lower-case names
---@field body string the raw response body
---@field attempts integer how many tries the call took

---@class ModelGatesKey
---@field hash string
---@field name string
---@field label string a shortened display form of the key
---@field disabled boolean
---@field limit number|nil USD; nil: no limit
---@field limit_remaining number|nil
---@field limit_reset "daily"|"weekly"|"monthly"|nil nil: never resets
---@field include_byok_in_limit boolean
---@field usage number
---@field usage_daily number
---@field usage_weekly number
---@field usage_monthly number
---@field byok_usage number
---@field byok_usage_daily number
---@field byok_usage_weekly number
---@field byok_usage_monthly number
---@field created_at string
---@field updated_at string|nil
---@field expires_at string|nil
---@field creator_user_id string|nil
---@field external_user string|nil
---@field workspace_id string

---@class ModelGatesRateLimit
---@field interval string
---@field note string
---@field requests integer

---@class ModelGatesFreeModelRequests
---@field limit integer
---@field remaining integer
---@field used integer

---@class ModelGatesCurrentKey
---@field label string
---@field limit number|nil
---@field limit_remaining number|nil
---@field limit_reset string|nil
---@field include_byok_in_limit boolean
---@field usage number
---@field usage_daily number
---@field usage_weekly number
---@field usage_monthly number
---@field byok_usage number
---@field byok_usage_daily number
---@field byok_usage_weekly number
---@field byok_usage_monthly number
---@field is_free_tier boolean
---@field is_management_key boolean
---@field is_provisioning_key boolean
---@field expires_at string|nil
---@field creator_user_id string|nil
---@field organization_id string|nil
---@field workspace_id string|nil
---@field allowed_data_regions string[]
---@field rate_limit ModelGatesRateLimit
---@field free_model_daily_requests ModelGatesFreeModelRequests

---@class ModelGatesCurrentKeyBody
---@field data ModelGatesCurrentKey

---@class ModelGatesKeyBody
---@field data ModelGatesKey

---@class ModelGatesCreatedKeyBody
---@field data ModelGatesKey
---@field key string the plaintext key, returned this once: a secret

---@class ModelGatesKeyListBody
---@field data ModelGatesKey[]

---@class ModelGatesDeletedBody
---@field deleted boolean

---@class ModelGatesListParams
---@field include_disabled? boolean include disabled keys (default false)
---@field offset? integer|lightuserdata keys to skip; modelgates.null: none
---@field workspace_id? string the workspace (default: the default one)

---@class ModelGatesExternal
---@field user string
---@field api_key? string

---@class ModelGatesCreateBody
---@field name string
---@field limit? number|lightuserdata USD >= 0; modelgates.null: no limit
---@field limit_reset? "daily"|"weekly"|"monthly"|lightuserdata modelgates.null: never
---@field include_byok_in_limit? boolean
---@field expires_at? string|integer|lightuserdata RFC 3339 UTC, or Unix seconds
---@field workspace_id? string
---@field creator_user_id? string|lightuserdata
---@field external? ModelGatesExternal

---@class ModelGatesUpdateBody
---@field name? string
---@field disabled? boolean
---@field limit? number|lightuserdata modelgates.null removes the limit
---@field limit_reset? "daily"|"weekly"|"monthly"|lightuserdata
---@field include_byok_in_limit? boolean

---@class ModelGatesKeys
---Metadata of the key the call is made with. Errors: 401, 500.
---@field get_current_key_metadata fun(options?: ModelGatesOptions): ModelGatesCurrentKeyBody, ModelGatesResponse
---One page (at most 100) of keys, newest first. Management key. Errors: 400, 401, 429, 500.
---@field list fun(params?: ModelGatesListParams, options?: ModelGatesOptions): ModelGatesKeyListBody, ModelGatesResponse
---Creates a key; the body's `key` is the plaintext, returned once. Errors: 400, 401, 403, 429, 500.
---@field create fun(body: ModelGatesCreateBody, options?: ModelGatesOptions): ModelGatesCreatedKeyBody, ModelGatesResponse
---One key by hash. Errors: 401, 404, 429, 500.
---@field get fun(hash: string, options?: ModelGatesOptions): ModelGatesKeyBody, ModelGatesResponse
---Changes a key; absent fields stay as they are. Errors: 400, 401, 404, 429, 500.
---@field update fun(hash: string, body: ModelGatesUpdateBody, options?: ModelGatesOptions): ModelGatesKeyBody, ModelGatesResponse
---Deletes a key. Errors: 401, 404, 429, 500.
---@field delete fun(hash: string, options?: ModelGatesOptions): ModelGatesDeletedBody, ModelGatesResponse
---Every key of every page: `for key in keys.each{ include_disabled = true } do ... end`.
---@field each fun(params?: ModelGatesListParams, options?: ModelGatesOptions): fun(): ModelGatesKey|nil

---@class ModelGatesClient
---@field keys ModelGatesKeys
---@field options ModelGatesOptions
---@field close fun(self: ModelGatesClient)
