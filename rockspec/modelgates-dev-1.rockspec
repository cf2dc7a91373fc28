rockspec_format = "3.0"
package = "modelgates"
version = "dev-1"

source = {
  url = "git+https://github.com/lua-modelgates/lua-modelgates.git",
  branch = "main",
}

description = {
  summary = "Client for the ModelGates API-key management API, with a libcurl C core",
  detailed = [[
    All six operations of the ModelGates API-key management API (current key,
    list, create, get, update, delete) as plain Lua tables, with typed errors,
    argument checking before anything is sent, keep-alive over one libcurl
    handle, many calls at once, Neovim and OpenResty without blocking. The
    local ModelGates server for tests is the modelgates-testing rock.
  ]],
  license = "MIT",
  labels = { "http", "api", "curl", "modelgates" },
}

dependencies = {
  "lua >= 5.1",
  "lua-cjson >= 2.1.0",
  "argparse >= 0.7",
}

-- What the suite (spec/, run by `luarocks test` after `luarocks make`)
-- needs beyond the rock: the local server's dependencies, as the
-- modelgates-testing rock declares them.
test_dependencies = {
  "busted",
  "http >= 0.4",
  "lua-zlib",
}

external_dependencies = {
  -- Only the library: Debian and Ubuntu keep curl/curl.h in a multiarch
  -- directory that LuaRocks does not search, and the compiler finds it anyway.
  CURL = { library = "curl" },
}

build = {
  type = "builtin",
  modules = {
    ["modelgates"] = "lua/modelgates/init.lua",
    ["modelgates.api"] = "lua/modelgates/api.lua",
    ["modelgates.cli"] = "lua/modelgates/cli.lua",
    ["modelgates.client"] = "lua/modelgates/client.lua",
    ["modelgates.cosocket"] = "lua/modelgates/cosocket.lua",
    ["modelgates.errors"] = "lua/modelgates/errors.lua",
    ["modelgates.nvim"] = "lua/modelgates/nvim.lua",
    ["modelgates.gather"] = "lua/modelgates/gather.lua",
    ["modelgates.health"] = "lua/modelgates/health.lua",
    ["modelgates.host"] = "lua/modelgates/host.lua",
    ["modelgates.judge"] = "lua/modelgates/judge.lua",
    ["modelgates.plan"] = "lua/modelgates/plan.lua",
    ["modelgates.proxy"] = "lua/modelgates/proxy.lua",
    ["modelgates.retry"] = "lua/modelgates/retry.lua",
    ["modelgates.safe"] = "lua/modelgates/safe.lua",
    ["modelgates.scheduler"] = "lua/modelgates/scheduler.lua",
    -- LuaCATS annotations, for lua-language-server; never loaded.
    ["modelgates.types"] = "lua/modelgates/types.lua",
    ["modelgates.validate"] = "lua/modelgates/validate.lua",
    ["modelgates.core"] = {
      sources = {
        "src/core.c",
        "src/errors.c",
        "src/json.c",
        "src/json_encode.c",
        "src/response.c",
        "src/transfer.c",
        "src/transport.c",
        "src/multi.c",
        "src/url.c",
        "src/http1.c",
      },
      libraries = { "curl" },
      incdirs = { "src", "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
  },
  install = {
    bin = {
      ["modelgates-keys"] = "bin/modelgates-keys",
    },
  },
}

test = {
  type = "busted",
}
