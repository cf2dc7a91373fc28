---@meta
-- LuaCATS annotations for the whole public API, in one place that
-- lua-language-server reads (it is never loaded at run time): the modules,
-- their functions, option tables, response records and error classes. Each
-- module marks its table with the class defined here (---@class ModelGates in
-- init.lua). spec/annotations_spec.lua fails when a public function, option,
-- record field or error class is missing here.

---A value sent as JSON null (`modelgates.null`): lua-cjson's null, or
---`vim.NIL` inside Neovim without lua-cjson.
---@alias ModelGatesNull lightuserdata|userdata

-- BEGIN make docs: classes (docs/generate.lua, from modelgates.api; do not edit by hand)
---@class ModelGatesOptions
---@field allow_insecure_http? boolean allow http:// to a host that is not loopback, or through a proxy that is not (default false)
---@field api_key? string the API key; else MODELGATES_API_KEY, read at each call
---@field ca_file? string CA certificates (PEM) to verify the server with (verification is always on)
---@field ca_path? string a directory of CA certificates
---@field compression? boolean ask for compressed responses (every encoding the linked libcurl decodes) and decode them (default true); never over OpenResty's cosockets
---@field connect_timeout? number seconds to connect (default 10)
---@field debug? fun(line: string) called with one line per attempt, outcome and wait; the Authorization header and proxy credentials are redacted and bodies are never shown
---@field headers? table<string, string> extra request headers, name -> value; a call's replace the client's of the same name, whatever the case
---@field max_response_bytes? integer a larger response body stops the transfer and raises ResponseValidationError (default 16 MiB); decoded bytes: a compressed body stops as it inflates past it
---@field no_proxy? string hosts reached without the proxy, comma-separated; else no_proxy or NO_PROXY
---@field proxy? string|false http://[user:password@]host:port; false: none, the environment ignored; unset: the environment's, as curl reads it (see Proxies); not over cosockets
---@field retries? ModelGatesRetries|false when to try again (see Failure semantics); false: never
---@field server_url? string http:// or https:// base URL; else MODELGATES_BASE_URL, else https://modelgates.ai/api/v1
---@field stall_timeout? number seconds without a byte sent or received (default 30)
---@field timeout? number seconds for the whole call, retries and waits included (default 60)
---@field transport? "curl"|"cosocket" OpenResty only: cosockets (the default where the phase allows them) or libcurl, which blocks the worker
---@field user_agent? string sent before the module's own lua-modelgates/VERSION (...), which stays

---@class ModelGatesRetries
---@field exponent? number each next wait is this many times the last (default 1.5)
---@field initial_interval? number seconds before the second try (default 0.5)
---@field jitter? boolean scale each computed wait by a random factor in [0.5, 1] (default true)
---@field max_attempts? integer tries in all, the first included (default 4)
---@field max_elapsed? number no try starts later than this many seconds after the first
---@field max_interval? number the longest wait, the server's hint included (default 30)

---@class ModelGatesListParams
---@field include_disabled? boolean include disabled keys (default false); sent as true/false
---@field offset? integer|ModelGatesNull keys to skip; modelgates.null sends none
---@field workspace_id? string the workspace (default: the default one)

---@class ModelGatesCreateBody
---@field creator_user_id? string|ModelGatesNull the user the key is made for
---@field expires_at? string|integer|ModelGatesNull RFC 3339 in UTC (Z or +00:00) or whole Unix seconds, sent as 2027-12-31T23:59:59Z; modelgates.null: never
---@field external? ModelGatesExternal an external user's key
---@field include_byok_in_limit? boolean count BYOK usage against the limit
---@field limit? number|ModelGatesNull spending limit in USD; modelgates.null: none
---@field limit_reset? "daily"|"weekly"|"monthly"|ModelGatesNull when the limit resets; modelgates.null: never
---@field name string the key's name
---@field workspace_id? string the key's workspace (default: the default one)

