-- The same calls over https, with the local server's own CA.
local modelgates = require("modelgates")
local support = require("spec.support")
local testing = require("modelgates.testing")

describe("over https", function()
  local handle = support.server({ tls = true })

  it("creates, gets and deletes a key when the CA is trusted", function()
    local server = handle.server
    assert.matches("^https://", server.url)
    assert.is_string(server.ca_file)
    local keys = server:client().keys
    local created = keys.create({ name = "over tls" }).data
    assert.are.equal("over tls", keys.get(created.hash).data.name)
    assert.are.same({ deleted = true }, (keys.delete(created.hash)))
  end)

  it("refuses a server whose certificate it cannot verify, before any request", function()
    local server = handle.server
    local untrusting =
      modelgates.new({ api_key = server.management_key, server_url = server.url, ca_file = "/nonexistent/ca.pem" })
    support.raises(modelgates.errors.ConnectionError, untrusting.keys.list)
    local system_roots = modelgates.new({ api_key = server.management_key, server_url = server.url })
    support.raises(modelgates.errors.ConnectionError, system_roots.keys.list)
    assert.are.same({}, server:requests())
  end)
end)

describe("the local server's report of refused handshakes", function()
  local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/tls_spec%.lua$") or ""

  --- Starts the server with `flags`, has a client refuse its certificate, stops it; returns what
  --- it wrote on stderr.
  local function stderr_after_refusal(flags)
    local stderr_path = os.tmpname()
    local server = testing.spawn(
      ("exec %sbin/modelgates-server --tls --port 0 --watch-pid $PPID %s 2>%s"):format(ROOT, flags, stderr_path)
    )
    local url = server:read_line()
    local ok = pcall(function()
      modelgates.new({ api_key = "mg-dev-management-key", server_url = url, retries = false }).keys.list()
    end)
    -- The server notices the refusal a moment after the client: up to a second to write of it.
    local text = ""
    for _ = 1, 10 do
      text = support.read_file(stderr_path)
      if text ~= "" then
        break
      end
      os.execute("sleep 0.1")
    end
    server:stop()
    os.remove(stderr_path)
    assert.is_false(ok, "the client trusted an unknown CA")
    return text
  end

  it("is left to the client by default, keeping the suite's output clean", function()
    assert.are.equal("", stderr_after_refusal(""))
  end)

  it("is on stderr with --verbose", function()
    assert.matches("modelgates%-server: wrap failed: ", stderr_after_refusal("--verbose"))
  end)
end)
