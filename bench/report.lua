--- Turns bench/run.sh's "key=value" results into the one table it prints,
--- and a Markdown copy with the machine and the command.
---
---   lua5.4 report.lua RESULTS_TXT OUT_MD

local results_path, markdown_path = arg[1], arg[2]
local r = {}
for line in io.lines(results_path) do
  local key, value = line:match("^([^=]+)=(.*)$")
  if key then
    r[key] = value
  end
end

--- The interpreters the module was measured on (bench/run.sh's
--- BENCH_LUA_VERSIONS): Makefile LUA_VERSIONs, "5.1", "5.4", "luajit".
local versions = {}
for version in (r["settings.lua_versions"] or "5.1 5.4"):gmatch("%S+") do
  versions[#versions + 1] = version
end
local function lua_name(version)
  return version == "luajit" and "LuaJIT" or "Lua " .. version
end

local function num(key)
  local value = r[key]
  return value and tonumber(value)
end

--- The best of the repetitions: the highest rate (the lowest time), as
--- interference from other processes only ever slows a run down.
local function best_rate(prefix)
  local best
  for key, value in pairs(r) do
    if key:sub(1, #prefix + 4) == prefix .. ".rep" then
      local v = tonumber(value)
      if v and (not best or v > best) then
        best = v
      end
    end
  end
  return best
end

local function list_field(prefix, name, pick)
  local best
  for key, value in pairs(r) do
    if key:sub(1, #prefix + 4) == prefix .. ".rep" then
      local v = tonumber(value:match(name .. "=([%d.]+)"))
      if v and (not best or pick(v, best)) then
        best = v
      end
    end
  end
  return best
end
local function lower(a, b)
  return a < b
end
local function higher(a, b)
  return a > b
end

local function commas(n)
  local text = ("%d"):format(math.floor(n + 0.5))
  repeat
    local changed
    text, changed = text:gsub("^(-?%d+)(%d%d%d)", "%1,%2")
  until changed == 0
  return text
end

local rows = {}
local misses = {}
local function row(section, what, value, ratio, target, ok)
  rows[#rows + 1] =
    { section, what, value or "n/a", ratio or "", target or "", ok == nil and "" or (ok and "met" or "MISSED") }
  if ok == false then
    misses[#misses + 1] = ("%s: %s: %s (target %s)"):format(section, what, ratio ~= "" and ratio or value, target)
  end
end

-- 0. servers
for _, proto in ipairs({ "http", "https" }) do
  local ceiling, cpu, seq_cpu =
    num("nginx." .. proto .. ".parallel_rate"),
    num("nginx." .. proto .. ".cpu_us"),
    num("nginx." .. proto .. ".seq_cpu_us")
  row(
    "0 server",
    ("nginx %s, 8 connections at once"):format(proto),
    ceiling and commas(ceiling) .. "/s" or nil,
    cpu and ("%.1f us CPU/req"):format(cpu) or "",
    "well above the clients"
  )
  if seq_cpu then
    row(
      "0 server",
      ("nginx %s CPU per sequential request"):format(proto),
      ("%.1f us"):format(seq_cpu),
      ("= %s/s on one core"):format(commas(1e6 / seq_cpu)),
      ""
    )
  end
end
local function per_second(key)
  return num(key) and commas(num(key)) .. "/s"
end
row(
  "0 server",
  "ModelGates server (lua-http), C loop sequential",
  per_second("mg.http.seq_rate"),
  "",
  "(too slow for rates: counts connections only)"
)
row("0 server", "ModelGates server (lua-http), 8 connections", per_second("mg.http.parallel_rate"), "", "")

-- 1. calls per second
local names = {
  c = "libcurl C loop (the limit)",
  cdecode = "libcurl C loop + cjson.decode (any Lua client's floor)",
  ["luacurl5.1"] = "lua-curl + lua-cjson by hand, Lua 5.1",
  ["curlcli5.1"] = "`curl` command per call, Lua 5.1",
}
local clients = { "c", "cdecode" }
for _, version in ipairs(versions) do
  clients[#clients + 1] = "module" .. version
  names["module" .. version] = "this module, " .. lua_name(version)
end
clients[#clients + 1] = "luacurl5.1"
clients[#clients + 1] = "curlcli5.1"
for _, proto in ipairs({ "http", "https" }) do
  local limit = best_rate("calls." .. proto .. ".c")
  local limit_ir = num("ir." .. proto .. ".c")
  -- The C loop that also decodes each body with cjson.decode: what any Lua
  -- client returning the JSON must pay at least.
  local floor = best_rate("calls." .. proto .. ".cdecode")
  local floor_ir = num("ir." .. proto .. ".cdecode")
  local cli = best_rate("calls." .. proto .. ".curlcli5.1")
  for _, client in ipairs(clients) do
    local rate = best_rate("calls." .. proto .. "." .. client)
    local ir = num("ir." .. proto .. "." .. client)
    local value = rate and (commas(rate) .. "/s" .. (ir and ("; " .. commas(ir) .. " instr/call") or ""))
    local ratio = rate
      and limit
      and ("%.2f x limit"):format(rate / limit)
        .. (ir and limit_ir and ("; instr %.2f x"):format(ir / limit_ir) or "")
    if client:match("^module") and rate and limit then
      row("1 keys.get " .. proto, names[client], value, ratio, ">= 0.90 x limit", rate / limit >= 0.9)
      if floor then
        row(
          "1 keys.get " .. proto,
          names[client] .. " vs C loop + cjson.decode",
          ("%.2f x"):format(rate / floor) .. (ir and floor_ir and ("; instr %.2f x"):format(ir / floor_ir) or "")
        )
      end
      if cli then
        row(
          "1 keys.get " .. proto,
          names[client] .. " vs `curl` per call",
          ("%.0f x"):format(rate / cli),
          "",
          ">= 20 x",
          rate / cli >= 20
        )
      end
    else
      row("1 keys.get " .. proto, names[client], value, ratio)
    end
  end
end

-- 2. the 10,000-key page
local transfer_rate = best_rate("list.transfer")
local transfer_ms = transfer_rate and 1000 / transfer_rate
row(
  "2 10,000 keys",
  "the page's transfer alone: libcurl C loop, 512 KiB buffer",
  transfer_ms and ("%.1f ms"):format(transfer_ms)
)
for _, version in ipairs(versions) do
  local limit_warm = list_field("list.cjson" .. version, "warm_ms", lower)
  local limit_cold = list_field("list.cjson" .. version, "cold_ms", lower)
  local limit_peak = list_field("list.cjson" .. version, "peak_kib", higher)
  local warm = list_field("list.module" .. version, "warm_ms", lower)
  local cold = list_field("list.module" .. version, "cold_ms", lower)
  local peak = list_field("list.module" .. version, "peak_kib", higher)
  local section = "2 10,000 keys, " .. lua_name(version)
  row(
    section,
    "bare cjson.decode (the limit): time warm / cold",
    limit_warm and ("%.1f / %.1f ms"):format(limit_warm, limit_cold)
  )
  row(section, "bare cjson.decode (the limit): peak memory", limit_peak and ("%.1f MiB"):format(limit_peak / 1024))
  if warm and limit_warm then
    row(
      section,
      "keys.list: time (warm)",
      ("%.1f ms"):format(warm),
      ("%.2f x limit"):format(warm / limit_warm),
      "<= 1.3 x",
      warm / limit_warm <= 1.3
    )
    if transfer_ms then
      local floor = transfer_ms + limit_warm
      row(
        section,
        "keys.list vs its floor, transfer + bare cjson.decode (warm)",
        ("%.1f / %.1f ms"):format(warm, floor),
        ("%.2f x floor"):format(warm / floor)
      )
    end
    row(
      section,
      "keys.list: time (cold: a fresh process)",
      ("%.1f ms"):format(cold),
      ("%.2f x limit"):format(cold / limit_cold)
    )
    local ir, limit_ir = num("ir.list.module" .. version), num("ir.list.cjson" .. version)
    if ir and limit_ir then
      row(
        section,
        "keys.list vs cjson.decode: instructions (warm)",
        ("%s / %s"):format(commas(ir), commas(limit_ir)),
        ("%.2f x limit"):format(ir / limit_ir)
      )
    end
    row(
      section,
      "keys.list: peak memory",
      ("%.1f MiB"):format(peak / 1024),
      ("%.2f x limit"):format(peak / limit_peak),
      "<= 1.5 x",
      peak / limit_peak <= 1.5
    )
  end
end

-- 3. memory across 100,000 calls
for _, version in ipairs(versions) do
  local line = r["mem.module" .. version]
  if line then
    local rss1, rss2 = tonumber(line:match("rss_first_kib=(%d+)")), tonumber(line:match("rss_second_kib=(%d+)"))
    local heap1, heap2 =
      tonumber(line:match("heap_first_kib=([%d.]+)")), tonumber(line:match("heap_second_kib=([%d.]+)"))
    local calls = tonumber(line:match("calls=(%d+)"))
    row(
      "3 memory, " .. lua_name(version),
      ("RSS after 10,000 / after %s calls"):format(commas(calls)),
      ("%s / %s KiB"):format(commas(rss1), commas(rss2)),
      ("+%s KiB"):format(commas(rss2 - rss1)),
      "< 1 MiB growth",
      calls >= 100000 and rss2 - rss1 < 1024
    )
    row(
      "3 memory, " .. lua_name(version),
      "Lua heap after 10,000 / after 100,000 calls",
      ("%.1f / %.1f KiB"):format(heap1, heap2),
      ("%+.1f KiB"):format(heap2 - heap1)
    )
  end
end

-- 4. connections
local conn_rows = {
  { "conn.nginx.http.c", "C loop, http (counted by nginx)" },
  { "conn.nginx.http.module5.1", "this module, http (counted by nginx)", true },
  { "conn.nginx.https.c", "C loop, https (counted by nginx)" },
  { "conn.nginx.https.module5.1", "this module, https (counted by nginx)", true },
  { "conn.mg.http.module5.1", "this module, http (ModelGates server's stats)", true },
  { "conn.mg.https.module5.1", "this module, https (ModelGates server's stats)", true },
}
for _, spec in ipairs(conn_rows) do
  local n = num(spec[1])
  if n then
    row(
      "4 connections / 1,000 calls",
      spec[2],
      tostring(n),
      "",
      spec[3] and "exactly 1" or "",
      spec[3] and n == 1 or nil
    )
  end
end

-- 5. many calls at once: 1,000 keys.get, 50 in flight, against a server that
-- answers each after 50 ms
--- The best of the repetitions of a time: the lowest.
local function best_time(prefix)
  local best
  for key, value in pairs(r) do
    if key:sub(1, #prefix + 4) == prefix .. ".rep" then
      local v = tonumber(value)
      if v and (not best or v < best) then
        best = v
      end
    end
  end
  return best
end
local function secs(t)
  return t and ("%.3f s"):format(t)
end
local one_request = num("many.server.one_request_s")
if one_request then
  row(
    "5 1,000 at once",
    "server: nginx + Lua, ngx.sleep(0.05) per request; one request (curl)",
    secs(one_request),
    "",
    "ideal for 1,000, 50 at once: 1.000 s"
  )
end
for _, proto in ipairs({ "http", "https" }) do
  local section = "5 1,000 at once, " .. proto
  local limit = best_time("many." .. proto .. ".curl")
  if limit then
    row(section, "`curl --parallel --parallel-max 50` (the limit): process wall time", secs(limit))
  end
  for _, version in ipairs(versions) do
    local wall = best_time("many." .. proto .. ".gather" .. version)
    local alone = best_time("many." .. proto .. ".gather" .. version .. ".gather_s")
    if wall then
      local ratio = limit and wall / limit
      row(
        section,
        ("modelgates.gather, concurrency = 50, %s: process wall time"):format(lua_name(version)),
        secs(wall) .. (alone and (" (the gather alone %.3f s)"):format(alone) or ""),
        ratio and ("%.2f x curl"):format(ratio),
        "<= 1.10 x curl",
        ratio and ratio <= 1.10
      )
    end
  end
  local line = r["many." .. proto .. ".sequential5.1"]
  local gather = best_time("many." .. proto .. ".gather5.1")
  if line then
    local calls, seconds = tonumber(line:match("calls=(%d+)")), tonumber(line:match("seconds=([%d.]+)"))
    local scaled = seconds * 1000 / calls
    local ratio = gather and scaled / gather
    row(
      section,
      ("client.keys.get one after the other, Lua 5.1 (%d calls, scaled to 1,000)"):format(calls),
      ("%.1f s"):format(scaled),
      ratio and ("%.1f x gather (Lua 5.1)"):format(ratio),
      ">= 25 x",
      ratio and ratio >= 25
    )
  end
end
local conn_specs = {
  { "curl", "`curl --parallel --parallel-max 50`, 1,000 calls (nginx's count)" },
  { "gather5.1", "gather of 1,000, concurrency = 50, no per-host cap, Lua 5.1", 50 },
}
for key in pairs(r) do
  local cap = key:match("^many%.conn%.https%.gather5%.1%.cap(%d+)$")
  if cap then
    conn_specs[#conn_specs + 1] = {
      "gather5.1.cap" .. cap,
      ("gather of 1,000, concurrency = 50, max_host_connections = %s, Lua 5.1"):format(cap),
      tonumber(cap),
    }
  end
end
for _, spec in ipairs(conn_specs) do
  local n = num("many.conn.https." .. spec[1])
  if n then
    local requests, seconds =
      num("many.conn.https." .. spec[1] .. ".requests"), num("many.conn.https." .. spec[1] .. ".seconds")
    row(
      "5 connections, https",
      spec[2],
      commas(n),
      ("%s requests in %.2f s"):format(requests and commas(requests) or "?", seconds or 0),
      spec[3] and ("<= %d"):format(spec[3]) or "",
      spec[3] and (n <= spec[3] and requests == 1000) or nil
    )
  end
end
--- Instructions per sequential keys.get on Lua 5.1 over http before the
--- transport seam (bench/RESULTS.md's recorded run).
local IR_BEFORE_SEAM = 186601
local ir_now = num("ir.http.module5.1")
if ir_now then
  row(
    "5 blocking path",
    "keys.get instructions per call, Lua 5.1, http (callgrind) / before the transport seam",
    ("%s / %s"):format(commas(ir_now), commas(IR_BEFORE_SEAM)),
    ("%.3f x"):format(ir_now / IR_BEFORE_SEAM),
    "<= 1.03 x",
    ir_now / IR_BEFORE_SEAM <= 1.03
  )
end

-- 6. compression: the 10,000-key page with gzip and without
for _, version in ipairs(versions) do
  local key = version
  local gzip_bytes, plain_bytes = num("gzip.gzip" .. key .. ".wire_bytes"), num("gzip.identity" .. key .. ".wire_bytes")
  local gzip_ms, plain_ms = num("gzip.gzip" .. key .. ".ms"), num("gzip.identity" .. key .. ".ms")
  if gzip_bytes and plain_bytes then
    row(
      "6 compression",
      ("10,000-key page body on the wire, gzip / identity, %s"):format(lua_name(version)),
      ("%s / %s bytes"):format(commas(gzip_bytes), commas(plain_bytes)),
      ("%.1f x fewer"):format(plain_bytes / gzip_bytes),
      ">= 5 x fewer",
      plain_bytes / gzip_bytes >= 5
    )
    row(
      "6 compression",
      ("keys.list of that page on loopback, gzip / identity, %s"):format(lua_name(version)),
      ("%.1f / %.1f ms"):format(gzip_ms, plain_ms),
      ("%.2f x"):format(gzip_ms / plain_ms),
      "(loopback: inflating costs, the wire is free)"
    )
    -- What the bytes alone cost on a slower link, computed, not measured.
    row(
      "6 compression",
      ("the body's bytes at 100 Mbit/s, gzip / identity (computed), %s"):format(lua_name(version)),
      ("%.1f / %.1f ms"):format(gzip_bytes * 8 / 1e5, plain_bytes * 8 / 1e5),
      "",
      ""
    )
  end
end

-- the table
local headers = { "section", "measurement", "value", "ratio", "target", "result" }
local widths = {}
for i, h in ipairs(headers) do
  widths[i] = #h
end
for _, cells in ipairs(rows) do
  for i, cell in ipairs(cells) do
    widths[i] = math.max(widths[i], #cell)
  end
end
local function line_of(cells, sep)
  local out = {}
  for i, cell in ipairs(cells) do
    out[i] = cell .. (" "):rep(widths[i] - #cell)
  end
  return sep .. table.concat(out, " " .. sep .. " ") .. " " .. sep
end
local text = {}
local rule = {}
for i = 1, #headers do
  rule[i] = ("-"):rep(widths[i])
end
text[#text + 1] = line_of(headers, "|")
text[#text + 1] = line_of(rule, "|")
for _, cells in ipairs(rows) do
  text[#text + 1] = line_of(cells, "|")
end
local table_text = table.concat(text, "\n")
print(table_text)
print()
if #misses == 0 then
  print("All targets met.")
else
  print(("%d target(s) missed:"):format(#misses))
  for _, miss in ipairs(misses) do
    print("  - " .. miss)
  end
end

local md = assert(io.open(markdown_path, "w"))
md:write("## Run of ", r["machine.date"] or "?", "\n\n")
md:write(
  "Command: `make bench` (",
  ("BENCH_SECONDS=%s BENCH_REPS=%s"):format(r["settings.seconds"] or "?", r["settings.reps"] or "?"),
  (r["settings.only"] or "") ~= "" and (' BENCH_ONLY="%s"'):format(r["settings.only"]) or "",
  "), commit ",
  r["machine.commit"] or "?",
  ".\n\n"
)
local interpreters = {}
for i, version in ipairs(versions) do
  interpreters[i] = r["machine.lua." .. version] or lua_name(version) .. " ?"
  if version == "luajit" and (r["machine.luajit2"] or "") ~= "" then
    interpreters[i] = interpreters[i] .. " (luajit2 " .. r["machine.luajit2"] .. ")"
  end
end
md:write(
  "Machine: ",
  r["machine.nproc"] or "?",
  " cores, ",
  r["machine.cpu"] or "?",
  ", Linux ",
  r["machine.kernel"] or "?",
  "; ",
  r["machine.libcurl"] or "?",
  " (",
  r["machine.curl_ssl"] or "?",
  "); nginx ",
  r["machine.nginx"] or "?",
  (r["machine.nginx_lua"] or "") ~= "" and (" (Lua module " .. r["machine.nginx_lua"] .. ")") or "",
  "; ",
  table.concat(interpreters, "; "),
  "; lua-curl ",
  r["machine.luacurl"] or "?",
  "; lua-cjson ",
  r["machine.cjson"] or "?",
  ".\n\n"
)
md:write(table_text, "\n\n")
if #misses == 0 then
  md:write("All targets met.\n")
else
  md:write(("%d target(s) missed:\n\n"):format(#misses))
  for _, miss in ipairs(misses) do
    md:write("- ", miss, "\n")
  end
end
md:close()