---@class ModelGatesExternal
---@field api_key? string their own key
---@field user string the external user

---@class ModelGatesUpdateBody
---@field disabled? boolean disable or enable the key
---@field include_byok_in_limit? boolean count BYOK usage against the limit
---@field limit? number|ModelGatesNull spending limit in USD; modelgates.null: none
---@field limit_reset? "daily"|"weekly"|"monthly"|ModelGatesNull when the limit resets; modelgates.null: never
---@field name? string a new name

---@class ModelGatesKeys
---Metadata of the key the call is made with. Errors: 401, 500.
---@field get_current_key_metadata fun(options?: ModelGatesOptions): ModelGatesCurrentKeyBody, ModelGatesResponse
---One page of keys, newest first. Management key. Errors: 400, 401, 429, 500.
---@field list fun(params?: ModelGatesListParams, options?: ModelGatesOptions): ModelGatesKeyListBody, ModelGatesResponse
---Creates a key; the body's `key` is the plaintext, returned this once. Errors: 400, 401, 403, 429, 500.
---@field create fun(body: ModelGatesCreateBody, options?: ModelGatesOptions): ModelGatesCreatedKeyBody, ModelGatesResponse
---One key by hash. Errors: 401, 404, 429, 500.
---@field get fun(hash: string, options?: ModelGatesOptions): ModelGatesKeyBody, ModelGatesResponse
---Changes a key; absent fields stay as they are, modelgates.null removes one. Errors: 400, 401, 404, 429, 500.
---@field update fun(hash: string, body: ModelGatesUpdateBody, options?: ModelGatesOptions): ModelGatesKeyBody, ModelGatesResponse
---Deletes a key. Errors: 401, 404, 429, 500.
---@field delete fun(hash: string, options?: ModelGatesOptions): ModelGatesDeletedBody, ModelGatesResponse
---Every key of every page: `for key in keys.each{ include_disabled = true } do ... end`.
---@field each fun(params?: ModelGatesListParams, options?: ModelGatesOptions): fun(): ModelGatesKey|nil
-- END make docs: classes (docs/generate.lua, from modelgates.api; do not edit by hand)

---@class ModelGatesResponse
---@field status integer the HTTP status
---@field reason? string the status line's reason phrase ("OK"), when it has one
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

---@class ModelGatesClient
---@field keys ModelGatesKeys
---@field options ModelGatesOptions
---Closes the connection now rather than when the client is collected.
---@field close fun(self: ModelGatesClient)

