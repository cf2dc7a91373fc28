rockspec_format = "3.0"
package = "modelgates-testing"
version = "dev-1"

source = {
  url = "git+https://github.com/lua-modelgates/lua-modelgates.git",
  branch = "main",
}

description = {
  summary = "A local ModelGates API server, and helpers to start it, for testing code that uses modelgates",
  detailed = [[
    modelgates-server: a stateful stand-in for the ModelGates API-key
    management API on loopback (http or https with its own CA, HTTP/2,
    gzip, injectable faults, a control API), and modelgates.testing, which
    starts it on a free port and drives it from tests. Test-only: the
    modelgates rock itself ships none of it.
  ]],
  license = "MIT",
  labels = { "testing", "http", "modelgates" },
}

dependencies = {
  "lua >= 5.1",
  "modelgates",
  "http >= 0.4",
  "cqueues",
  "luaossl",
  "lua-cjson >= 2.1.0",
  "lua-zlib",
}

build = {
  type = "builtin",
  modules = {
    ["modelgates.server"] = "lua/modelgates/server/init.lua",
    ["modelgates.server.api"] = "lua/modelgates/server/api.lua",
    ["modelgates.server.args"] = "lua/modelgates/server/args.lua",
    ["modelgates.server.compression"] = "lua/modelgates/server/compression.lua",
    ["modelgates.server.control"] = "lua/modelgates/server/control.lua",
    ["modelgates.server.exchange"] = "lua/modelgates/server/exchange.lua",
    ["modelgates.server.faults"] = "lua/modelgates/server/faults.lua",
    ["modelgates.server.json"] = "lua/modelgates/server/json.lua",
    ["modelgates.server.rules"] = "lua/modelgates/server/rules.lua",
    ["modelgates.server.store"] = "lua/modelgates/server/store.lua",
    ["modelgates.server.tls"] = "lua/modelgates/server/tls.lua",
    ["modelgates.testing"] = "lua/modelgates/testing.lua",
  },
  install = {
    bin = {
      ["modelgates-server"] = "bin/modelgates-server",
    },
  },
}
