--- When a failed try is tried again, and after how long. Which statuses are
--- worth another try is data in modelgates.api; which transport failures,
--- the transport says (err.transient).

local api = require("modelgates.api")

local retry = {}

local MONTHS = {
  Jan = 1,
  Feb = 2,
  Mar = 3,
  Apr = 4,
  May = 5,
  Jun = 6,
  Jul = 7,
  Aug = 8,
  Sep = 9,
  Oct = 10,
  Nov = 11,
  Dec = 12,
}

--- Days since 1970-01-01 of a civil date (proleptic Gregorian), so that an
--- HTTP date converts without os.time, which reads local time.
local function days_from_civil(year, month, day)
  if month <= 2 then
    year = year - 1
  end
  local era = math.floor(year / 400)
  local year_of_era = year - era * 400
  local day_of_year = math.floor((153 * (month + (month > 2 and -3 or 9)) + 2) / 5) + day - 1
  local day_of_era = year_of_era * 365 + math.floor(year_of_era / 4) - math.floor(year_of_era / 100) + day_of_year
  return era * 146097 + day_of_era - 719468
end

--- Unix seconds of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
local function http_date_to_unix(text)
  local day, month, year, hour, minute, second =
    text:match("^%a+, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not day or not MONTHS[month] then
    return nil
  end
  return days_from_civil(tonumber(year), MONTHS[month], tonumber(day)) * 86400
    + tonumber(hour) * 3600
    + tonumber(minute) * 60
    + tonumber(second)
end

--- A header's decimal number (digits, an optional fraction), or nil:
--- tonumber alone would take hex ("0x3"), exponents and spaces.
local function decimal(text)
  return text and text:find("^%d+%.?%d*$") and tonumber(text) or nil
end

--- The wait in seconds that the response asks for, or nil: retry-after-ms,
--- Retry-After (seconds or an HTTP date), or X-RateLimit-Reset (Unix time
--- in milliseconds, as the API sends it, or in seconds).
---@param headers table<string, string>
---@param wall_now number Unix seconds
---@return number|nil
function retry.server_hint(headers, wall_now)
  local milliseconds = decimal(headers["retry-after-ms"])
  if milliseconds then
    return milliseconds / 1000
  end
  local after = headers["retry-after"]
  if after then
    local at = http_date_to_unix(after)
    return decimal(after) or (at and math.max(at - wall_now, 0))
  end
  local reset = decimal(headers["x-ratelimit-reset"])
  if reset then
    local reset_seconds = reset > 1e11 and reset / 1000 or reset
    return math.max(reset_seconds - wall_now, 0)
  end
  return nil
end

--- Whether a failed try may be tried again, and whether the server may have
--- processed it. `res` is the HTTP answer, if there was one; `err` the
--- error, in the transport-neutral terms of modelgates.host.
---@return boolean retryable
---@return boolean maybe_processed
function retry.assess(op, res, err)
  local policy = api.retry
  if res then
    if policy.refused_statuses[res.status] then
      return true, false
    end
    local maybe_processed = res.status < 300 or res.status >= 500 or res.status == 408
    return policy.statuses[res.status] and not op.once or false, maybe_processed
  end
  local transient = err.transient or false
  if not err.request_sent then
    return transient, false
  end
  -- The call's whole time is spent: no try could finish.
  if err.limit == "timeout" then
    return false, true
  end
  return transient and not op.once, true
end

--- The retry settings of these options: nil when retries are off.
function retry.settings(options)
  if options.retries == false then
    return nil
  end
  local settings = {}
  for name, value in pairs(api.defaults.retries) do
    settings[name] = value
  end
  for name, value in pairs(options.retries or {}) do
    settings[name] = value
  end
  return settings
end

--- Seconds to wait before try `attempt + 1`, or nil when there is to be no
--- such try: no attempts left, or no time left before the deadlines.
--- `now`, `started` and `deadline` are on the host's clock.
function retry.next_wait(settings, attempt, started, deadline, hint, now)
  if attempt >= settings.max_attempts then
    return nil
  end
  local wait
  if hint then
    wait = math.min(hint, settings.max_interval)
  else
    wait = math.min(settings.initial_interval * settings.exponent ^ (attempt - 1), settings.max_interval)
    if settings.jitter then
      wait = wait * (0.5 + 0.5 * math.random())
    end
  end
  if settings.max_elapsed and now + wait - started > settings.max_elapsed then
    return nil
  end
  if deadline and now + wait >= deadline then
    return nil
  end
  return wait
end

return retry
