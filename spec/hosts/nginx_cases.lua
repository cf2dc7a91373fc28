-- Run inside nginx (spec/hosts/nginx_cosocket.conf's /cases): busted runs
-- the suite's shared table of cases in a content handler, where every call
-- goes over cosockets (spec/support.lua's transports there). The TAP report
-- goes to the file `out`, since a worker has no terminal.
local cases = {}

local root = debug.getinfo(1, "S").source:match("^@(.*)/spec/hosts/nginx_cases%.lua$")

function cases.run(out)
  local report = assert(io.open(out, "w"))
  io.write = function(...)
    report:write(...)
    report:flush()
    return io.stdout
  end
  -- busted ends with os.exit(failures ~= 0 and 1 or 0) when anything failed.
  os.exit = function(code)
    report:write("# exit ", tostring(code), "\n")
    report:close()
    error("busted: the cases failed", 0)
  end
  arg = { "--directory=" .. root, "--output=TAP" }
  for _, file in ipairs(require("spec.support").shared_spec_files) do
    arg[#arg + 1] = file
  end
  require("busted.runner")({ standalone = false })
  report:write("# exit 0\n")
  report:close()
  ngx.say("done")
end

return cases
