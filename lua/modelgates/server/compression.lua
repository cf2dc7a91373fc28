-- Compression: gzip when the request accepts it, as the real API's front end does, and the
-- compression bomb of the inflate_to fault.

local zlib = require("zlib")

local GZIP_WINDOW_BITS = 31

local function accepts_gzip(headers)
  for item in (headers:get_comma_separated("accept-encoding") or ""):gmatch("[^,]+") do
    local coding = item:match("^%s*([^;%s]+)")
    local quality = tonumber(item:match(";%s*[qQ]%s*=%s*([%d.]+)") or "1")
    if coding and (coding:lower() == "gzip" or coding == "*") and quality and quality > 0 then
      return true
    end
  end
  return false
end

-- The last body compressed, and its gzip: a benchmark asking for the same page again measures
-- the client, not this server's deflate.
local last_plain, last_gzip

local function gzip(text)
  if text ~= last_plain then
    last_plain, last_gzip = text, (zlib.deflate(zlib.BEST_COMPRESSION, GZIP_WINDOW_BITS)(text, "finish"))
  end
  return last_gzip
end

-- A valid JSON document of `size` bytes, mostly spaces, gzipped a mebibyte at a time: 64 MiB
-- of it is about 64 KiB on the wire, the ratio of a compression bomb. Kept per size, as a test
-- may send the same one more than once.
local bombs = {}

local function compression_bomb(size)
  if not bombs[size] then
    local deflate = zlib.deflate(zlib.BEST_COMPRESSION, GZIP_WINDOW_BITS)
    local parts, step = { (deflate('{"data":[')) }, 1024 * 1024
    local spaces, left = string.rep(" ", step), size - 11
    while left > 0 do
      parts[#parts + 1] = (deflate(left >= step and spaces or spaces:sub(1, left)))
      left = left - step
    end
    parts[#parts + 1] = (deflate("]}", "finish"))
    bombs[size] = table.concat(parts)
  end
  return bombs[size]
end

-- The body as sent, and its Content-Encoding if any.
local function encoded_body(request, body, fault)
  if request.method == "HEAD" then
    return ""
  end
  if fault.inflate_to then
    return compression_bomb(fault.inflate_to), "gzip"
  end
  if body ~= "" and accepts_gzip(request.headers) then
    return gzip(body), "gzip"
  end
  return body
end

return { encoded_body = encoded_body }