---`require("modelgates")`
---@class ModelGates
---@field version string the module's version
---Sent as JSON null: `limit = modelgates.null` removes a limit, where an absent `limit` leaves it as it is.
---@field null ModelGatesNull
---@field errors ModelGatesErrors every error type
---The default client's operations: key and server from MODELGATES_API_KEY and MODELGATES_BASE_URL at each call.
---@field keys ModelGatesKeys
---Makes a client; a bad option raises a ModelGatesValidationError.
---@field new fun(options?: ModelGatesOptions): ModelGatesClient
---Runs each function of `tasks` as a coroutine; their module calls run at the same time. Never raises for a task's error.
---@field gather fun(tasks: function[], options?: ModelGatesGatherOptions): ModelGatesGatherResult[]
---Runs a script's main function: returns what it returns; if it raises, prints the error's one-line form and a traceback on stderr and exits with status 1 (Lua 5.1's interpreter would print "(error object is not a string)"). For scripts, not inside Neovim or nginx.
---@field main fun(fn: function, ...: any): ...

---@class ModelGatesGatherOptions
---@field concurrency? integer most tasks in flight at once (default 16)
---@field timeout? number seconds for the whole gather; tasks still running end with a TimeoutError
---@field max_host_connections? integer most connections to one host at once (default 0: no cap)

---What task i of modelgates.gather did: `ok` and its return values at 1..n, or `ok = false` and what it raised.
---@class ModelGatesGatherResult
---@field ok boolean
---@field n integer|nil how many values the task returned
---@field error any|nil what the task raised, untouched (a ModelGatesError for a module call's failure)

---What a transport reports for a failed exchange, whichever transport it is (modelgates.host).
---@class ModelGatesTransportError: ModelGatesError
---@field message string
---@field request_sent boolean whether any request left before the failure
---@field requests_sent integer how many requests left (a reused connection may make it 2)
---@field transient boolean whether another try may meet a different fate
---@field limit string|nil the time or size limit that was hit

---The transport's answer, before the engine judges it.
---@class ModelGatesRawResponse
---@field status integer
---@field reason string|nil
---@field headers table<string, string> lower-case names
---@field body string
---@field requests_sent integer
---@field body_truncated boolean|nil an error status's body was cut at max_response_bytes

---One request as the engine hands it to a host (see transport.c for each field's meaning).
---@class ModelGatesRequest
---@field method string
---@field url string
---@field headers string[] "Name: value" lines
---@field body string|nil
---@field timeout number seconds left for the whole call
---@field connect_timeout number|nil
---@field stall_timeout number|nil
---@field ca_file string|nil
---@field ca_path string|nil
---@field max_response_bytes integer|nil
---@field once boolean|nil must never be sent twice (create): a fresh connection, no silent re-send
---@field compressed boolean|nil ask for a compressed response, and decode it
---@field proxy string|nil "http://[user:password@]host:port"; nil: none (the environment is the engine's to read)

---Where a call runs (`require("modelgates.host")`): the engine asks the host to perform, wait and tell the time.
---@class ModelGatesHost
---Sends one request; on failure returns nil and a ModelGatesTransportError.
---@field perform fun(self: ModelGatesHost, client: ModelGatesClient, request: ModelGatesRequest): ModelGatesRawResponse|nil, ModelGatesTransportError|nil
---Waits between two tries.
---@field sleep fun(self: ModelGatesHost, seconds: number)
---A clock in seconds, for the call's deadline.
---@field now fun(self: ModelGatesHost): number

---`require("modelgates.safe")`: the same API returning `nil, err` instead of raising.
---@class ModelGatesSafe
---@field version string
---@field null ModelGatesNull
---@field errors ModelGatesErrors
---@field keys ModelGatesSafeKeys the default client's operations
---Like modelgates.new; a bad option is returned as `nil, err`.
---@field new fun(options?: ModelGatesOptions): ModelGatesSafeClient|nil, ModelGatesError|nil

---What a safe function returns second: the response, or the error when the first is nil.
---@alias ModelGatesResponseOrError ModelGatesResponse|ModelGatesError

---@class ModelGatesSafeKeys
---@field get_current_key_metadata fun(options?: ModelGatesOptions): ModelGatesCurrentKeyBody|nil, ModelGatesResponseOrError
---@field list fun(params?: ModelGatesListParams, options?: ModelGatesOptions): ModelGatesKeyListBody|nil, ModelGatesResponseOrError
---@field create fun(body: ModelGatesCreateBody, options?: ModelGatesOptions): ModelGatesCreatedKeyBody|nil, ModelGatesResponseOrError
---@field get fun(hash: string, options?: ModelGatesOptions): ModelGatesKeyBody|nil, ModelGatesResponseOrError
---@field update fun(hash: string, body: ModelGatesUpdateBody, options?: ModelGatesOptions): ModelGatesKeyBody|nil, ModelGatesResponseOrError
---@field delete fun(hash: string, options?: ModelGatesOptions): ModelGatesDeletedBody|nil, ModelGatesResponseOrError
---On a failure the iterator yields `false, err` once, then ends.
---@field each fun(params?: ModelGatesListParams, options?: ModelGatesOptions): fun(): ModelGatesKey|false|nil, ModelGatesError|nil

---@class ModelGatesSafeClient
---@field keys ModelGatesSafeKeys
---@field close fun()

---`require("modelgates.testing")`: the bundled local server, for tests.
---@class ModelGatesTesting
---Starts a server on a free loopback port and waits until it listens.
---@field start_server fun(options?: ModelGatesTestServerOptions): ModelGatesTestServer
---Starts a helper process: `command_line` execs the program, so that the shell's pid is its pid.
---@field spawn fun(command_line: string): ModelGatesTestProcess

---A process of modelgates.testing.spawn.
---@class ModelGatesTestProcess
---@field pid integer
---The next line the process printed, or nil once it is gone.
---@field read_line fun(self: ModelGatesTestProcess): string|nil
---Sends SIGTERM and waits for the process to exit; safe to call twice.
---@field stop fun(self: ModelGatesTestProcess)

---@class ModelGatesTestServerOptions
---@field tls? boolean serve https with a certificate of its own CA
---@field http2? boolean with tls: offer HTTP/2 (ALPN h2), so that requests can share a connection
---@field tls_name? string with tls: a certificate for this host name only (not the loopback address), for refusal tests
---@field page_size? integer keys per page of list (default 100)
---@field management_key? string (default: random)
---@field key? string a normal key (default: random)
---@field command? string the server executable (default: the bundled one, else MODELGATES_SERVER, else modelgates-server on PATH)

---@class ModelGatesSeedSpec
---@field count integer
---@field workspace_id? string
---@field disabled? boolean
---@field name_prefix? string

---@class ModelGatesTestServer
---@field url string the API's base URL, e.g. http://127.0.0.1:41234/api/v1
---@field ca_file string|nil with tls, the CA certificate that signs the server's
---@field management_key string
---@field key string a normal (non-management) key
---@field pid integer
---Stops the server and waits for it to exit. Safe to call twice.
---@field stop fun(self: ModelGatesTestServer)
---A client of this server, with the management key unless `options` say otherwise.
---@field client fun(self: ModelGatesTestServer, options?: ModelGatesOptions): ModelGatesClient
---Calls the control API: method, path under /__control/, and a Lua value sent as JSON.
---@field control fun(self: ModelGatesTestServer, method: string, path: string, body?: any): any
---Every API request received, oldest first: { method, path, query, headers, body } (raw).
---@field requests fun(self: ModelGatesTestServer): table[]
---@field clear_requests fun(self: ModelGatesTestServer)
---Makes the next matching requests misbehave (status, headers, body, delay, drop, ...).
---@field fault fun(self: ModelGatesTestServer, fault: table)
---@field clear_faults fun(self: ModelGatesTestServer)
---Every stored key record, all workspaces, disabled ones included.
---@field keys fun(self: ModelGatesTestServer): ModelGatesKey[]
---Creates `spec.count` keys directly, without an API request.
---@field seed fun(self: ModelGatesTestServer, spec: ModelGatesSeedSpec): ModelGatesKey[]
---Back to the start state: no keys, no log, no faults.
---@field reset fun(self: ModelGatesTestServer)
---@field stats fun(self: ModelGatesTestServer): { connections: integer, requests: integer, in_flight: integer, max_in_flight: integer }

---`require("modelgates.errors")`, also `modelgates.errors`: the error classes.
---Test an error with `err:is(modelgates.errors.NotFoundResponseError)`.
---@class ModelGatesErrors
---@field ModelGatesError ModelGatesError
---@field APIError ModelGatesAPIError
---@field BadRequestResponseError ModelGatesBadRequestResponseError
---@field UnauthorizedResponseError ModelGatesUnauthorizedResponseError
---@field ForbiddenResponseError ModelGatesForbiddenResponseError
---@field NotFoundResponseError ModelGatesNotFoundResponseError
---@field TooManyRequestsResponseError ModelGatesTooManyRequestsResponseError
---@field InternalServerResponseError ModelGatesInternalServerResponseError
---@field ConnectionError ModelGatesConnectionError
---@field TimeoutError ModelGatesTimeoutError
---@field CancelledError ModelGatesCancelledError
---@field ValidationError ModelGatesValidationError
---@field ResponseValidationError ModelGatesResponseValidationError
---@field by_status table<integer, ModelGatesAPIError> the status-specific APIError classes
---Makes `fields` an error of class `name`; an APIError takes its status's own class.
---@field new fun(name: string, fields: table): ModelGatesError
---Whether `value` is an error object of this module.
---@field is_error fun(value: any): boolean
---When set, called with every new error object (the secret guard of the test suite uses it).
---@field on_new fun(err: ModelGatesError)|nil
---Replaces each of `secrets` everywhere in the error's fields, in place (a server may echo them).
---@field redact fun(err: ModelGatesError, secrets: string[]): ModelGatesError

---Every error the module raises (never a string).
---@class ModelGatesError
---@field name string the class's name, e.g. "NotFoundResponseError"
---@field message string what went wrong, in one line
---Whether the error is of `class` or of a kind of it.
---@field is fun(self: ModelGatesError, class: ModelGatesError): boolean

---Any 3XX, 4XX or 5XX answer without a class of its own.
---@class ModelGatesAPIError: ModelGatesError
---@field status_code integer the HTTP status
---@field headers table<string, string> response headers, lower-case names
---@field body string the raw response body (HTML or empty included)
---@field code any the body's error.code
---@field metadata table|nil the body's error.metadata
---@field error table|nil the body's whole error object
---@field attempts integer how many tries were made
---@field elapsed number seconds from the first try to the failure, waits included
---@field retry_after number|nil seconds the server asked to wait
---@field location string|nil where a 3XX pointed (never followed)
---@field maybe_created boolean|nil create: the key may exist
---@field body_truncated boolean|nil the body was cut at max_response_bytes (the message says so too)

---HTTP 400
---@class ModelGatesBadRequestResponseError: ModelGatesAPIError

---HTTP 401
---@class ModelGatesUnauthorizedResponseError: ModelGatesAPIError

---HTTP 403
---@class ModelGatesForbiddenResponseError: ModelGatesAPIError

---HTTP 404
---@class ModelGatesNotFoundResponseError: ModelGatesAPIError

---HTTP 429
---@class ModelGatesTooManyRequestsResponseError: ModelGatesAPIError

---HTTP 500
---@class ModelGatesInternalServerResponseError: ModelGatesAPIError

---The transport could not complete the exchange.
---@class ModelGatesConnectionError: ModelGatesError
---@field curl_code integer|nil libcurl's CURLcode, from the libcurl transports
---@field proxy_status integer|nil the HTTP status with which the proxy refused the tunnel (407: its credentials)
---@field transient boolean whether another try may meet a different fate (the retry policy reads it)
---@field request_sent boolean|nil whether the request left before the failure
---@field attempts integer how many tries were made
---@field elapsed number seconds from the first try to the failure, waits included
---@field retry_after number|nil
---@field maybe_created boolean|nil create: the key may exist

---A time limit was hit ("gather_timeout": modelgates.gather's `timeout`).
---@class ModelGatesTimeoutError: ModelGatesConnectionError
---@field limit "timeout"|"connect_timeout"|"stall_timeout"|"gather_timeout"

---The call was cancelled (a run's handle, or a host shutting down) before it finished.
---@class ModelGatesCancelledError: ModelGatesError
---@field request_sent boolean whether the request in flight may have reached the server
---@field maybe_created boolean|nil create: the key may exist
---@field attempts integer|nil how many tries were made, when the call itself raised it

---A bad argument or option; nothing was sent.
---@class ModelGatesValidationError: ModelGatesError
---@field field string|nil the argument or field at fault, e.g. "body.limit"

---A success status whose body is not the JSON the operation promises, or is too large.
---@class ModelGatesResponseValidationError: ModelGatesError
---@field status_code integer
---@field headers table<string, string>
---@field body string
---@field attempts integer
---@field limit "max_response_bytes"|nil
---@field maybe_created boolean|nil create: the key may exist
